// Finding and instantiating the qwasm wasm builds from Node (toolkit, tests, benchmarks).
// The deployable SDK has its own host-specific loaders; this file is for the toolkit side only.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export type BuildName = "simd" | "nosimd" | "relaxed";
export const BUILDS: readonly BuildName[] = ["simd", "nosimd", "relaxed"];

// build/ seen from the sources (src/wasm/) or from the bundled toolkit and CLI (dist/).
const BUILD_DIRS = ["../../build/", "../build/"].map((d) => new URL(d, import.meta.url));

export function buildPath(build: BuildName): string {
  const file = `qwasm.${build}.wasm`;
  const dir = BUILD_DIRS.find((d) => existsSync(fileURLToPath(new URL(file, d)))) ?? BUILD_DIRS[0];
  return fileURLToPath(new URL(file, dir));
}

export function readBuild(build: BuildName): Uint8Array {
  return readFileSync(buildPath(build));
}

/**
 * The builds this Node can run correctly: SIMD and no-SIMD. Relaxed SIMD is never used under Node 20
 * (behind a flag there, and its baseline compiler miscomputes the relaxed dot); Deno, workerd and
 * Chromium run the relaxed build.
 */
export function nodeBuilds(): BuildName[] {
  return ["simd", "nosimd"];
}
