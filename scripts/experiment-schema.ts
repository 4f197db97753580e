/** Writes docs/experiment.schema.json from the experiment document's zod schema (`npm run schema`). */
import { writeFile } from "node:fs/promises";
import { experimentJsonSchema } from "../src/experiments/document.js";

await writeFile(
  new URL("../docs/experiment.schema.json", import.meta.url),
  `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`,
);
