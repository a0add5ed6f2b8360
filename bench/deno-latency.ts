// The relaxed-SIMD build's own figures (npm run bench spawns this under Deno, which runs that build; Node 20
// does not): batch-1 median latency and batch-64 throughput of qwasm int8 models through the SDK, the relaxed,
// the SIMD and the lite build side by side (rounds interleaved), wall clock and CPU time of the process.
//   deno run --allow-read bench/deno-latency.ts --rounds R --per-round N --b64-runs M MODEL.qwm...
// Prints one JSON line: [{ file, build, b1_ms, b1_cpu_ms, b64_img_s, b64_cpu_img_s }].
import process from "node:process";
import { loadModel } from "../sdk/core/model.ts";

declare const Deno: { args: string[]; readFileSync(p: string | URL): Uint8Array };
const args = Deno.args;
const num = (n: string, d: number) => { const i = args.indexOf(n); return i >= 0 ? Number(args[i + 1]) : d; };
const rounds = num("--rounds", 10), perRound = num("--per-round", 10), b64Runs = num("--b64-runs", 5);
const files = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
const wasm = (b: string) => Deno.readFileSync(new URL(`../build/qwasm.${b}.wasm`, import.meta.url));
const BUILDS = ["relaxed", "simd", "lite"] as const; // lite: what browsers and Deno now pick for int8 models
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const out: { file: string; build: string; b1_ms: number; b1_cpu_ms: number; b64_img_s: number; b64_cpu_img_s: number }[] = [];
for (const file of files) {
  const qwm = Deno.readFileSync(file);
  const models = await Promise.all(BUILDS.map((b) => loadModel(qwm, { wasm: { [b]: wasm(b) }, build: b })));
  const [H, W, C] = models[0].info.input.shape;
  const per = H * W * C;
  const px = new Uint8Array(64 * per).map((_, i) => (i * 2654435761) >>> 24);
  const singles = Array.from({ length: 16 }, (_, i) => px.subarray(i * per, (i + 1) * per));
  for (const m of models) { for (let i = 0; i < 20; i++) m.run(singles[i & 15]); m.run(px, { batch: 64 }); }
  const t1 = models.map(() => [] as number[]), t64 = models.map(() => [] as number[]);
  const c1 = models.map(() => [] as number[]), c64 = models.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    models.forEach((m, k) => {
      for (let i = 0; i < perRound; i++) {
        const c = cpuMs(), t = performance.now();
        m.run(singles[(r * perRound + i) & 15]);
        t1[k].push(performance.now() - t);
        c1[k].push(cpuMs() - c);
      }
    });
  }
  for (let r = 0; r < b64Runs; r++) {
    models.forEach((m, k) => {
      const c = cpuMs(), t = performance.now();
      m.run(px, { batch: 64 });
      t64[k].push(performance.now() - t);
      c64[k].push(cpuMs() - c);
    });
  }
  models.forEach((m, k) => {
    out.push({
      file, build: m.info.build, b1_ms: median(t1[k]), b1_cpu_ms: median(c1[k]),
      b64_img_s: 64000 / median(t64[k]), b64_cpu_img_s: 64000 / median(c64[k]),
    });
    m.dispose();
  });
}
console.log(JSON.stringify(out));
