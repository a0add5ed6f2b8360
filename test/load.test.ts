// A bounded load test of the Cloudflare Worker example (examples/cloudflare-worker) under npm workerd on
// 127.0.0.1: 2,000 POST /classify requests, 50 in flight, PNG bodies of the sample images (gray 28x28 and an
// RGB picture of another size); every answer must be a 200 whose int8 outputs equal the Node SDK's for the same
// image. Prints requests, errors, throughput and p50 / p99 latency. QWASM_LOAD_REQUESTS / QWASM_LOAD_INFLIGHT
// change the load.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { loadModel } from "../sdk/hosts/node.ts";
import { fashionQwm, haveFashion } from "./helpers/fashion.ts";
import { findTool, ROOT, testIf } from "./helpers/tools.ts";
import { bundleExampleWorker, haveExampleWorker, serveWorkerd } from "./helpers/workerd.ts";

const REQUESTS = Number(process.env.QWASM_LOAD_REQUESTS ?? 2000);
const IN_FLIGHT = Number(process.env.QWASM_LOAD_INFLIGHT ?? 50);
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

/** The sample PNGs and one 97x83 RGB picture made from the first (resizing and channel conversion run too). */
function bodies(): Uint8Array<ArrayBuffer>[] {
  const dir = `${ROOT}models/samples/`;
  const files = readdirSync(dir).filter((f) => f.endsWith(".png")).sort();
  const out: Uint8Array<ArrayBuffer>[] = files.map((f) => new Uint8Array(readFileSync(dir + f)));
  const src = PNG.sync.read(Buffer.from(out[0]));
  const rgb = new PNG({ width: 97, height: 83, colorType: 2 });
  for (let y = 0; y < 83; y++) for (let x = 0; x < 97; x++) {
    const v = src.data[4 * (Math.floor((y * src.height) / 83) * src.width + Math.floor((x * src.width) / 97))], o = 4 * (y * 97 + x);
    rgb.data[o] = v; rgb.data[o + 1] = (v * 3) >> 2; rgb.data[o + 2] = Math.min(255, v + 20); rgb.data[o + 3] = 255;
  }
  out.push(new Uint8Array(PNG.sync.write(rgb, { colorType: 2 })));
  return out;
}

const workerd = findTool("workerd");
testIf(!!workerd && haveExampleWorker() && haveFashion(), `workerd load test: ${REQUESTS} POST /classify, ${IN_FLIGHT} in flight, 0 errors, answers equal Node's`,
  "npm package workerd, examples/cloudflare-worker or the bundled model is missing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qwasm-load-"));
    const modelFile = join(dir, "model.src.qwm");
    writeFileSync(modelFile, await fashionQwm());
    const served = await serveWorkerd(workerd!, dir, await bundleExampleWorker(dir, modelFile));
    try {
      const pngs = bodies();
      // what Node's SDK answers for each body: the raw int8 outputs and the top 3
      const node = await loadModel(readFileSync(modelFile));
      const want = pngs.map((b) => {
        const p = PNG.sync.read(Buffer.from(b));
        const img = { width: p.width, height: p.height, data: new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.length) };
        return { raw: Array.from(node.run(node.preprocess(img)).raw).join(), labels: node.classify(img, { topK: 3 }).map((t) => t.label).join() };
      });
      const latency: number[] = [];
      const errors: string[] = [];
      let sent = 0, build = "";
      // warm-up: the isolate loads the model on its first request
      assert.is((await fetch(`${served.base}/classify?k=3&raw=1`, { method: "POST", body: pngs[0], headers: { "content-type": "image/png" } })).status, 200);
      const t0 = performance.now();
      await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < REQUESTS) {
          const k = sent++, i = k % pngs.length;
          const t = performance.now();
          try {
            const res = await fetch(`${served.base}/classify?k=3&raw=1`, {
              method: "POST", body: pngs[i], headers: { "content-type": "image/png" }, signal: AbortSignal.timeout(30_000), // a lost request is an error, not a hang
            });
            const body = await res.json();
            latency.push(performance.now() - t);
            if (res.status !== 200) { errors.push(`request ${k}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`); continue; }
            build = body.build;
            if (body.raw.join() !== want[i].raw || body.top.map((x: { label: string }) => x.label).join() !== want[i].labels) {
              errors.push(`request ${k} (body ${i}): answer differs from Node's`);
            }
          } catch (e) {
            latency.push(performance.now() - t);
            errors.push(`request ${k}: ${(e as Error).message}`);
          }
        }
      }));
      const wall = performance.now() - t0;
      console.log(`  workerd load test (${build} build, 127.0.0.1): ${REQUESTS} requests, ${IN_FLIGHT} in flight, ${errors.length} errors; ` +
        `${(REQUESTS / (wall / 1000)).toFixed(0)} requests/s; latency p50 ${pct(latency, 50).toFixed(1)} ms, p99 ${pct(latency, 99).toFixed(1)} ms, max ${Math.max(...latency).toFixed(1)} ms`);
      assert.equal(errors.slice(0, 10), [], `${errors.length} errors`);
      assert.is(latency.length, REQUESTS);
    } finally {
      await served.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

test.run();
