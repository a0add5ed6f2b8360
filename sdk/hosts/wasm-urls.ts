// Where the wasm builds lie relative to this code: build/ from the sources; dist/ once bundled
// (scripts/build-sdk.mjs rewrites "../../build/" to "../" here). Each URL is a literal
// `new URL("...", import.meta.url)` so that bundlers (Vite, webpack, esbuild, Deno) see and ship the files.
import type { BuildName } from "../core/wasm.ts";

export function wasmUrl(build: BuildName): URL {
  return build === "lite" ? new URL("../../build/qwasm.lite.wasm", import.meta.url)
    : build === "relaxed" ? new URL("../../build/qwasm.relaxed.wasm", import.meta.url)
    : build === "simd" ? new URL("../../build/qwasm.simd.wasm", import.meta.url)
    : new URL("../../build/qwasm.nosimd.wasm", import.meta.url);
}
