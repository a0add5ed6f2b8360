// npm run build: compiles assembly/ three ways with asc, optimizes each with wasm-opt (npm binaryen),
// checks what instructions each build really contains, and prints the sizes.
//   build/qwasm.simd.wasm     WASM SIMD (v128) kernels
//   build/qwasm.nosimd.wasm   no v128 at all: for wasm2c, interpreters and old engines
//   build/qwasm.relaxed.wasm  SIMD + relaxed-SIMD dot products (Deno, workerd, Chromium; never Node 20)
//   build/qwasm.lite.wasm     SIMD, int8 + fp32 ops only (assembly/lite.ts, QW_LOWBIT=0): the web runtime for
//                             models without sub-8-bit ops (the SDK picks it: docs/api.md)
//   build/qwasm.train.wasm    fp32 training kernels for the toolkit (src/train/), not part of the runtime
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (n) => `${root}node_modules/.bin/${n}`;
const BASE_FEATURES = ["--enable-bulk-memory", "--enable-sign-ext", "--enable-nontrapping-float-to-int", "--enable-mutable-globals"];
const BUILDS = {
  nosimd: { features: [] },
  simd: { features: ["--enable-simd"] },
  relaxed: { features: ["--enable-simd", "--enable-relaxed-simd"] },
  lite: { features: ["--enable-simd"], entry: "assembly/lite.ts" },
};
// The sub-8-bit kernels' exports (only in the full builds), and instructions that only their code uses: the lite
// build must have none of either (only the XNOR binary kernels count bits).
export const LOWBIT_EXPORT = /^(qs4|qs2|qbw|qb1|qlut)_/;
export const LOWBIT_ONLY_OPS = ["i64.popcnt", "i32.popcnt"];
// Exports whose reachable code must use a given instruction in a given build: the hot kernels.
export const HOT = {
  lite: { qs8_conv2d: "i32x4.dot_i16x8_s", qs8_fully_connected: "i32x4.dot_i16x8_s" },
  simd: { qs8_conv2d: "i32x4.dot_i16x8_s", qs8_fully_connected: "i32x4.dot_i16x8_s", qs4_conv2d: "i32x4.dot_i16x8_s", qb1_conv2d: "i64.popcnt", qlut_conv2d: "i8x16.swizzle" },
  relaxed: { qs8_conv2d: "i32x4.relaxed_dot_i8x16_i7x16_add_s", qs8_fully_connected: "i32x4.relaxed_dot_i8x16_i7x16_add_s", qs4_conv2d: "i32x4.relaxed_dot_i8x16_i7x16_add_s", qb1_conv2d: "i64.popcnt", qlut_conv2d: "i8x16.swizzle" },
};
const SIMD_OP = /\b(v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\.[a-z_0-9]+/g;
const RELAXED_OP = /\b[a-z0-9]+\.relaxed_[a-z_0-9]+/g;

/** Text of every function reachable from each export: { exportName: string }. */
function reachableText(bytes) {
  const mod = binaryen.readBinary(bytes);
  mod.setFeatures(binaryen.Features.All);
  const funcText = new Map();
  for (let i = 0; i < mod.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
    funcText.set(info.name, info.body ? binaryen.emitText(info.body) : "");
  }
  const out = {};
  for (let i = 0; i < mod.getNumExports(); i++) {
    const e = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (e.kind !== binaryen.ExternalFunction) continue;
    const seen = new Set([e.value]), todo = [e.value];
    let text = "";
    while (todo.length) {
      const f = todo.pop();
      const t = funcText.get(f) ?? "";
      text += t;
      for (const m of t.matchAll(/\(call \$(\S+?)[\s)]/g)) if (!seen.has(m[1])) { seen.add(m[1]); todo.push(m[1]); }
    }
    out[e.name] = text;
  }
  const all = [...funcText.values()].join("\n");
  mod.dispose();
  return { perExport: out, all };
}

function check(name, bytes) {
  const { perExport, all } = reachableText(bytes);
  const simdOps = new Set(all.match(SIMD_OP) ?? []);
  const relaxedOps = new Set(all.match(RELAXED_OP) ?? []);
  const problems = [];
  if (name === "nosimd" && simdOps.size) problems.push(`contains SIMD instructions: ${[...simdOps].slice(0, 5).join(", ")}`);
  if (name !== "relaxed" && relaxedOps.size) problems.push(`contains relaxed-SIMD instructions: ${[...relaxedOps].join(", ")}`);
  for (const [exp, op] of Object.entries(HOT[name] ?? {})) {
    if (!(exp in perExport)) problems.push(`export ${exp} is missing`);
    else if (!perExport[exp].includes(op)) problems.push(`${exp} does not use ${op}`);
  }
  for (const [exp, text] of Object.entries(perExport)) {
    if (name !== "nosimd" && /^(qs8|qs4|qs2|qbw|qb1|qlut|f32)_/.test(exp) && !SIMD_OP.test(text) && !/_bytes$/.test(exp)) {
      problems.push(`kernel ${exp} has no SIMD instructions`);
    }
    SIMD_OP.lastIndex = 0;
    // fp32 kernels must give the same bits in every build: no relaxed op (relaxed_madd may or may not fuse).
    if (/^f32_/.test(exp) && RELAXED_OP.test(text)) problems.push(`fp32 kernel ${exp} uses relaxed-SIMD instructions`);
    RELAXED_OP.lastIndex = 0;
  }
  if (name === "lite") {
    const low = Object.keys(perExport).filter((e) => LOWBIT_EXPORT.test(e));
    if (low.length) problems.push(`exports low-bit kernels: ${low.join(", ")}`);
    for (const op of LOWBIT_ONLY_OPS) if (all.includes(op)) problems.push(`contains ${op} (low-bit kernel code)`);
  }
  return { problems, simdCount: simdOps.size, relaxed: [...relaxedOps] };
}

mkdirSync(`${root}build`, { recursive: true });
let failed = false;
for (const [name, { features, entry = "assembly/index.ts" }] of Object.entries(BUILDS)) {
  const out = `${root}build/qwasm.${name}.wasm`;
  execFileSync(bin("asc"), [entry, "--target", name], { cwd: root, stdio: "inherit" });
  execFileSync(bin("wasm-opt"), [out, "-o", out, "-O3", "--mvp-features", ...BASE_FEATURES, ...features], { cwd: root, stdio: "inherit" });
  const bytes = readFileSync(out);
  const { problems, simdCount, relaxed } = check(name, bytes);
  const what = name === "nosimd" ? "no SIMD instructions" : `${simdCount} distinct SIMD instructions` + (relaxed.length ? `, relaxed: ${relaxed.join(", ")}` : "");
  console.log(`${`build/qwasm.${name}.wasm`.padEnd(26)} ${String(statSync(out).size).padStart(7)} bytes  ${problems.length ? "FAILED" : "ok"}: ${what}`);
  for (const p of problems) console.error(`  ${name}: ${p}`);
  failed ||= problems.length > 0;
}
// The training kernels (src/train/, the toolkit only): a separate module, so the runtime builds above do not grow.
{
  const out = `${root}build/qwasm.train.wasm`;
  execFileSync(bin("asc"), ["--config", "assembly/train/asconfig.json"], { cwd: root, stdio: "inherit" });
  execFileSync(bin("wasm-opt"), [out, "-o", out, "-O3", "--mvp-features", ...BASE_FEATURES, "--enable-simd"], { cwd: root, stdio: "inherit" });
  console.log(`${"build/qwasm.train.wasm".padEnd(26)} ${String(statSync(out).size).padStart(7)} bytes  (training kernels, toolkit only)`);
}
if (failed) {
  console.error("build: opcode checks failed");
  process.exit(1);
}
