/** Builds the catalog's images through the engine's image store, reporting progress line by line. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ImageStore } from "../docker/types.js";
import { ImageUnavailableError } from "../errors.js";
import {
  type BuildPlan,
  type ImageSpec,
  isFaultlineOwned,
  isNotableBuildLine,
  planBuilds,
} from "./catalog.js";

export interface BuildImagesOptions {
  /** Repository root that relative context directories are resolved against. */
  root: string;
  force?: boolean;
  /** Show every line of build output, not only the steps and errors. */
  verbose?: boolean;
  /** Where progress lines go (stderr in the CLI). */
  progress?: (line: string) => void;
}

export interface BuildImagesResult extends BuildPlan {
  /** Wall time of each build, by image name. */
  durationsMs: Record<string, number>;
}

export async function planImageBuilds(
  store: ImageStore,
  specs: readonly ImageSpec[],
  force: boolean,
): Promise<BuildPlan> {
  const existing = new Set<string>();
  await Promise.all(
    specs.map(async (spec) => {
      if (await store.exists(spec.tag)) existing.add(spec.tag);
    }),
  );
  return planBuilds(specs, existing, force);
}

/**
 * Builds the missing images among `specs` (all of them with `force`), one after another: builds share
 * layers and this machine's cores. Stops at the first failure, naming the image.
 */
export async function buildImages(
  store: ImageStore,
  specs: readonly ImageSpec[],
  options: BuildImagesOptions,
): Promise<BuildImagesResult> {
  const say = options.progress ?? (() => undefined);
  const plan = await planImageBuilds(store, specs, options.force ?? false);
  for (const spec of plan.present) say(`[images] ${spec.tag}: present`);
  const durationsMs: Record<string, number> = {};
  let index = 0;
  for (const spec of plan.build) {
    index += 1;
    const context = resolve(options.root, spec.contextDir);
    if (!existsSync(join(context, "Dockerfile"))) {
      throw new ImageUnavailableError(
        `cannot build ${spec.tag}: no Dockerfile in ${context}`,
        "the checkout is incomplete; restore that directory from the repository",
      );
    }
    say(`[images] building ${spec.tag} (${index}/${plan.build.length}) from ${spec.contextDir}`);
    const started = Date.now();
    await store.build(
      context,
      spec.tag,
      (line) => {
        if (options.verbose) say(`[images]   ${spec.name}: ${line}`);
        else if (isNotableBuildLine(line)) say(`[images]   ${spec.name}: ${shorten(line, 120)}`);
      },
      { owned: isFaultlineOwned(spec) },
    );
    durationsMs[spec.name] = Date.now() - started;
    say(`[images] built ${spec.tag} in ${(durationsMs[spec.name] / 1000).toFixed(1)} s`);
  }
  return { ...plan, durationsMs };
}

function shorten(line: string, max: number): string {
  const flat = line.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
