// npm run bench:kernels: GMAC/s of every kernel family, int8 and fp32, in each build, on ResNet- and
// MobileNet-style shapes; median and fastest of 41 round-robin samples (see runBuild). SIMD and no-SIMD run
// here in Node; the relaxed build runs in Deno (this same file, spawned with --build relaxed --json), since
// Node 20 must not run it.
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
const SUB = /^(qs4|qs2 ternary|qs2|qbw|qb1|qlut (?:kmeans|pow2) b=\d) (conv2d|dwconv2d|dense) /;
export const int8Peer = (name: string): string | undefined => (SUB.test(name) ? name.replace(SUB, "qs8 $2 ") : undefined);

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

export interface Row { name: string; macs: number; build: BuildName; gmacs: number; ms: number; best: number }

/**
 * Every selected bench of one build, timed round-robin: all are set up side by side, each gets a call count
 * whose sample lasts >= 3 ms, then each of 41 rounds (--quick: 11) times one sample of each. On a shared
 * machine a busy spell then hits all benches alike instead of a few. Per bench: the median sample (gmacs, ms)
 * and the fastest one (best, GMAC/s), the better estimate of the kernel's own speed when other jobs compete.
 */
async function runBuild(build: BuildName): Promise<Row[]> {
  const host = await KernelHost.create(readBuild(build));
  const list = selected().map((b: Bench) => {
    const run = b.setup(host);
    for (let i = 0; i < 3; i++) run();
    let n = 1;
    for (;;) {
      const t = performance.now();
      for (let i = 0; i < n; i++) run();
      if (performance.now() - t >= 3) break;
      n *= 2;
    }
    return { b, run, n, samples: [] as number[] };
  });
  for (let round = 0; round < (quick ? 11 : 41); round++) {
    for (const e of list) {
      const t = performance.now();
      for (let i = 0; i < e.n; i++) e.run();
      e.samples.push((performance.now() - t) / e.n);
    }
  }
  return list.map(({ b, samples }) => {
    samples.sort((x, y) => x - y);
    const ms = samples[samples.length >> 1];
    return { name: b.name, macs: b.macs, build, ms, gmacs: b.macs / ms / 1e6, best: b.macs / samples[0] / 1e6 };
  });
}

async function main() {
  // Steady-state code only: V8 compiles every function with TurboFan up front instead of starting in Liftoff
  // and tiering up in the background, which on a busy machine can take longer than a bench (Deno gets the same
  // flag on its command line below).
  if (typeof Deno === "undefined") (await import("node:v8")).setFlagsFromString("--no-liftoff");
  const onlyBuild = opt("--build") as BuildName | undefined;
  const builds: BuildName[] = onlyBuild ? [onlyBuild] : ["simd", "relaxed", "nosimd"];
  const rows: Row[] = [];
  for (const build of builds) {
    if (build === "relaxed" && typeof Deno === "undefined") {
      const { execFileSync } = await import("node:child_process");
      const { existsSync } = await import("node:fs");
      const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
      if (!existsSync(deno)) { console.error("relaxed build skipped: npm package deno is not installed"); continue; }
      const out = execFileSync(deno, ["run", "--quiet", "--no-lock", "--allow-read", "--allow-env", "--v8-flags=--no-liftoff", new URL(import.meta.url).pathname,
        "--build", "relaxed", "--json", ...(quick ? ["--quick"] : []), ...(only ? ["--only", only] : [])], { encoding: "utf8", maxBuffer: 16 << 20 });
      rows.push(...JSON.parse(out.trim().split("\n").pop()!));
      continue;
    }
    rows.push(...(await runBuild(build)));
  }
  if (flag("--json")) { console.log(JSON.stringify(rows)); return; }
  const present = builds.filter((b) => rows.some((r) => r.build === b));
  const host = typeof Deno !== "undefined" ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
  console.log(`\nKernel throughput, GMAC/s: median (fastest sample), one thread, ${host}${present.includes("relaxed") ? " (relaxed build in Deno)" : ""}\n`);
  const list = selected();
  const w = Math.max(...list.map((b) => b.name.length));
  console.log(`| ${"kernel / shape".padEnd(w)} | MMAC  | ${present.map((b) => b.padStart(15)).join(" | ")} |`);
  console.log(`|${"-".repeat(w + 2)}|-------|${present.map(() => "-----------------").join("|")}|`);
  for (const b of list) {
    const cells = present.map((build) => {
      const r = rows.find((x) => x.name === b.name && x.build === build);
      return (r ? `${r.gmacs.toFixed(2)} (${r.best.toFixed(2)})` : "-").padStart(15);
    });
    console.log(`| ${b.name.padEnd(w)} | ${(b.macs / 1e6).toFixed(2).padStart(5)} | ${cells.join(" | ")} |`);
  }
  const low = list.filter((b) => int8Peer(b.name) && list.some((x) => x.name === int8Peer(b.name)));
  if (low.length === 0) return;
  console.log(`\nSub-8-bit kernels as a multiple of the int8 kernel of the same shape (same run, same build): median`);
  console.log(`against median, and in brackets fastest sample against fastest sample\n`);
  console.log(`| ${"kernel / shape".padEnd(w)} | ${present.map((b) => b.padStart(15)).join(" | ")} |`);
  console.log(`|${"-".repeat(w + 2)}|${present.map(() => "-----------------").join("|")}|`);
  for (const b of low) {
    const cells = present.map((build) => {
      const r = rows.find((x) => x.name === b.name && x.build === build);
      const q = rows.find((x) => x.name === int8Peer(b.name) && x.build === build);
      return (r && q ? `${(r.gmacs / q.gmacs).toFixed(2)}x (${(r.best / q.best).toFixed(2)}x)` : "-").padStart(15);
    });
    console.log(`| ${b.name.padEnd(w)} | ${cells.join(" | ")} |`);
  }
}

if (!(globalThis as any).__noMain) await main();
