// The fuzzer's common parts: deterministic per-case seeds, the report every target fills (cases, accepted,
// rejections by the check that rejected them, by mutation strategy, failures with what reproduces them), and
// the failure kinds. Host-agnostic apart from what the targets import.
import { rng, type Rng } from "../helpers/ref.ts";

export type { Rng };

/** Seed of case `index` of target `target` in a run seeded with `seed` (splitmix-style mixing). */
export function caseSeed(seed: number, target: string, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < target.length; i++) h = Math.imul(h ^ target.charCodeAt(i), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ index, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

export const caseRng = (seed: number, target: string, index: number): Rng => rng(caseSeed(seed, target, index));

/**
 * What went wrong in a case. crash: an exception that is not one of the target's typed errors (a TypeError, a
 * WebAssembly.RuntimeError trap, ...); memory: a write outside the model's own memory, or memory grown past
 * its bound; hang: the case overran the watchdog; slow: over the per-case time budget; mismatch: builds or
 * paths that must agree did not.
 */
export type FailureKind = "crash" | "trap" | "memory" | "hang" | "slow" | "mismatch" | "untyped" | "alloc";

export interface Failure {
  target: string;
  index: number;
  kind: FailureKind;
  detail: string;
  mutators: string;
}

export interface TargetReport {
  target: string;
  seed: number;
  cases: number;
  accepted: number;
  rejected: number;
  /** Rejections by the check that rejected them (error kind, section and field; importer / decoder code and reason). */
  rejectedBy: Record<string, number>;
  /** Per mutation strategy: cases that used it and how many of those were rejected. */
  byMutator: Record<string, { cases: number; rejected: number }>;
  /** Target-specific counters (runs, differential comparisons, SDK loads, ...). */
  counters: Record<string, number>;
  failures: Failure[];
  maxCaseMs: number;
  ms: number;
}

export function newReport(target: string, seed: number): TargetReport {
  return { target, seed, cases: 0, accepted: 0, rejected: 0, rejectedBy: {}, byMutator: {}, counters: {}, failures: [], maxCaseMs: 0, ms: 0 };
}

export const bump = (m: Record<string, number>, k: string, n = 1) => { m[k] = (m[k] ?? 0) + n; };

/** Adds `b` into `a` (reports of the same target from consecutive workers). */
export function mergeReport(a: TargetReport, b: TargetReport): TargetReport {
  a.cases += b.cases;
  a.accepted += b.accepted;
  a.rejected += b.rejected;
  for (const [k, v] of Object.entries(b.rejectedBy)) bump(a.rejectedBy, k, v);
  for (const [k, v] of Object.entries(b.byMutator)) {
    const e = (a.byMutator[k] ??= { cases: 0, rejected: 0 });
    e.cases += v.cases;
    e.rejected += v.rejected;
  }
  for (const [k, v] of Object.entries(b.counters)) bump(a.counters, k, v);
  a.failures.push(...b.failures);
  a.maxCaseMs = Math.max(a.maxCaseMs, b.maxCaseMs);
  a.ms += b.ms;
  return a;
}

/** The result of one case: accepted, or rejected by the named check; failures are thrown as CaseFailure. */
export type Outcome = { accepted: true } | { accepted: false; by: string };

export class CaseFailure extends Error {
  /** The seed and mutations of the case, filled in by the target. */
  mutators = "";
  constructor(readonly kind: FailureKind, detail: string) {
    super(detail);
  }
}

/** A fuzz target: set up once per worker, then cases by index (each deterministic from its seed). */
export interface Target {
  name: string;
  /** Runs case `index`; returns its outcome and the mutation strategies used. Throws CaseFailure on a finding. */
  run(index: number, rng: Rng, report: TargetReport): Promise<{ outcome: Outcome; mutators: string[] }>;
}

/** Per-case time budget (ms): a case over it is a "slow" failure (the watchdog catches real hangs). */
export const CASE_BUDGET_MS = 3000;

/** Runs cases [from, to) of a target into `report`; `beat(i)` is called before each case (the watchdog). */
export async function runCases(t: Target, seed: number, from: number, to: number, report: TargetReport, beat: (i: number) => void): Promise<void> {
  const t0 = performance.now();
  for (let i = from; i < to; i++) {
    beat(i);
    const r = caseRng(seed, t.name, i);
    const c0 = performance.now();
    let mutators: string[] = [];
    try {
      const res = await t.run(i, r, report);
      mutators = res.mutators;
      const m = mutators.join("+") || "none";
      for (const name of new Set(mutators.length ? mutators : ["none"])) {
        const e = (report.byMutator[name] ??= { cases: 0, rejected: 0 });
        e.cases++;
        if (!res.outcome.accepted) e.rejected++;
      }
      void m;
      if (res.outcome.accepted) report.accepted++;
      else {
        report.rejected++;
        bump(report.rejectedBy, res.outcome.by);
      }
    } catch (e) {
      const f = e instanceof CaseFailure ? e : new CaseFailure("crash", `harness: ${(e as Error)?.stack ?? e}`);
      report.failures.push({ target: t.name, index: i, kind: f.kind, detail: f.message.slice(0, 2000), mutators: f.mutators || mutators.join("+") });
    }
    const ms = performance.now() - c0;
    report.maxCaseMs = Math.max(report.maxCaseMs, ms);
    if (ms > CASE_BUDGET_MS) {
      report.failures.push({ target: t.name, index: i, kind: "slow", detail: `case took ${ms.toFixed(0)} ms (budget ${CASE_BUDGET_MS} ms)`, mutators: "" });
    }
    report.cases++;
  }
  report.ms += performance.now() - t0;
}

/** Formats a report as the lines the fuzz script and test print. */
export function formatReport(r: TargetReport, top = 40): string {
  const lines = [
    `${r.target}: ${r.cases} cases (seed ${r.seed}), ${r.accepted} accepted, ${r.rejected} rejected, ${r.failures.length} failures; ` +
      `${(r.ms / 1000).toFixed(1)} s, slowest case ${r.maxCaseMs.toFixed(1)} ms`,
  ];
  const counters = Object.entries(r.counters).sort((a, b) => a[0].localeCompare(b[0]));
  if (counters.length) lines.push(`  checks: ${counters.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  lines.push("  rejected by:");
  const by = Object.entries(r.rejectedBy).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  for (const [k, v] of by.slice(0, top)) lines.push(`    ${String(v).padStart(7)}  ${k}`);
  if (by.length > top) lines.push(`    ${String(by.slice(top).reduce((a, [, v]) => a + v, 0)).padStart(7)}  (${by.length - top} more checks)`);
  lines.push("  by mutation (cases / rejected):");
  const muts = Object.entries(r.byMutator).sort((a, b) => b[1].cases - a[1].cases);
  lines.push("    " + muts.map(([k, v]) => `${k} ${v.cases}/${v.rejected}`).join(", "));
  for (const f of r.failures.slice(0, 20)) {
    lines.push(`  FAIL ${f.kind} case ${f.index} [${f.mutators}]: ${f.detail.split("\n").slice(0, 6).join("\n      ")}`);
  }
  if (r.failures.length > 20) lines.push(`  ... ${r.failures.length - 20} more failures`);
  return lines.join("\n");
}
