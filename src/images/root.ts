import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository (or installed package) root: the nearest ancestor whose package.json names faultline.
 * Works both from the sources (src/...) and from the compiled output (dist/src/...).
 */
export function findPackageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "faultline")
          return dir;
      } catch {
        // Not a readable manifest: keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no faultline package.json above ${from}`);
    dir = parent;
  }
}
