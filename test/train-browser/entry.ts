// Bundled by test/train-browser.test.ts (esbuild, platform browser, --loader:.wasm=binary) and run in Chromium:
// the isomorphic training engine trains the toy net of test/helpers/train-toy.ts on the page's main thread and,
// loaded again as a module worker that is handed the compiled WebAssembly.Module, in a Web Worker; each hands back
// its losses and .qwm.
import wasm from "../../build/qwasm.train.wasm";
import { Net, setTrainWasm } from "../../src/train/index.ts";
import { trainToy, toyNet } from "../helpers/train-toy.ts";
import { mathSweep } from "../helpers/math-sweep.ts";
import * as detmath from "../../src/train/detmath.ts";

declare global { interface Window { trainResult?: unknown; workerResult?: unknown; trainError?: string } }

async function run(module: WebAssembly.Module) {
  // before any wasm is given: a typed error, not a crash
  let noWasm = "constructed";
  try { new Net(toyNet(1), 4); } catch (e) { noWasm = `${(e as Error).name}: ${(e as Error).message}`; }
  setTrainWasm(module);
  const r = await trainToy();
  let hex = "";
  for (const b of r.qwm) hex += b.toString(16).padStart(2, "0");
  return {
    steps: r.steps, epochs: r.epochs, qwmHex: hex, noWasm, detmath: mathSweep(detmath), jsMath: mathSweep(Math),
    isNode: typeof (globalThis as { process?: unknown }).process !== "undefined",
  };
}

const scope = globalThis as unknown as { document?: unknown; onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
if (scope.document === undefined) {
  // in the worker: train with the module the page sent
  scope.onmessage = (e) => {
    run(e.data as WebAssembly.Module).then((r) => scope.postMessage({ result: r }), (err) => scope.postMessage({ error: String((err as Error)?.stack ?? err) }));
  };
} else {
  (async () => {
    try {
      // compiled asynchronously (the way to compile wasm on a page's main thread), then given to the engine
      const module = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
      window.trainResult = await run(module);
      const worker = new Worker(import.meta.url, { type: "module" });
      worker.onerror = (e) => { window.trainError = `worker: ${e.message}`; };
      worker.onmessage = (e) => {
        if (e.data.error) window.trainError = `worker: ${e.data.error}`;
        else window.workerResult = e.data.result;
      };
      worker.postMessage(module);
    } catch (e) {
      window.trainError = String((e as Error)?.stack ?? e);
    }
  })();
}
