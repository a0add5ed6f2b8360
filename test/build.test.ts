// The three full builds and the lite build, checked independently of scripts/build.mjs with wabt's disassembler:
// no-SIMD has no 0xFD-prefixed (SIMD) opcode at all, SIMD has the int8 dot product, relaxed has the relaxed
// dot (opcode 0xFD 0x113), plain SIMD has no relaxed opcode; all export the same functions; size budget.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import binaryen from "binaryen";
import { BUILDS, buildPath, readBuild } from "../src/wasm/module.ts";
import { findTool, testIf } from "./helpers/tools.ts";

const objdump = findTool("wasm-objdump");
const disasm = (b: (typeof BUILDS)[number]) =>
  execFileSync(objdump!, ["-d", buildPath(b)], { encoding: "utf8", maxBuffer: 64 << 20 });
const SIMD_LINE = /^\s*[0-9a-f]+: fd /m;
const RELAXED_LINE = /^\s*[0-9a-f]+: fd (8[0-9a-f]|9[0-3]) 02 /m; // opcodes 0x100..0x113

testIf(!!objdump, "wasm-objdump: no-SIMD build has no SIMD opcode", "wasm-objdump (Debian wabt) is not installed", () => {
  const text = disasm("nosimd");
  assert.ok(text.includes("i32.mul"), "disassembly looks empty");
  assert.not.match(text, SIMD_LINE);
});

testIf(!!objdump, "wasm-objdump: SIMD build uses i32x4.dot_i16x8_s and no relaxed opcode", "wasm-objdump (Debian wabt) is not installed", () => {
  const text = disasm("simd");
  assert.match(text, /i32x4\.dot_i16x8_s/);
  assert.not.match(text, RELAXED_LINE);
});

testIf(!!objdump, "wasm-objdump: relaxed build uses the relaxed int8 dot (0xFD 0x113)", "wasm-objdump (Debian wabt) is not installed", () => {
  assert.match(disasm("relaxed"), /: fd 93 02 /);
});

// Export names read with binaryen: Node 20 cannot compile the relaxed build.
function exportNames(bytes: Uint8Array): string {
  const mod = binaryen.readBinary(bytes);
  const names: string[] = [];
  for (let i = 0; i < mod.getNumExports(); i++) names.push(binaryen.getExportInfo(mod.getExportByIndex(i)).name);
  mod.dispose();
  return names.sort().join(",");
}

test("all builds export the same functions", () => {
  const names = BUILDS.map((b) => exportNames(readBuild(b)));
  assert.is(names[1], names[0]);
  assert.is(names[2], names[0]);
  assert.ok(names[0].includes("qs8_conv2d"));
});

// The lite build (build/qwasm.lite.wasm, assembly/lite.ts compiled with QW_LOWBIT=0): SIMD, the int8 + fp32 ops
// only. The web runtime's size goal (npm run size: <= 30 KiB gzip with the app) is met with it.
const LITE = `${buildPath("simd").replace(/qwasm\.simd\.wasm$/, "")}qwasm.lite.wasm`;
const LOWBIT_EXPORT = /^(qs4|qs2|qbw|qb1|qlut)_/;

test("lite build: the full builds' exports minus the low-bit kernels; within its 36 KB budget", () => {
  const lite = exportNames(readFileSync(LITE)).split(","), full = exportNames(readBuild("simd")).split(",");
  assert.ok(full.some((e) => LOWBIT_EXPORT.test(e)), "the full build exports the low-bit kernels");
  assert.equal(lite, full.filter((e) => !LOWBIT_EXPORT.test(e)));
  assert.ok(lite.includes("qwm_load") && lite.includes("qs8_conv2d") && lite.includes("f32_conv2d"));
  // 33,365 bytes when split off (the full SIMD build: 65,310)
  assert.ok(statSync(LITE).size <= 36 * 1024, `lite: ${statSync(LITE).size} bytes`);
  assert.ok(statSync(LITE).size < statSync(buildPath("simd")).size * 0.6, "lite is well under the full build");
});

testIf(!!objdump, "wasm-objdump: lite build uses i32x4.dot_i16x8_s, no relaxed opcode, no popcnt (XNOR kernels only)", "wasm-objdump (Debian wabt) is not installed", () => {
  const text = execFileSync(objdump!, ["-d", LITE], { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.match(text, /i32x4\.dot_i16x8_s/);
  assert.not.match(text, RELAXED_LINE);
  assert.not.match(text, /popcnt/);
  assert.match(disasm("simd"), /i64\.popcnt/); // the check can see it where it is
});

// 40 KB until issue #6 added the sub-8-bit kernel families (int4 conv/dense/depthwise, 2-bit/ternary, BWN,
// XNOR-popcount, ~10 KB with their validator and interpreter cases): 52 KB, pending a decision on splitting them
// into an optional module. 55 KB with the binary layers and low-bit depthwise ops (ops 34-39: SignQb1, XNOR
// conv / dense / depthwise, 2-bit / ternary / BWN depthwise, their validator and interpreter cases: +7.1 KB).
// 64 KB since the faster low-bit kernels and the codebook ops (62,738 bytes; 63,925 with the binary and codebook-depthwise work; 65,310 of the 65,536 with the int4 paths of issue 6): the split was decided the other way
// round, a lite build without them (above) for the web, so the full builds no longer carry the web size goal.
test("full builds within their 64 KB budget", () => {
  for (const b of BUILDS) assert.ok(statSync(buildPath(b)).size <= 64 * 1024, `${b}: ${statSync(buildPath(b)).size} bytes`);
});

test.run();
