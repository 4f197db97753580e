/**
 * Runs every bench module (bench/*.bench.ts, or the names given as arguments) one after another and
 * prints ONE JSON document on stdout: { machine, benches: [...] }. Progress goes to stderr.
 * Exit code: 0 when every bench met its target, 1 otherwise.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchModule, BenchResult } from "./types.js";

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

interface Loaded {
  modules: BenchModule[];
  /** Modules that could not even be imported: reported as failed benches, the others still run. */
  failures: BenchResult[];
}

async function loadModules(dir: string, only: string[]): Promise<Loaded> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".bench.ts")).sort();
  const loaded: Loaded = { modules: [], failures: [] };
  for (const file of files) {
    const short = file.replace(/\.bench\.ts$/, "");
    if (only.length && !only.includes(short)) continue;
    try {
      const module = ((await import(pathToFileURL(join(dir, file)).href)) as { default?: BenchModule })
        .default;
      if (!module || typeof module.run !== "function") throw new Error("no default BenchModule export");
      loaded.modules.push(module);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      process.stderr.write(`[bench] cannot load ${file}: ${message}\n`);
      loaded.failures.push(failed(short, `cannot load ${file}: ${message}`));
    }
  }
  return loaded;
}

function failed(name: string, note: string): BenchResult {
  return {
    name,
    metrics: {},
    baseline: {},
    ratios: {},
    target: "run to completion",
    pass: false,
    notes: [note],
  };
}

async function runOne(module: BenchModule, outer: AbortSignal): Promise<BenchResult> {
  const timeoutMs = module.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(outer.reason);
  outer.addEventListener("abort", onOuterAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  const log = (line: string) => process.stderr.write(`[bench:${module.name}] ${line}\n`);
  const started = performance.now();
  try {
    log(`start: ${module.description}`);
    const result = await module.run({ log, signal: controller.signal });
    log(
      `done in ${Math.round(performance.now() - started)} ms: ${result.pass ? "PASS" : "FAIL"} (${result.target})`,
    );
    return result;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log(`failed: ${message}`);
    return failed(module.name, `error: ${message}`);
  } finally {
    clearTimeout(timer);
    outer.removeEventListener("abort", onOuterAbort);
  }
}

async function main(): Promise<void> {
  const dir = dirname(fileURLToPath(import.meta.url));
  const only = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const interrupted = new AbortController();
  // First signal: abort the running bench so it cleans up; a second one exits at once.
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted.signal.aborted) process.exit(130);
    process.stderr.write(`[bench] ${signal}: stopping and cleaning up (again to exit now)\n`);
    interrupted.abort(new Error(`interrupted by ${signal}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const { modules, failures } = await loadModules(dir, only);
  if (modules.length === 0 && failures.length === 0) {
    process.stderr.write(`[bench] no bench modules${only.length ? ` named ${only.join(", ")}` : ""}\n`);
    process.exitCode = 2;
    return;
  }
  const benches: BenchResult[] = [...failures];
  for (const module of modules) {
    if (interrupted.signal.aborted) break;
    benches.push(await runOne(module, interrupted.signal));
  }
  const document = {
    machine: {
      cores: availableParallelism(),
      memory: totalmem(),
      node: process.version,
    },
    benches,
  };
  const json = `${JSON.stringify(document, null, 2)}\n`;
  process.stdout.write(json);
  // npm prints its own banner on stdout, so the document is also kept where tools can read it whole.
  const saved = join(dir, "..", "artifacts", "bench.json");
  await mkdir(dirname(saved), { recursive: true });
  await writeFile(saved, json);
  process.stderr.write(`[bench] results also in artifacts/bench.json\n`);
  process.exitCode = benches.every((b) => b.pass) && !interrupted.signal.aborted ? 0 : 1;
}

await main();
