/** `faultline images build|list`: the images faultline builds itself (fault agent, demo shop). */
import { Command } from "commander";
import { relative, isAbsolute } from "node:path";
import { connectDocker } from "../../docker/engine.js";
import { buildImages, planImageBuilds } from "../../images/build.js";
import { IMAGE_CATALOG, type ImageSpec, selectImages } from "../../images/catalog.js";
import { findPackageRoot } from "../../images/root.js";
import { formatColumns } from "../../util/table.js";

interface BuildOptions {
  force?: boolean;
  only: string[];
  verbose?: boolean;
}

function collectNames(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

const stderr = (line: string) => process.stderr.write(`${line}\n`);

export function imagesCommand(): Command {
  const images = new Command("images").description("build or list the images faultline builds itself");

  images
    .command("build")
    .description("build the missing images (the fault agent and the demo shop); --force rebuilds them")
    .option("-f, --force", "rebuild even when the image exists")
    .option(
      "--only <name>",
      "only this image or group (agent, demo); repeatable or comma-separated; see `images list`",
      collectNames,
      [],
    )
    .option("-v, --verbose", "show the full build output")
    .action(async (options: BuildOptions) => {
      const specs = selectImages(IMAGE_CATALOG, options.only);
      const runtime = connectDocker();
      await runtime.ping();
      const result = await buildImages(runtime.images, specs, {
        root: findPackageRoot(),
        force: options.force ?? false,
        verbose: options.verbose ?? false,
        progress: stderr,
      });
      stderr(`[images] ${result.build.length} built, ${result.present.length} already present`);
    });

  images
    .command("list")
    .description("list the images with their tag and whether they are present")
    .option("--json", "print JSON instead of a table")
    .action(async (options: { json?: boolean }) => {
      const runtime = connectDocker();
      await runtime.ping();
      const root = findPackageRoot();
      const plan = await planImageBuilds(runtime.images, IMAGE_CATALOG, false);
      const present = new Set(plan.present.map((s) => s.name));
      const rows = IMAGE_CATALOG.map((spec: ImageSpec) => ({
        name: spec.name,
        tag: spec.tag,
        group: spec.group,
        present: present.has(spec.name),
        context: isAbsolute(spec.contextDir) ? relative(root, spec.contextDir) : spec.contextDir,
        description: spec.description,
      }));
      if (options.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const cells = rows.map((r) => [r.name, r.tag, r.present ? "present" : "missing", r.context]);
      process.stdout.write(`${formatColumns(["NAME", "TAG", "STATUS", "CONTEXT"], cells)}\n`);
    });

  return images;
}
