// Runs fuzz targets in worker threads under a watchdog. A case that does not finish within `hangMs` is a hang:
// the worker is terminated and a new one continues after that case. A worker that dies (a crash, or its heap
// limit: an unbounded allocation) is reported at the case it was running, and the run continues likewise.
import { Worker } from "node:worker_threads";
import { mergeReport, newReport, type TargetReport } from "./core.ts";

export interface Plan {
  seed: number;
  targets: { name: string; cases: number; from?: number }[];
  /** A case running longer than this is a hang (ms). */
  hangMs?: number;
  /** The longer mode: bigger seeds (../shared/models for the importer). */
  long?: boolean;
  onLine?: (line: string) => void;
}

const SETUP_MS = 120_000;
/** The JS heap a fuzz worker may use: past it the worker dies, which the driver reports as an allocation failure. */
export const WORKER_HEAP_MB = 2048;

function runWorker(name: string, seed: number, from: number, to: number, hangMs: number, long: boolean,
  onSlice: (r: TargetReport, next: number) => void): Promise<{ stoppedAt?: number; why?: string }> {
  return new Promise((resolve) => {
    const beat = new SharedArrayBuffer(4);
    const hb = new Int32Array(beat);
    hb[0] = -1;
    const w = new Worker(new URL("../helpers/ts-worker.mjs", import.meta.url), {
      workerData: { entry: new URL("./worker.ts", import.meta.url).href, target: name, seed, from, to, beat, long },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    let last = -2, since = Date.now(), done = false;
    const finish = (r: { stoppedAt?: number; why?: string }) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      void w.terminate();
      resolve(r);
    };
    const timer = setInterval(() => {
      const cur = Atomics.load(hb, 0);
      if (cur !== last) { last = cur; since = Date.now(); return; }
      if (Date.now() - since > (cur < 0 ? SETUP_MS : hangMs)) {
        finish({ stoppedAt: cur, why: cur < 0 ? `setup of ${name} took over ${SETUP_MS} ms` : `hang: case ${cur} ran over ${hangMs} ms` });
      }
    }, 100);
    w.on("message", (m: { report?: TargetReport; next?: number; done?: boolean }) => {
      if (m.report) onSlice(m.report, m.next!);
      if (m.done) finish({});
    });
    w.on("error", (e) => finish({ stoppedAt: Atomics.load(hb, 0), why: `worker died: ${e?.stack ?? e}` }));
    w.on("exit", (code) => finish({ stoppedAt: Atomics.load(hb, 0), why: `worker exited with code ${code}` }));
  });
}

/** Runs the plan; returns one report per target. */
export async function fuzz(plan: Plan): Promise<TargetReport[]> {
  const reports: TargetReport[] = [];
  for (const t of plan.targets) {
    const rep = newReport(t.name, plan.seed);
    let from = t.from ?? 0;
    const to = from + t.cases;
    while (from < to) {
      let next = from;
      const r = await runWorker(t.name, plan.seed, from, to, plan.hangMs ?? 20_000, !!plan.long, (slice, n) => { mergeReport(rep, slice); next = n; });
      if (r.why === undefined) break;
      const at = r.stoppedAt ?? -1;
      if (at < 0) { rep.failures.push({ target: t.name, index: -1, kind: "crash", detail: r.why, mutators: "" }); break; }
      const kind = r.why.startsWith("hang") ? "hang" : /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(r.why) ? "alloc" : "crash";
      rep.failures.push({ target: t.name, index: at, kind, detail: r.why, mutators: "" });
      rep.cases += 1;
      plan.onLine?.(`  ${t.name}: worker stopped at case ${at} (${kind}); rerunning ${next}..${at - 1}, then continuing after it`);
      // the cases of the lost slice before `at` run again in a fresh worker; then the run continues after `at`
      if (at > next) {
        const again = await runWorker(t.name, plan.seed, next, at, plan.hangMs ?? 20_000, !!plan.long, (slice) => mergeReport(rep, slice));
        if (again.why !== undefined) rep.failures.push({ target: t.name, index: again.stoppedAt ?? -1, kind: "crash", detail: `rerun: ${again.why}`, mutators: "" });
      }
      from = at + 1;
    }
    plan.onLine?.(`  ${t.name}: done`);
    reports.push(rep);
  }
  return reports;
}
