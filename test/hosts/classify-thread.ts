// A worker thread holding its own instance of a shared model (test/concurrency.test.ts): workerData brings the
// compiled WebAssembly.Module (shared, not recompiled) and the .qwm bytes; each request { id, image, topK }
// is answered with { id, top, raw, ms } (raw: the int8 outputs behind the scores).
import { parentPort, workerData } from "node:worker_threads";
import { loadModel, type ImageLike } from "../../sdk/core/model.ts";

const { module, bytes } = workerData as { module: WebAssembly.Module; bytes: Uint8Array };
const model = await loadModel(bytes, { wasm: { simd: module } });
const memory0 = model.info.wasmMemoryBytes;

parentPort!.on("message", (m: { id: number; image?: ImageLike; topK: number; stats?: boolean }) => {
  if (m.stats) {
    parentPort!.postMessage({ id: m.id, stats: { memory0, memory: model.info.wasmMemoryBytes, build: model.info.build } });
    return;
  }
  const t0 = performance.now();
  try {
    const top = model.classify(m.image!, { topK: m.topK });
    const raw = Array.from(model.run(model.preprocess(m.image!)).raw);
    parentPort!.postMessage({ id: m.id, top, raw, ms: performance.now() - t0 });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: `${(e as Error).name}: ${(e as Error).message}` });
  }
});
parentPort!.postMessage({ ready: true });
