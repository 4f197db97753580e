import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

/** Byproducts of running or testing a context's scripts; they must change neither the image nor its tag. */
const IGNORED = new Set(["__pycache__", "node_modules", ".git"]);

/** Paths of every file below `dir`, relative to it: the build context docker receives. */
export function listFilesRecursively(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (IGNORED.has(entry.name)) continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}
