/**
 * Just enough of a compose file for tests to know the intended wiring without trusting faultline:
 * the services and their `depends_on` (list or map form). Not a YAML parser; handles block style as
 * written in examples/.
 */
import { readFileSync } from "node:fs";

export interface ComposeWiring {
  services: string[];
  /** service -> the services it depends on. */
  dependsOn: Map<string, string[]>;
}

export function readComposeWiring(file: string): ComposeWiring {
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").replace(/\s+$/, ""))
    .filter((l) => l.trim() && !l.trim().startsWith("#"));
  const services: string[] = [];
  const dependsOn = new Map<string, string[]>();
  let inServices = false;
  let serviceIndent = -1;
  let current: string | undefined;
  let dependsIndent = -1;
  let childIndent = -1;
  for (const line of lines) {
    const indent = line.length - line.trimStart().length;
    const text = line.trim();
    if (indent === 0) {
      inServices = text === "services:";
      current = undefined;
      continue;
    }
    if (!inServices) continue;
    if (serviceIndent < 0) serviceIndent = indent;
    if (indent === serviceIndent) {
      current = unquote(text.replace(/:$/, ""));
      services.push(current);
      dependsOn.set(current, []);
      dependsIndent = -1;
      continue;
    }
    if (!current) continue;
    if (dependsIndent >= 0 && indent <= dependsIndent) dependsIndent = -1;
    const inline = /^depends_on:\s*\[(.*)\]$/.exec(text);
    if (inline) {
      dependsOn.get(current)!.push(...inline[1]!.split(",").map(unquote).filter(Boolean));
      continue;
    }
    if (text === "depends_on:") {
      dependsIndent = indent;
      childIndent = -1;
      continue;
    }
    if (dependsIndent < 0) continue;
    if (childIndent < 0) childIndent = indent;
    if (indent !== childIndent) continue;
    // "- name" (list form) or "name:" (map form, with conditions one level deeper).
    const entry = /^(?:-\s*)?(["']?[\w.-]+["']?)(:)?$/.exec(text);
    if (entry) dependsOn.get(current)!.push(unquote(entry[1]!));
  }
  return { services, dependsOn };
}

function unquote(s: string): string {
  return s.trim().replace(/^["']|["']$/g, "");
}
