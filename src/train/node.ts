// The training engine under Node: everything src/train/index.ts exports, with the training wasm read from
// build/qwasm.train.wasm (next to the sources, or next to the bundled toolkit/CLI in dist/) on first use.
// The engine itself is isomorphic; browsers import src/train/index.ts and call setTrainWasm() (docs/training.md).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { QwmTrainError, setTrainWasm } from "./kernels.ts";

export * from "./index.ts";

const WASM_DIRS = ["../../build/", "../build/"].map((d) => new URL(d, import.meta.url));

/** The bytes of build/qwasm.train.wasm. */
export function trainWasmBytes(): Uint8Array {
  const dir = WASM_DIRS.find((d) => existsSync(fileURLToPath(new URL("qwasm.train.wasm", d))));
  if (!dir) throw new QwmTrainError("build/qwasm.train.wasm is missing: run `node scripts/build.mjs`");
  return readFileSync(fileURLToPath(new URL("qwasm.train.wasm", dir)));
}

setTrainWasm(trainWasmBytes);
