// Bundled by bench/train-browser.ts and run in Chromium: benchTrain (task.ts) with the training wasm inlined.
import wasm from "../../build/qwasm.train.wasm";
import { setTrainWasm } from "../../src/train/index.ts";
import { benchTrain } from "./task.ts";

declare global { interface Window { bench?: (images: number, quant: boolean) => ReturnType<typeof benchTrain> } }

const ready = WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>).then((m) => setTrainWasm(m));
window.bench = async (images, quant) => { await ready; return benchTrain(images, quant); };
