// qwasm for Deno: the wasm builds are read with Deno.readFile (needs --allow-read on the package) or fetched
// when the package itself was loaded over http(s); model sources may also be paths relative to the cwd.
// A model without sub-8-bit ops gets the lite build (qwasm.lite.wasm), as in browsers.
import { loadModelWith, type LoadOptions, type Model, type ModelSource } from "../core/model.ts";
import type { Host } from "../core/wasm.ts";
import { wasmUrl } from "./wasm-urls.ts";

export * from "../core/public.ts";

declare const Deno: { readFile(path: URL): Promise<Uint8Array>; cwd(): string };

const cwdUrl = () => {
  const cwd = Deno.cwd().replace(/\\/g, "/");
  return new URL(`file://${cwd.startsWith("/") ? "" : "/"}${cwd}/`);
};

const host: Host = {
  defaultWasm: wasmUrl,
  lite: true,
  readUrl: (url) => (url.protocol === "file:" ? Deno.readFile(url) : undefined),
  resolveString: (s) => (/^[a-z][a-z0-9+.-]+:/i.test(s) ? new URL(s) : new URL(s, cwdUrl())),
};

/** Loads a .qwm model: bytes, a path, a file:/http(s): URL or a Response. */
export function loadModel(source: ModelSource, options?: LoadOptions): Promise<Model> {
  return loadModelWith(host, source, options);
}
