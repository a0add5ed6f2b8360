// The microcontroller host (examples/mcu): `qwasm export-c`, the fixed linear memory, and the wasm2c C program
// built twice and run on an embedded image: with the host gcc, and for a Cortex-M4 under qemu-system-arm
// (mps2-an386, semihosting). Each gives the class and the raw output bytes of Node's run; the Cortex-M build's
// flash and RAM footprints are printed as arm-none-eabi-size sees them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildProgram, CPUS, defaultModel, fixedMemoryWasm, footprint, footprintTable, generateModule, linearMemory, MCU_DIR, missingTools,
  modelPixels, runHost, runQemu, writeImages,
} from "../scripts/build-mcu.ts";
import { Runner } from "../src/engine/runner.ts";
import { readBuild } from "../src/wasm/module.ts";
import { ROOT, testIf } from "./helpers/tools.ts";

const qwasm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/qwasm.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, QWASM_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tmp = mkdtempSync(join(tmpdir(), "qwasm-mcu-"));
const modelPath = defaultModel();
const qwm = new Uint8Array(readFileSync(modelPath));
const IMAGE = join(ROOT, "models/samples/09_ankle_boot_0000.png");
const img = modelPixels(qwm, IMAGE, 1);
const node = (await Runner.create(readBuild("nosimd"), qwm)).runPixels(img.pixels, 1) as Int8Array;
const nodeClass = node.indexOf(Math.max(...node));
const hostMissing = missingTools();
const armMissing = missingTools({ arm: true });

test("export-c writes the model as a 16-byte aligned C array with its sizes", () => {
  const h = join(tmp, "model.h");
  const r = qwasm("export-c", modelPath, "--out", h, "--name", "fashion_model");
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /wrote .*fashion_model\[\d+\] \(16-byte aligned\)/);
  const text = readFileSync(h, "utf8");
  assert.match(text, new RegExp(`#define FASHION_MODEL_BYTES ${qwm.length}u`));
  assert.match(text, /#define FASHION_MODEL_INPUT_H 28u/);
  assert.match(text, /QWM_ALIGNAS16 static const uint8_t fashion_model\[FASHION_MODEL_BYTES\]/);
  const bytes = Uint8Array.from(text.slice(text.indexOf("= {")).match(/0x[0-9a-f]{2}/g)!.map((x) => parseInt(x, 16)));
  assert.equal(bytes, qwm);
  const j = qwasm("export-c", modelPath, "--out", h, "--json");
  assert.is(j.code, 0);
  assert.equal(JSON.parse(j.out), { out: h, name: "qwm_model", bytes: qwm.length, align: 16 });
});

test("export-c: user mistakes give one line and a non-zero exit", () => {
  const bad = join(tmp, "bad.qwm");
  const corrupt = qwm.slice();
  corrupt[200] ^= 0xff;
  writeFileSync(bad, corrupt);
  const cases: [string[], RegExp, number][] = [
    [["export-c", modelPath], /export-c needs --out/, 2],
    [["export-c", modelPath, "--out", join(tmp, "x.h"), "--name", "9lives"], /--name must be a C identifier/, 2],
    [["export-c", "models/fashion_mnist_dsres.onnx", "--out", join(tmp, "x.h")], /should be a \.qwm file/, 2],
    [["export-c", bad, "--out", join(tmp, "x.h")], /invalid model/, 1],
  ];
  for (const [args, re, code] of cases) {
    const r = qwasm(...args);
    assert.is(r.code, code, `${args.join(" ")}: exit ${r.code}`);
    assert.match(r.err, re);
    assert.is(r.err.trim().split("\n").length, 1, r.err);
  }
});

testIf(!hostMissing.length, "the export-c array compiles with gcc (C11 and C++), is 16-byte aligned and holds the file's bytes",
  `Debian packages missing: ${hostMissing.join(" ")}`, () => {
    const h = join(tmp, "model.h");
    assert.is(qwasm("export-c", modelPath, "--out", h).code, 0);
    const src = join(tmp, "check.c");
    writeFileSync(src, `#include <stdio.h>
#include "model.h"
int main(void) {
  if ((unsigned long)(const void *)qwm_model % 16 != 0) return 3;
  fwrite(qwm_model, 1, QWM_MODEL_BYTES, stdout);
  return 0;
}
`);
    for (const [cc, std, file] of [["gcc", "-std=c11", "check.c"], ["g++", "-std=c++11", "check.cc"]] as const) {
      if (cc === "g++" && spawnSync("sh", ["-c", "command -v g++"]).status !== 0) continue;
      if (file !== "check.c") writeFileSync(join(tmp, file), readFileSync(src));
      const c = spawnSync(cc, [std, "-Wall", "-Werror", "-pedantic", "-I", tmp, join(tmp, file), "-o", join(tmp, `check-${cc}`)], { encoding: "utf8" });
      assert.is(c.status, 0, c.stderr);
      const r = spawnSync(join(tmp, `check-${cc}`), { maxBuffer: 1 << 24 });
      assert.is(r.status, 0, `${cc}: misaligned (exit ${r.status})`);
      assert.equal(new Uint8Array(r.stdout), qwm);
    }
  });

test("the MCU module's memory is fixed: min = max = the pages the host needs, and it never grows", async () => {
  const { pages, used } = await linearMemory(qwm);
  assert.ok(used > qwm.length && used <= pages * 65536, `used ${used}, pages ${pages}`);
  const wasm = fixedMemoryWasm(readBuild("nosimd"), pages);
  assert.ok(WebAssembly.validate(wasm as Uint8Array<ArrayBuffer>));
  const instance = await WebAssembly.instantiate(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), {});
  const e = instance.exports as any;
  assert.is(e.memory.buffer.byteLength, pages * 65536);
  assert.is(e.memory.grow(0), pages);
  assert.throws(() => e.memory.grow(1));
  const mp = e.qw_alloc(qwm.length);
  new Uint8Array(e.memory.buffer, mp, qwm.length).set(qwm);
  assert.is(e.qwm_load(mp, qwm.length, 0), 0);
  assert.is(e.qw_alloc(pages * 65536), 0, "an allocation past the fixed memory fails instead of growing it");
});

const gen = hostMissing.length ? null : await generateModule(modelPath);
const imagesH = join(MCU_DIR, "test/images.h");
if (gen) writeImages(imagesH, img);
const expectLine = (text: string) => {
  const line = text.split("\n").find((l) => l.startsWith("image 0 "));
  assert.ok(line, text);
  return line!;
};

testIf(!!gen, "the wasm2c host built with the host gcc: class and raw output of Node's run", `Debian packages missing: ${hostMissing.join(" ")}`, () => {
  const r = runHost(buildProgram(gen!, "host", imagesH, join(MCU_DIR, "test/qwasm-mcu-host")));
  console.log(`  host gcc:\n${r.text.trimEnd().replace(/^/gm, "    ")}`);
  assert.is(r.images.length, 1);
  assert.equal(Array.from(r.images[0].raw), Array.from(node));
  assert.is(r.images[0].cls, nodeClass);
  assert.is(r.images[0].label, "Ankle boot");
  assert.match(expectLine(r.text), /^image 0 \(09_ankle_boot_0000\.png\): class 9 Ankle boot, raw -?\d+(,-?\d+){9}$/);
});

testIf(!!gen && !armMissing.length, "the wasm2c host on a Cortex-M4 (qemu mps2-an386, semihosting): Node's bytes; flash and RAM footprints",
  `Debian packages missing: ${armMissing.join(" ")}`, () => {
    const elf = buildProgram(gen!, "m4", imagesH, join(MCU_DIR, "test/qwasm-mcu-m4.elf"));
    const r = runQemu("m4", elf, 300_000);
    const fp = footprint(elf, { model: qwm.length, images: img.bytes });
    console.log(`  ${CPUS.m4.name} under qemu-system-arm -M ${CPUS.m4.board}:\n${r.text.trimEnd().replace(/^/gm, "    ")}`);
    console.log(footprintTable([{ cpu: "m4", fp, stackPeak: r.stackPeak, heapUsed: r.heapUsed }]).replace(/^/gm, "  "));
    assert.equal(Array.from(r.images[0].raw), Array.from(node));
    assert.is(r.images[0].cls, nodeClass);
    // flash holds the code and the model (in .rodata); RAM holds the fixed linear memory, heap and stack
    assert.ok(fp.rodata >= qwm.length + img.bytes, `.rodata ${fp.rodata}`);
    assert.is(fp.linearMemory, gen!.pages * 65536);
    assert.ok(fp.dataBss >= fp.linearMemory);
    assert.ok(fp.flash < 4 << 20 && fp.ram < 4 << 20, "fits the board's 4 MiB SSRAMs");
    assert.ok(fp.code < 128 * 1024, `code ${fp.code}`);
    assert.ok(r.stackPeak! > 0 && r.stackPeak! < fp.stack, `stack peak ${r.stackPeak} of ${fp.stack}`);
    assert.ok(r.heapUsed! >= 0 && r.heapUsed! <= fp.heap, `heap ${r.heapUsed} of ${fp.heap}`);
  });

testIf(!!gen, "a linear memory too small for the model fails cleanly (it never grows)", `Debian packages missing: ${hostMissing.join(" ")}`, async () => {
  const small = await generateModule(modelPath, join(MCU_DIR, "small"), { pages: 1 });
  const exe = buildProgram(small, "host", imagesH, join(MCU_DIR, "small/qwasm-mcu-host"));
  const r = spawnSync(exe, { encoding: "utf8" });
  assert.is(r.status, 4, r.stdout + r.stderr);
  assert.match(r.stdout, /^error: linear memory too small for the model/m);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
