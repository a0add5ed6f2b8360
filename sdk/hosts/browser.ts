// qwasm for browsers (and bundlers targeting them): the wasm builds are fetched from next to this module and
// compiled while they stream in; string model sources are fetched relative to the page. A model without
// sub-8-bit ops gets the lite build (qwasm.lite.wasm, about half the bytes) when the browser runs SIMD.
import { loadModelWith, type LoadOptions, type Model, type ModelSource } from "../core/model.ts";
import type { Host } from "../core/wasm.ts";
import { wasmUrl } from "./wasm-urls.ts";

export * from "../core/public.ts";

const host: Host = { defaultWasm: wasmUrl, lite: true };

/** Loads a .qwm model: bytes, a URL (fetched) or a Response. */
export function loadModel(source: ModelSource, options?: LoadOptions): Promise<Model> {
  return loadModelWith(host, source, options);
}
