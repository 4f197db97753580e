/**
 * Which kind of server wrote these log lines: a naive Bayes classifier (natural) trained at first use
 * on a small labelled corpus of real server log lines shipped in corpus/log-lines.json.
 */
import corpus from "./corpus/log-lines.json" with { type: "json" };
import type { ServiceKind } from "./profile.js";
import {
  createBayesClassifier,
  createTokenizer,
  englishStopwords,
  type NaturalClassifier,
} from "../util/natural.js";

const LABEL_KIND: Record<string, ServiceKind | undefined> = {
  postgresql: "postgresql",
  mysql: "mysql",
  redis: "redis",
  mongodb: "mongodb",
  rabbitmq: "rabbitmq",
  kafka: "kafka",
  nats: "nats",
  mqtt: "mqtt",
  memcached: "memcached",
  elasticsearch: "elasticsearch",
  smtp: "smtp",
  http: "http",
  // Generic application output says nothing about what the service serves.
  app: undefined,
};

const splitter = createTokenizer(/[^a-z_]+/);
/** Words every program logs: English stopwords and log levels say nothing about which server wrote a line. */
const NOISE = new Set([
  ...englishStopwords(),
  ..."info inf information warn warning wrn error err debug dbg trace notice fatal critical log level msg message utc".split(
    " ",
  ),
]);

/** Lower-case word features; numbers, ids, one-letter tokens and noise words carry no signal. */
export function logFeatures(line: string): string[] {
  return splitter
    .tokenize(line.toLowerCase())
    .filter((t) => t.length >= 2 && t.length <= 24 && !/^_+$/.test(t) && !NOISE.has(t));
}

let trained: NaturalClassifier | undefined;

/**
 * Classes are oversampled to the same number of lines: natural's Bayes scores absent words too, which
 * otherwise favours the labels with the fewest examples.
 */
function classifier(): NaturalClassifier {
  if (trained) return trained;
  const c = createBayesClassifier();
  const labels = Object.entries(corpus.labels as Record<string, string[]>).filter(
    ([, lines]) => lines.length,
  );
  const perLabel = Math.max(...labels.map(([, lines]) => lines.length));
  for (const [label, lines] of labels) {
    for (let i = 0; i < perLabel; i++) {
      const features = logFeatures(lines[i % lines.length] ?? "");
      if (features.length) c.addDocument(features, label);
    }
  }
  c.train();
  trained = c;
  return c;
}

export interface LogVerdict {
  kind: ServiceKind;
  label: string;
  /** Share of the votes of lines that had enough known words. */
  share: number;
  votingLines: number;
}

/**
 * Every line with at least two words the classifier knows and a clear favourite (1.5x the runner-up)
 * votes for it; the label with most votes wins. No verdict for generic app output or when too few
 * lines voted.
 */
export function classifyLogLines(lines: string[], minVotingLines = 2): LogVerdict | undefined {
  const MIN_KNOWN_WORDS = 2;
  const MIN_MARGIN = 1.5;
  const c = classifier();
  const votes = new Map<string, number>();
  let voting = 0;
  for (const line of lines.slice(-500)) {
    const features = logFeatures(line.slice(0, 1000));
    if (features.filter((f) => f in c.features).length < MIN_KNOWN_WORDS) continue;
    const [top, second] = c.getClassifications(features);
    if (!top || top.value <= 0 || (second && top.value < MIN_MARGIN * second.value)) continue;
    votes.set(top.label, (votes.get(top.label) ?? 0) + 1);
    voting++;
  }
  if (voting < minVotingLines) return undefined;
  const [label, count] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0] ?? ["", 0];
  const kind = LABEL_KIND[label];
  if (!kind) return undefined;
  return { kind, label, share: count / voting, votingLines: voting };
}
