/**
 * The images faultline builds itself: its fault agent and the demo shop used by the demo and the tests.
 * Pure data and pure selection logic; building lives in `build.ts`.
 */
import { InvalidInputError } from "../errors.js";
import { AGENT_CONTEXT_DIR, AGENT_IMAGE } from "./agent.js";

export type ImageGroup = "agent" | "demo";

export interface ImageSpec {
  /** Short name for `--only`, unique in the catalog. */
  name: string;
  tag: string;
  /** Build context (holding its Dockerfile): absolute, or relative to the repository root. */
  contextDir: string;
  group: ImageGroup;
  description: string;
}

export const DEMO_COMPOSE_FILE = "examples/shop/docker-compose.yml";

export const IMAGE_CATALOG: readonly ImageSpec[] = [
  {
    name: "agent",
    tag: AGENT_IMAGE,
    contextDir: AGENT_CONTEXT_DIR,
    group: "agent",
    description: "fault agent: tc, iptables and stress tools run next to a target",
  },
  {
    name: "ledger",
    tag: "faultline-demo/ledger:latest",
    contextDir: "examples/shop/ledger",
    group: "demo",
    description: "demo shop: PostgreSQL 15",
  },
  {
    name: "sessions",
    tag: "faultline-demo/sessions:latest",
    contextDir: "examples/shop/sessions",
    group: "demo",
    description: "demo shop: Redis",
  },
  {
    name: "storefront",
    tag: "faultline-demo/storefront:latest",
    contextDir: "examples/shop/storefront",
    group: "demo",
    description: "demo shop: HTTP API (Python)",
  },
  {
    name: "shopper",
    tag: "faultline-demo/shopper:latest",
    contextDir: "examples/shop/shopper",
    group: "demo",
    description: "demo shop: traffic simulator (Python)",
  },
];

/**
 * The catalog entries `only` names, by image name or group ("agent", "demo"); all of them when `only` is
 * empty. Unknown names are an input error.
 */
export function selectImages(catalog: readonly ImageSpec[], only: readonly string[] = []): ImageSpec[] {
  if (only.length === 0) return [...catalog];
  const matches = (spec: ImageSpec, name: string) => spec.name === name || spec.group === name;
  const unknown = only.filter((name) => !catalog.some((spec) => matches(spec, name)));
  if (unknown.length > 0) {
    const groups = [...new Set(catalog.map((s) => s.group))];
    throw new InvalidInputError(
      `unknown image ${unknown.map((n) => `"${n}"`).join(", ")}`,
      `known images: ${catalog.map((s) => s.name).join(", ")}; groups: ${groups.join(", ")}`,
    );
  }
  // Catalog order, not argument order: it is the order that shares build cache best.
  return catalog.filter((spec) => only.some((name) => matches(spec, name)));
}

/**
 * Whether containers from this image are faultline's own (the label is inherited from the image), and so
 * never discovered or targeted. The demo shop's containers are targets, so their images carry no label.
 */
export function isFaultlineOwned(spec: ImageSpec): boolean {
  return spec.group === "agent";
}

export interface BuildPlan {
  build: ImageSpec[];
  present: ImageSpec[];
}

/** Which of `specs` need building: the missing ones, or all of them when forced. */
export function planBuilds(
  specs: readonly ImageSpec[],
  existingTags: ReadonlySet<string>,
  force: boolean,
): BuildPlan {
  const plan: BuildPlan = { build: [], present: [] };
  for (const spec of specs) {
    if (force || !existingTags.has(spec.tag)) plan.build.push(spec);
    else plan.present.push(spec);
  }
  return plan;
}

/**
 * Which lines of a build's output are worth showing without --verbose: the slow steps (RUN) and anything
 * that looks like a failure. The rest (apt's chatter, metadata steps) is noise on a terminal.
 */
export function isNotableBuildLine(line: string): boolean {
  return /^Step \d+\/\d+ : RUN /.test(line) || /\b(error|failed|fatal)\b/i.test(line);
}
