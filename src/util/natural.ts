/**
 * The pieces of `natural` faultline uses (discovery and the monitor), loaded by file: importing the package root also loads
 * its storage back-ends, which call dotenv (reading ./.env into process.env and printing to stdout).
 */
import { createRequire } from "node:module";

export interface NaturalTokenizer {
  tokenize(text: string): string[];
}

export interface NaturalClassifier {
  addDocument(tokens: string[], label: string): void;
  train(): void;
  getClassifications(tokens: string[]): { label: string; value: number }[];
  features: Record<string, number>;
}

const require = createRequire(import.meta.url);

export function createTokenizer(pattern: RegExp): NaturalTokenizer {
  const RegexpTokenizer = require("natural/lib/natural/tokenizers/regexp_tokenizer.js")
    .RegexpTokenizer as new (options: { pattern: RegExp; discardEmpty?: boolean }) => NaturalTokenizer;
  return new RegexpTokenizer({ pattern, discardEmpty: true });
}

export function createBayesClassifier(): NaturalClassifier {
  const BayesClassifier =
    require("natural/lib/natural/classifiers/bayes_classifier.js") as new () => NaturalClassifier;
  return new BayesClassifier();
}

export function englishStopwords(): string[] {
  return (require("natural/lib/natural/util/stopwords.js") as { words: string[] }).words;
}
