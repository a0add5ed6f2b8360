// Labels files: plain UTF-8 text, one class name per line (CIFAR-10's batches.meta.txt, a model's labels).
// Lines are trimmed; trailing empty lines are skipped; an empty line before the last name is an error (it would
// shift every class index after it). Duplicate names are allowed (ImageNet has some).
import { readBytes } from "./io.ts";
import { QwmDataError } from "./types.ts";

/** Class names from the text of a labels file; `source` names it in errors. */
export function parseLabels(text: string, source: string): string[] {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/).map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  if (!lines.length) throw new QwmDataError("DATA_FORMAT", `labels file '${source}' has no labels`);
  const empty = lines.indexOf("");
  if (empty >= 0) throw new QwmDataError("DATA_FORMAT", `labels file '${source}': line ${empty + 1} is empty (one label per line, no blank lines)`);
  return lines;
}

/** Reads a labels file (one class name per line). */
export function readLabels(path: string): string[] {
  const b = readBytes(path, "labels file");
  if (b.includes(0)) throw new QwmDataError("DATA_FORMAT", `labels file '${path}' is binary, expected text with one label per line`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    throw new QwmDataError("DATA_FORMAT", `labels file '${path}' is not UTF-8 text`);
  }
  return parseLabels(text, path);
}
