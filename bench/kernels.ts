// npm run bench:kernels: GMAC/s of every kernel family, int8 and fp32, in each build, on ResNet- and
// MobileNet-style shapes; median of repeated timed runs. SIMD and no-SIMD run here in Node; the relaxed
// build runs in Deno (this same file, spawned with --build relaxed --json), since Node 20 must not run it.
// Flags: --build NAME (one build only), --json (machine-readable rows), --quick (fewer repeats), --filter REGEX
// (only the benches whose name matches), --min (the fastest sample instead of the median: on a shared, loaded
// machine the least disturbed one).
import { KernelHost } from "../src/wasm/kernels.ts";
import { readBuild, type BuildName } from "../src/wasm/module.ts";
import { benches, type Bench } from "./kernel-benches.ts";

declare const Deno: any;
const args: string[] = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const quick = flag("--quick");

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
  return samples[flag("--min") ? 0 : samples.length >> 1];
}

export interface Row { name: string; macs: number; build: BuildName; gmacs: number; ms: number }

async function runBuild(build: BuildName): Promise<Row[]> {
  const host = await KernelHost.create(readBuild(build));
  // --filter REGEX: only the benches whose name matches
  const filter = opt("--filter") ? new RegExp(opt("--filter")!) : undefined;
  return benches.filter((b) => !filter || filter.test(b.name)).map((b: Bench) => {
    host.reset();
    const run = b.setup(host);
    const ms = timeIt(run);
    return { name: b.name, macs: b.macs, build, ms, gmacs: b.macs / ms / 1e6 };
  });
}

async function main() {
  const only = opt("--build") as BuildName | undefined;
  const builds: BuildName[] = only ? [only] : ["simd", "relaxed", "nosimd"];
  const rows: Row[] = [];
  for (const build of builds) {
    if (build === "relaxed" && typeof Deno === "undefined") {
      const { execFileSync } = await import("node:child_process");
      const { existsSync } = await import("node:fs");
      const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
      if (!existsSync(deno)) { console.error("relaxed build skipped: npm package deno is not installed"); continue; }
      const out = execFileSync(deno, ["run", "--quiet", "--no-lock", "--allow-read", "--allow-env", new URL(import.meta.url).pathname,
        "--build", "relaxed", "--json", ...(quick ? ["--quick"] : []), ...(flag("--min") ? ["--min"] : []), ...(opt("--filter") ? ["--filter", opt("--filter")!] : [])], { encoding: "utf8", maxBuffer: 16 << 20 });
      rows.push(...JSON.parse(out.trim().split("\n").pop()!));
      continue;
    }
    rows.push(...(await runBuild(build)));
  }
  if (flag("--json")) { console.log(JSON.stringify(rows)); return; }
  const present = builds.filter((b) => rows.some((r) => r.build === b));
  const host = typeof Deno !== "undefined" ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
  console.log(`\nKernel throughput, GMAC/s (${flag("--min") ? "fastest sample" : "median"}), one thread, ${host}${present.includes("relaxed") ? " (relaxed build in Deno)" : ""}\n`);
  const w = Math.max(...benches.map((b) => b.name.length));
  console.log(`| ${"kernel / shape".padEnd(w)} | MMAC  | ${present.map((b) => b.padStart(7)).join(" | ")} |`);
  console.log(`|${"-".repeat(w + 2)}|-------|${present.map(() => "---------").join("|")}|`);
  for (const b of benches) {
    if (!rows.some((x) => x.name === b.name)) continue;
    const cells = present.map((build) => {
      const r = rows.find((x) => x.name === b.name && x.build === build);
      return (r ? r.gmacs.toFixed(2) : "-").padStart(7);
    });
    console.log(`| ${b.name.padEnd(w)} | ${(b.macs / 1e6).toFixed(2).padStart(5)} | ${cells.join(" | ")} |`);
  }
}

await main();
