// qwasm for Cloudflare Workers (workerd). Workers cannot compile WebAssembly from bytes at run time: the
// Worker imports the builds as modules and passes them in options.wasm:
//   import relaxed from "./qwasm.relaxed.wasm";
//   import simd from "./qwasm.simd.wasm";
//   const model = await loadModel(bytes, { wasm: { relaxed, simd } });
import { QwmHostError } from "../core/errors.ts";
import { loadModelWith, noDefaults, type LoadOptions, type Model, type ModelSource } from "../core/model.ts";

export * from "../core/public.ts";

const HOW = 'Cloudflare Workers cannot compile WebAssembly from bytes: import the builds as modules ' +
  '(import simd from "./qwasm.simd.wasm") and pass them as loadModel(source, { wasm: { simd } })';
const host = noDefaults("NEEDS_MODULE", `qwasm: ${HOW}`);

/** Loads a .qwm model (bytes, URL or Response); options.wasm must hold WebAssembly.Module objects. */
export function loadModel(source: ModelSource, options?: LoadOptions): Promise<Model> {
  const wasm = options?.wasm;
  if (wasm && typeof wasm === "object") {
    for (const [build, m] of Object.entries(wasm)) {
      if (m != null && !(m instanceof WebAssembly.Module)) {
        return Promise.reject(new QwmHostError("NEEDS_MODULE", `qwasm: options.wasm.${build} is not a WebAssembly.Module. ${HOW}`));
      }
    }
  }
  return loadModelWith(host, source, options);
}
