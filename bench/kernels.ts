// npm run bench:kernels: GMAC/s of every kernel family, int8 and fp32, in each build, on ResNet- and
// MobileNet-style shapes; median of repeated timed runs. SIMD and no-SIMD run here in Node; the relaxed
// build runs in Deno (this same file, spawned with --build relaxed --json), since Node 20 must not run it.
// Flags: --build NAME (one build only), --json (machine-readable rows), --quick (fewer repeats),
// --only REGEX (only the benches whose name matches, plus the int8 benches they are compared with).
// The table is followed by the sub-8-bit kernels' throughput as a multiple of the int8 kernel of the same shape
// (binary XNOR: binary MACs against int8 MACs), from the same run.
import { KernelHost } from "../src/wasm/kernels.ts";
import { readBuild, type BuildName } from "../src/wasm/module.ts";
import { benches, type Bench } from "./kernel-benches.ts";

declare const Deno: any;
const args: string[] = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const quick = flag("--quick");
const only = opt("--only");

/** The int8 bench a sub-8-bit bench is compared with: the same shape, qs8 weights. */
export const int8Peer = (name: string): string | undefined =>
  /^(qs4|qs2 ternary|qs2|qbw|qb1) (conv2d|dwconv2d|dense) /.test(name) ? name.replace(/^(qs4|qs2 ternary|qs2|qbw|qb1) /, "qs8 ") : undefined;

function selected(): Bench[] {
  if (!only) return benches;
  const re = new RegExp(only);
  const names = new Set<string>();
  for (const b of benches) {
    if (!re.test(b.name)) continue;
    names.add(b.name);
    const peer = int8Peer(b.name);
    if (peer) names.add(peer);
  }
  return benches.filter((b) => names.has(b.name));
}

/** Median milliseconds per call of `run`, each sample long enough (>= 10 ms) to be timed reliably. */
function timeIt(run: () => void): number {
  run();
  let n = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < n; i++) run();
    const dt = performance.now() - t;
    if (dt >= 10) break;
    n *= 2;
  }
  const samples: number[] = [];
  for (let s = 0; s < (quick ? 5 : 15); s++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) run();
    samples.push((performance.now() - t) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

export interface Row { name: string; macs: number; build: BuildName; gmacs: number; ms: number }

async function runBuild(build: BuildName): Promise<Row[]> {
  const host = await KernelHost.create(readBuild(build));
  return selected().map((b: Bench) => {
    host.reset();
    const run = b.setup(host);
    const ms = timeIt(run);
    return { name: b.name, macs: b.macs, build, ms, gmacs: b.macs / ms / 1e6 };
  });
}

async function main() {
  const onlyBuild = opt("--build") as BuildName | undefined;
  const builds: BuildName[] = onlyBuild ? [onlyBuild] : ["simd", "relaxed", "nosimd"];
  const rows: Row[] = [];
  for (const build of builds) {
    if (build === "relaxed" && typeof Deno === "undefined") {
      const { execFileSync } = await import("node:child_process");
      const { existsSync } = await import("node:fs");
      const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
      if (!existsSync(deno)) { console.error("relaxed build skipped: npm package deno is not installed"); continue; }
      const out = execFileSync(deno, ["run", "--quiet", "--no-lock", "--allow-read", "--allow-env", new URL(import.meta.url).pathname,
        "--build", "relaxed", "--json", ...(quick ? ["--quick"] : []), ...(only ? ["--only", only] : [])], { encoding: "utf8", maxBuffer: 16 << 20 });
      rows.push(...JSON.parse(out.trim().split("\n").pop()!));
      continue;
    }
    rows.push(...(await runBuild(build)));
  }
  if (flag("--json")) { console.log(JSON.stringify(rows)); return; }
  const present = builds.filter((b) => rows.some((r) => r.build === b));
  const host = typeof Deno !== "undefined" ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
  console.log(`\nKernel throughput, GMAC/s (median), one thread, ${host}${present.includes("relaxed") ? " (relaxed build in Deno)" : ""}\n`);
  const list = selected();
  const w = Math.max(...list.map((b) => b.name.length));
  console.log(`| ${"kernel / shape".padEnd(w)} | MMAC  | ${present.map((b) => b.padStart(7)).join(" | ")} |`);
  console.log(`|${"-".repeat(w + 2)}|-------|${present.map(() => "---------").join("|")}|`);
  for (const b of list) {
    const cells = present.map((build) => {
      const r = rows.find((x) => x.name === b.name && x.build === build);
      return (r ? r.gmacs.toFixed(2) : "-").padStart(7);
    });
    console.log(`| ${b.name.padEnd(w)} | ${(b.macs / 1e6).toFixed(2).padStart(5)} | ${cells.join(" | ")} |`);
  }
  const low = list.filter((b) => int8Peer(b.name) && list.some((x) => x.name === int8Peer(b.name)));
  if (low.length === 0) return;
  console.log(`\nSub-8-bit kernels as a multiple of the int8 kernel of the same shape (same run, same build)\n`);
  console.log(`| ${"kernel / shape".padEnd(w)} | ${present.map((b) => b.padStart(7)).join(" | ")} |`);
  console.log(`|${"-".repeat(w + 2)}|${present.map(() => "---------").join("|")}|`);
  for (const b of low) {
    const cells = present.map((build) => {
      const r = rows.find((x) => x.name === b.name && x.build === build);
      const q = rows.find((x) => x.name === int8Peer(b.name) && x.build === build);
      return (r && q ? `${(r.gmacs / q.gmacs).toFixed(2)}x` : "-").padStart(7);
    });
    console.log(`| ${b.name.padEnd(w)} | ${cells.join(" | ")} |`);
  }
}

if (!(globalThis as any).__noMain) await main();
