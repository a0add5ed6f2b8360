// qwasm for Node: the wasm builds are read with node:fs from the package; model sources may also be file
// paths or file: URLs. Relaxed SIMD is never picked automatically under Node (see sdk/core/wasm.ts). Node keeps
// the full builds by default (download size does not matter there); wasm: { lite } or build: "lite" picks lite.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadModelWith, type LoadOptions, type Model, type ModelSource } from "../core/model.ts";
import type { Host } from "../core/wasm.ts";
import { wasmUrl } from "./wasm-urls.ts";

export * from "../core/public.ts";

const host: Host = {
  defaultWasm: wasmUrl,
  readUrl: (url) => (url.protocol === "file:" ? readFile(url) : undefined),
  // "C:\..." has a one-letter scheme: a path, like anything without a scheme of two letters or more.
  resolveString: (s) => (/^[a-z][a-z0-9+.-]+:/i.test(s) ? new URL(s) : pathToFileURL(resolve(s))),
};

/** Loads a .qwm model: bytes, a file path, a file:/http(s): URL or a Response. */
export function loadModel(source: ModelSource, options?: LoadOptions): Promise<Model> {
  return loadModelWith(host, source, options);
}
