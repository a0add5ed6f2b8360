// One loaded model under concurrent load: a single compiled WebAssembly.Module shared by worker_threads, an
// instance (and its own linear memory) per thread, many classify calls in flight at once, every answer equal
// to a serial run of the same images in the main thread (labels, scores and the raw int8 outputs, bit for bit);
// and several instances interleaved in one thread. Prints the request count, the throughput and p50 / p99
// latency. The load test over HTTP against the Cloudflare Worker in workerd is test/load.test.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Worker } from "node:worker_threads";
import { loadModel, type ImageLike, type Prediction } from "../sdk/core/model.ts";
import { readBuild } from "../src/wasm/module.ts";
import { fashionImages, fashionQwm, haveFashion } from "./helpers/fashion.ts";
import { testIf } from "./helpers/tools.ts";

const THREADS = 4, REQUESTS = 2000, IN_FLIGHT = 64, IMAGES = 200, TOP_K = 3;

interface Answer { top: Prediction[]; raw: number[] }
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

async function serial(bytes: Uint8Array, module: WebAssembly.Module, images: ImageLike[]): Promise<Answer[]> {
  const m = await loadModel(bytes, { wasm: { simd: module } });
  const out = images.map((img) => ({ top: m.classify(img, { topK: TOP_K }), raw: Array.from(m.run(m.preprocess(img)).raw) }));
  m.dispose();
  return out;
}

testIf(haveFashion(), `worker_threads: ${THREADS} threads share one WebAssembly.Module, ${REQUESTS} classify calls (${IN_FLIGHT} in flight) equal a serial run`,
  "models/fashion_mnist_dsres.onnx or models/data is missing", async () => {
    const bytes = await fashionQwm();
    const module = await WebAssembly.compile(readBuild("simd") as Uint8Array<ArrayBuffer>);
    const images = fashionImages(IMAGES);
    const want = await serial(bytes, module, images);

    const workers = await Promise.all(Array.from({ length: THREADS }, () => new Promise<Worker>((resolve, reject) => {
      const w = new Worker(new URL("./helpers/ts-worker.mjs", import.meta.url), {
        workerData: { entry: new URL("./hosts/classify-thread.ts", import.meta.url).href, module, bytes },
      });
      w.once("message", (m) => (m.ready ? resolve(w) : reject(new Error(String(m)))));
      w.once("error", reject);
    })));
    const pending = new Map<number, (m: any) => void>();
    for (const w of workers) w.on("message", (m) => { pending.get(m.id)?.(m); pending.delete(m.id); });
    let nextId = 0;
    const ask = (w: Worker, msg: object) => new Promise<any>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      w.postMessage({ id, ...msg });
    });
    try {
      const latency: number[] = [], compute: number[] = [];
      const mismatches: string[] = [];
      let errors = 0, sent = 0;
      const t0 = performance.now();
      // IN_FLIGHT clients, each sending its next request when the last one is answered, round-robin over threads
      await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < REQUESTS) {
          const k = sent++;
          const img = images[k % images.length];
          const t = performance.now();
          const r = await ask(workers[k % THREADS], { image: img, topK: TOP_K });
          latency.push(performance.now() - t);
          if (r.error) { errors++; continue; }
          compute.push(r.ms);
          const w = want[k % images.length];
          if (JSON.stringify(r.top) !== JSON.stringify(w.top) || r.raw.join() !== w.raw.join()) {
            mismatches.push(`request ${k} (image ${k % images.length}, thread ${k % THREADS})`);
          }
        }
      }));
      const wall = performance.now() - t0;
      const stats = await Promise.all(workers.map((w) => ask(w, { stats: true })));
      console.log(`  worker_threads: ${REQUESTS} classify calls on ${THREADS} threads (one WebAssembly.Module, an instance each), ${IN_FLIGHT} in flight: ` +
        `${errors} errors, ${mismatches.length} differences from the serial run; ${(REQUESTS / (wall / 1000)).toFixed(0)} calls/s; ` +
        `latency p50 ${pct(latency, 50).toFixed(2)} ms, p99 ${pct(latency, 99).toFixed(2)} ms (compute p50 ${pct(compute, 50).toFixed(2)} ms)`);
      assert.is(errors, 0);
      assert.equal(mismatches.slice(0, 10), []);
      assert.is(latency.length, REQUESTS);
      for (const s of stats) {
        assert.is(s.stats.build, "simd");
        assert.is(s.stats.memory, s.stats.memory0, "a thread's wasm memory grew over the run");
      }
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });

testIf(haveFashion(), "instances interleaved in one thread (one Module, one instance each) answer as a single serial instance", "models missing", async () => {
  const bytes = await fashionQwm();
  const module = await WebAssembly.compile(readBuild("nosimd") as Uint8Array<ArrayBuffer>);
  const images = fashionImages(40);
  const want = await serial(bytes, module, images);
  const models = await Promise.all(Array.from({ length: 8 }, () => loadModel(bytes, { wasm: { nosimd: module } })));
  // every model classifies every image, interleaved call by call; async callers racing on the microtask queue
  await Promise.all(models.map(async (m, j) => {
    for (let i = 0; i < images.length; i++) {
      const k = (i + 5 * j) % images.length;
      await Promise.resolve();
      assert.equal(m.classify(images[k], { topK: TOP_K }), want[k].top, `model ${j}, image ${k}`);
      assert.is(Array.from(m.run(m.preprocess(images[k])).raw).join(), want[k].raw.join());
    }
  }));
  for (const m of models) m.dispose();
});

test.run();
