// One fuzz worker (booted by test/helpers/ts-worker.mjs): builds a target, runs cases [from, to) and posts the
// reports. The heartbeat (a shared Int32Array) holds the index of the running case (-1 during setup), for the
// driver's watchdog.
import { parentPort, workerData } from "node:worker_threads";
import { newReport, runCases, type Target } from "./core.ts";

const { target, seed, from, to, beat, long } = workerData as { target: string; seed: number; from: number; to: number; beat: SharedArrayBuffer; long: boolean };
const hb = new Int32Array(beat);

async function make(name: string): Promise<Target> {
  switch (name) {
    case "qwm": return (await import("./qwm.ts")).qwmTarget();
    case "onnx": return (await import("./onnx.ts")).onnxTarget({ long });
    case "image": return (await import("./image.ts")).imageTarget();
    default: throw new Error(`unknown fuzz target '${name}' (qwm, onnx, image)`);
  }
}

Atomics.store(hb, 0, -1);
const t = await make(target);
// Reports go out in slices of FLUSH cases, so that a worker stopped by the watchdog loses only its last slice.
const FLUSH = 250;
for (let a = from; a < to; a += FLUSH) {
  const b = Math.min(to, a + FLUSH);
  const report = newReport(target, seed);
  await runCases(t, seed, a, b, report, (i) => Atomics.store(hb, 0, i));
  parentPort!.postMessage({ report, next: b });
}
parentPort!.postMessage({ done: true });
