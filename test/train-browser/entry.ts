// Bundled by test/train-browser.test.ts (esbuild, platform browser, --loader:.wasm=binary) and run in Chromium:
// the isomorphic training engine trains the toy net of test/helpers/train-toy.ts and hands back its losses and .qwm.
import wasm from "../../build/qwasm.train.wasm";
import { Net, setTrainWasm } from "../../src/train/index.ts";
import { trainToy, toyNet } from "../helpers/train-toy.ts";
import { mathSweep } from "../helpers/math-sweep.ts";
import * as detmath from "../../src/train/detmath.ts";

declare global { interface Window { trainResult?: unknown; trainError?: string } }

(async () => {
  try {
    // before any wasm is given: a typed error, not a crash
    let noWasm = "constructed";
    try { new Net(toyNet(1), 4); } catch (e) { noWasm = `${(e as Error).name}: ${(e as Error).message}`; }
    // compiled asynchronously (the way to compile wasm on a page's main thread), then given to the engine
    setTrainWasm(await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>));
    const r = await trainToy();
    let hex = "";
    for (const b of r.qwm) hex += b.toString(16).padStart(2, "0");
    window.trainResult = { steps: r.steps, epochs: r.epochs, qwmHex: hex, noWasm, detmath: mathSweep(detmath), jsMath: mathSweep(Math), isNode: typeof (globalThis as { process?: unknown }).process !== "undefined" };
  } catch (e) {
    window.trainError = String((e as Error)?.stack ?? e);
  }
})();
