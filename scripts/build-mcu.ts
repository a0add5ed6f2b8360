// npm run mcu: the microcontroller host (examples/mcu) built twice and run: with the host gcc, and for an Arm
// Cortex-M under qemu-system-arm on an MPS2 board model with semihosting output; then the footprint table.
//
//   node --import tsx scripts/build-mcu.ts [--cpu m3|m4|m7|all] [--model M.qwm] [--image IMG.png]
//
// Steps (everything generated goes under build/mcu/):
//  1. the model: --model, else models/fashion_mnist_dsres.qwm, else the bundled ONNX model quantized (deterministic)
//  2. linear memory pages: the exact allocations the C host makes (model, its arena, one input, one output),
//     replayed on the no-SIMD build in Node
//  3. build/qwasm.nosimd.wasm with its memory declared fixed (min = max = those pages) -> wasm2c (Debian wabt)
//  4. `qwasm export-c` -> model.h; the images -> images.h
//  5. gcc (host) and arm-none-eabi-gcc (newlib nano + rdimon semihosting), run both, compare, print footprints
// The test suite (test/mcu.test.ts, test/determinism.test.ts) uses the functions exported here.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe } from "../src/api.ts";
import { readDataset, toModelPixels } from "../src/data/index.ts";
import type { Preprocess } from "../src/ir/graph.ts";
import { cBytes } from "../src/pack/c_header.ts";
import { Runner } from "../src/engine/runner.ts";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const MCU_DIR = join(ROOT, "build/mcu");
const SRC = join(ROOT, "examples/mcu");
const PAGE = 65536;

/** The Cortex-M cores we build for, each with the QEMU MPS2 board that has it. */
export const CPUS = {
  m3: { name: "cortex-m3", board: "mps2-an385", flags: ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"] },
  m4: { name: "cortex-m4", board: "mps2-an386", flags: ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"] },
  m7: { name: "cortex-m7", board: "mps2-an500", flags: ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"] },
} as const;
export type Cpu = keyof typeof CPUS;

// Same semantics on every target: explicit bounds checks (no guard pages), no contraction of a*b+c into a fused
// multiply-add (which would change fp32 results by an ulp on FPU cores), assertions off.
const COMMON_CFLAGS = ["-std=gnu11", "-O2", "-DNDEBUG", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0", "-ffp-contract=off", "-fno-strict-aliasing"];
// wasm2c's output is compiled quietly; our own sources with warnings as errors
const GENERATED_CFLAGS = ["-w"];
const OWN_CFLAGS = ["-Wall", "-Wextra", "-Werror"];

export function which(tool: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** Where Debian's wabt put wasm-rt.h (the header wasm2c's output includes). */
export function wabtInclude(): string | null {
  for (const d of ["/usr/src/wasm2c", "/usr/share/wabt/wasm2c", "/usr/include", "/usr/local/include"]) {
    if (existsSync(join(d, "wasm-rt.h"))) return d;
  }
  return null;
}

/** What the host needs; the names of the missing Debian packages (empty when everything is there). */
export function missingTools(opts: { arm?: boolean } = {}): string[] {
  const miss: string[] = [];
  if (!which("wasm2c") || !wabtInclude()) miss.push("wabt");
  if (!which("gcc")) miss.push("gcc");
  if (opts.arm) {
    if (!which("arm-none-eabi-gcc")) miss.push("gcc-arm-none-eabi");
    else if (!armHasNewlib()) miss.push("libnewlib-arm-none-eabi");
    if (!which("qemu-system-arm")) miss.push("qemu-system-arm");
  }
  return miss;
}

function armHasNewlib(): boolean {
  const r = spawnSync("arm-none-eabi-gcc", ["-print-file-name=librdimon_nano.a", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() !== "librdimon_nano.a";
}

function run(cmd: string, args: string[], opts: { cwd?: string; timeout?: number } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, encoding: "utf8", timeout: opts.timeout ?? 600_000, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}:\n${(r.stdout ?? "").slice(-4000)}${(r.stderr ?? "").slice(-4000)}`);
  }
  return r.stdout;
}

// ---- the model ---------------------------------------------------------------------------------------------

/** --model, the bundled .qwm, or the bundled ONNX model quantized into build/mcu/ (deterministic bytes). */
export function defaultModel(): string {
  const bundled = join(ROOT, "models/fashion_mnist_dsres.qwm");
  if (existsSync(bundled)) return bundled;
  const out = join(MCU_DIR, "fashion_mnist_dsres.qwm");
  const onnx = join(ROOT, "models/fashion_mnist_dsres.onnx");
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(onnx).mtimeMs) return out;
  mkdirSync(MCU_DIR, { recursive: true });
  run(process.execPath, [join(ROOT, "bin/qwasm.mjs"), "quantize", onnx, "--calib", join(ROOT, "models/data/fashion-train256-images-idx3-ubyte.gz"),
    "--out", out, "--mean", "0.286", "--std", "0.353", "--labels", join(ROOT, "models/fashion_mnist_labels.txt")]);
  return out;
}

/** The model's preprocessing and input shape, as the toolkit's readers want them. */
export function modelInput(qwm: Uint8Array): { H: number; W: number; C: number; pre: Preprocess } {
  const c = describe(qwm).contents;
  const p = c.preprocess;
  const [H, W, C] = c.tensors[c.inputTensor].shape;
  const pre: Preprocess = {
    channelOrder: (["rgb", "bgr", "gray"] as const)[p.channelOrder], resize: p.resize === 0 ? "stretch" : "shorter-side-crop",
    cropFraction: p.cropFraction, valueScale: p.valueScale, mean: p.mean, std: p.std,
  };
  return { H, W, C, pre };
}

/** Images (a dataset path: IDX, PNG, folder) as the model's uint8 pixels, as the SDK would feed them. */
export function modelPixels(qwm: Uint8Array, path: string, limit?: number): { pixels: Uint8Array; count: number; bytes: number; names: string[] } {
  const { H, W, C, pre } = modelInput(qwm);
  const ds = readDataset(path, { limit });
  const n = Math.min(limit ?? ds.images.length, ds.images.length);
  const bytes = H * W * C;
  const pixels = new Uint8Array(n * bytes);
  for (let i = 0; i < n; i++) pixels.set(toModelPixels(ds, i, H, W, C, pre), i * bytes);
  const names = n === 1 && ds.images.length === 1 ? [basename(path)] : Array.from({ length: n }, (_, i) => `${basename(path)}#${i}`);
  return { pixels, count: n, bytes, names };
}

// ---- linear memory -----------------------------------------------------------------------------------------

/**
 * The linear memory the C host needs, replaying its allocations on the no-SIMD build in Node: the model, its
 * arena (qwm_load), one input and one output buffer. Returns the pages and the byte count (the heap top).
 */
export async function linearMemory(qwm: Uint8Array): Promise<{ pages: number; used: number }> {
  const runner = await Runner.create(readFileSync(join(ROOT, "build/qwasm.nosimd.wasm")), qwm);
  const h = runner.host;
  h.alloc(runner.inputSize);
  h.alloc(h.exports.qwm_output_bytes());
  const used = h.exports.qw_heap_top() >>> 0;
  return { pages: Math.ceil(used / PAGE), used };
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function readLeb(b: Uint8Array, at: number): [number, number] {
  let v = 0, shift = 0, i = at;
  for (;;) {
    const x = b[i++];
    v += (x & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(x & 0x80)) return [v, i];
  }
}

/** The wasm module with its (single, 32-bit) memory declared as exactly `pages` pages: min = max, it never grows. */
export function fixedMemoryWasm(wasm: Uint8Array, pages: number): Uint8Array {
  if (wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) throw new Error("not a wasm module");
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  let at = 8, found = false;
  while (at < wasm.length) {
    const id = wasm[at];
    const [size, body] = readLeb(wasm, at + 1);
    const end = body + size;
    if (id === 5) {
      const [count] = readLeb(wasm, body);
      if (count !== 1) throw new Error(`expected one memory, found ${count}`);
      const content = [1, 0x01, ...leb(pages), ...leb(pages)];
      parts.push(Uint8Array.from([5, ...leb(content.length), ...content]));
      found = true;
    } else {
      parts.push(wasm.subarray(at, end));
    }
    at = end;
  }
  if (!found) throw new Error("the module defines no memory");
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

// ---- sources -----------------------------------------------------------------------------------------------

/** Writes only when the content differs, so that what was compiled from the file stays fresh. */
function writeIfChanged(file: string, bytes: Buffer): void {
  if (!existsSync(file) || !readFileSync(file).equals(bytes)) writeFileSync(file, bytes);
}

export interface Generated {
  dir: string;
  model: string;
  modelBytes: number;
  pages: number;
  used: number;
}

/**
 * wasm2c of the fixed-memory no-SIMD build, model.h (qwasm export-c) and wasm-rt.h, in `dir`. `pages` overrides
 * the linear memory size (tests use a too-small memory).
 */
export async function generateModule(modelPath = defaultModel(), dir = MCU_DIR, opts: { pages?: number } = {}): Promise<Generated> {
  mkdirSync(dir, { recursive: true });
  const qwm = readFileSync(modelPath);
  const need = await linearMemory(qwm);
  const pages = opts.pages ?? need.pages, used = need.used;
  const wasm = fixedMemoryWasm(readFileSync(join(ROOT, "build/qwasm.nosimd.wasm")), pages);
  writeFileSync(join(dir, "qwasm.mcu.wasm"), wasm);
  // wasm2c into a scratch name; the sources are replaced only when they change, so compiled objects are reused
  // (the .c includes the .h by its name, so the scratch copy lives in a folder of its own)
  mkdirSync(join(dir, "wasm2c.tmp"), { recursive: true });
  run("wasm2c", [join(dir, "qwasm.mcu.wasm"), "--module-name", "qwasm", "-o", join(dir, "wasm2c.tmp/qwasm.c")]);
  for (const f of ["qwasm.c", "qwasm.h"]) writeIfChanged(join(dir, f), readFileSync(join(dir, "wasm2c.tmp", f)));
  rmSync(join(dir, "wasm2c.tmp"), { recursive: true, force: true });
  const inc = wabtInclude();
  if (!inc) throw new Error("wasm-rt.h not found (Debian package wabt)");
  mkdirSync(join(dir, "wabt"), { recursive: true });
  writeIfChanged(join(dir, "wabt/wasm-rt.h"), readFileSync(join(inc, "wasm-rt.h"))); // alone: a cross compiler must not see /usr/include
  run(process.execPath, [join(ROOT, "bin/qwasm.mjs"), "export-c", modelPath, "--out", join(dir, "model.h")]);
  return { dir, model: modelPath, modelBytes: qwm.length, pages, used };
}

/** images.h: QW_IMAGE_COUNT images of QW_IMAGE_BYTES pixels, in flash (const). */
export function writeImages(file: string, img: { pixels: Uint8Array; count: number; bytes: number; names: string[] }): void {
  mkdirSync(dirname(file), { recursive: true });
  const rows: string[] = [];
  for (let i = 0; i < img.count; i++) rows.push(`  {\n${cBytes(img.pixels.subarray(i * img.bytes, (i + 1) * img.bytes), "    ")}\n  },`);
  writeFileSync(file, [
    "/* Generated by scripts/build-mcu.ts: the images as the model's uint8 pixels [H][W][C]; do not edit. */",
    "#ifndef QW_IMAGES_H_",
    "#define QW_IMAGES_H_",
    "#include <stdint.h>",
    `#define QW_IMAGE_COUNT ${img.count}u`,
    `#define QW_IMAGE_BYTES ${img.bytes}u`,
    "static const uint8_t qw_images[QW_IMAGE_COUNT][QW_IMAGE_BYTES] = {",
    ...rows,
    "};",
    "static const char *const qw_image_names[QW_IMAGE_COUNT] = {",
    ...img.names.map((n) => `  ${JSON.stringify(n.replace(/[^\x20-\x7e]/g, "?"))},`),
    "};",
    "#endif",
    "",
  ].join("\n"));
}

// ---- compiling ----------------------------------------------------------------------------------------------

export type Target = "host" | Cpu;

function targetCompiler(t: Target): { cc: string; flags: string[]; ldflags: string[]; extra: string[] } {
  if (t === "host") return { cc: "gcc", flags: [], ldflags: ["-lm"], extra: [join(SRC, "host/platform.c")] };
  return {
    cc: "arm-none-eabi-gcc",
    flags: [...CPUS[t].flags, "-ffunction-sections", "-fdata-sections", `-DQW_TARGET="${CPUS[t].name} on ${CPUS[t].board}"`],
    ldflags: ["--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles", "-T", join(SRC, "cortex-m/mps2.ld"), "-Wl,--gc-sections", "-lm"],
    extra: [join(SRC, "cortex-m/startup.c")],
  };
}

/** The wasm2c module and the runtime support compiled for `t` once (objects under gen.dir/<t>/). */
function moduleObjects(gen: Generated, t: Target): string[] {
  const { cc, flags } = targetCompiler(t);
  const dir = join(gen.dir, t);
  mkdirSync(dir, { recursive: true });
  const inc = ["-I", join(gen.dir, "wabt"), "-I", gen.dir, "-I", SRC];
  const objs: string[] = [];
  for (const [src, obj, warn] of [[join(gen.dir, "qwasm.c"), "qwasm.o", GENERATED_CFLAGS], [join(SRC, "qw_rt.c"), "qw_rt.o", OWN_CFLAGS]] as const) {
    const out = join(dir, obj);
    const stamp = `${cc} ${flags.join(" ")} pages=${gen.pages}`;
    const stampFile = `${out}.flags`;
    const deps = [src, join(gen.dir, "qwasm.c"), join(gen.dir, "qwasm.h"), join(gen.dir, "wabt/wasm-rt.h"), join(SRC, "qw_rt.h")];
    const fresh = existsSync(out) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp &&
      deps.every((d) => statSync(out).mtimeMs >= statSync(d).mtimeMs);
    if (!fresh) {
      run(cc, [...COMMON_CFLAGS, ...warn, ...flags, `-DQW_MEMORY_PAGES=${gen.pages}`, ...inc, "-c", src, "-o", out]);
      writeFileSync(stampFile, stamp);
    }
    objs.push(out);
  }
  return objs;
}

/** Compiles and links the host program for `t` with the images header `images`; returns the executable / ELF. */
export function buildProgram(gen: Generated, t: Target, images: string, out: string): string {
  const { cc, flags, ldflags, extra } = targetCompiler(t);
  const objs = moduleObjects(gen, t);
  const inc = ["-I", join(gen.dir, "wabt"), "-I", gen.dir, "-I", dirname(images), "-I", SRC];
  mkdirSync(dirname(out), { recursive: true });
  run(cc, [...COMMON_CFLAGS, ...OWN_CFLAGS, ...flags, `-DQW_MEMORY_PAGES=${gen.pages}`, ...inc, join(SRC, "main.c"), ...extra, ...objs, "-o", out, ...ldflags]);
  return out;
}

// ---- running ------------------------------------------------------------------------------------------------

export interface McuResult {
  text: string;
  images: { index: number; cls: number; label: string; raw: Int8Array }[];
  stackPeak?: number;
  heapUsed?: number;
  seconds: number;
}

export function parseOutput(text: string): McuResult {
  const images: McuResult["images"] = [];
  let stackPeak: number | undefined, heapUsed: number | undefined;
  for (const line of text.split("\n")) {
    const m = /^image (\d+) \(.*\): class (\d+)(.*), raw (-?\d+(?:,-?\d+)*)\s*$/.exec(line);
    if (m) images.push({ index: +m[1], cls: +m[2], label: m[3].trim(), raw: Int8Array.from(m[4].split(",").map(Number)) });
    const s = /^stack: peak (\d+) of/.exec(line);
    if (s) stackPeak = +s[1];
    const h = /^heap: (\d+) of/.exec(line);
    if (h) heapUsed = +h[1];
  }
  if (!/^done: \d+ images$/m.test(text)) throw new Error(`the program did not finish:\n${text.slice(-3000)}`);
  return { text, images, stackPeak, heapUsed, seconds: 0 };
}

export function runHost(exe: string): McuResult {
  const t = performance.now();
  const r = parseOutput(run(exe, []));
  r.seconds = (performance.now() - t) / 1000;
  return r;
}

export function qemuArgs(cpu: Cpu, elf: string): string[] {
  return ["-M", CPUS[cpu].board, "-nographic", "-monitor", "none", "-semihosting-config", "enable=on,target=native", "-kernel", elf];
}

/** The same, without blocking: several boards can run at once. */
export function runQemuAsync(cpu: Cpu, elf: string, timeoutMs = 600_000): Promise<McuResult> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("qemu-system-arm", qemuArgs(cpu, elf), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (e) => { clearTimeout(timer); reject(e); });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) { reject(new Error(`qemu-system-arm (${CPUS[cpu].board}) exited with ${code ?? signal}:\n${out.slice(-3000)}${err.slice(-3000)}`)); return; }
      try {
        const r = parseOutput(out);
        r.seconds = (performance.now() - t) / 1000;
        resolve(r);
      } catch (e) { reject(e); }
    });
  });
}

export function runQemu(cpu: Cpu, elf: string, timeoutMs = 600_000): McuResult {
  const t = performance.now();
  const r = parseOutput(run("qemu-system-arm", qemuArgs(cpu, elf), { timeout: timeoutMs }));
  r.seconds = (performance.now() - t) / 1000;
  return r;
}

// ---- footprint ----------------------------------------------------------------------------------------------

export interface Footprint {
  sections: Record<string, number>;
  flash: number;
  code: number;
  rodata: number;
  model: number;
  images: number;
  ram: number;
  linearMemory: number;
  dataBss: number;
  heap: number;
  stack: number;
}

/**
 * Sizes as arm-none-eabi-size (-A) and arm-none-eabi-nm (-S) see them. The model and image arrays are static
 * consts that the compiler emits without symbols, inside .rodata: their sizes are given.
 */
export function footprint(elf: string, known: { model: number; images: number }): Footprint {
  const sections: Record<string, number> = {};
  for (const line of run("arm-none-eabi-size", ["-A", elf]).split("\n")) {
    const m = /^(\.\S+)\s+(\d+)\s+(\d+)/.exec(line);
    if (m) sections[m[1]] = +m[2];
  }
  const sym: Record<string, number> = {};
  for (const line of run("arm-none-eabi-nm", ["-S", elf]).split("\n")) {
    const m = /^[0-9a-f]+ ([0-9a-f]+) \w (\S+)$/.exec(line);
    if (m) sym[m[2]] = parseInt(m[1], 16);
  }
  const s = (n: string) => sections[n] ?? 0;
  const flashSections = [".text", ".rodata", ".ARM.extab", ".ARM.exidx", ".preinit_array", ".init_array", ".fini_array", ".data"];
  const flash = flashSections.reduce((a, n) => a + s(n), 0);
  return {
    sections, flash, code: s(".text"), rodata: s(".rodata"), model: known.model, images: known.images,
    dataBss: s(".data") + s(".bss"), linearMemory: sym.qw_pool ?? 0, heap: s(".heap"), stack: s(".stack"),
    ram: s(".data") + s(".bss") + s(".heap") + s(".stack"),
  };
}

export function footprintTable(rows: { cpu: Cpu; fp: Footprint; stackPeak?: number; heapUsed?: number }[]): string {
  const b = (n: number) => `${n} (${(n / 1024).toFixed(1)} KiB)`;
  const items: [string, (r: (typeof rows)[number]) => string][] = [
    ["FLASH total (.text + .rodata + .ARM.* + .data image)", (r) => b(r.fp.flash)],
    ["  code: .text (wasm2c module, runtime support, startup, newlib)", (r) => b(r.fp.code)],
    ["  .rodata", (r) => b(r.fp.rodata)],
    ["    of which the model (export-c array)", (r) => b(r.fp.model)],
    ["    of which the embedded image(s)", (r) => b(r.fp.images)],
    ["RAM total (.data + .bss + .heap + .stack)", (r) => b(r.fp.ram)],
    ["  .data + .bss", (r) => b(r.fp.dataBss)],
    ["    of which wasm linear memory (model copy, arena, buffers)", (r) => b(r.fp.linearMemory)],
    ["  .heap reserved (newlib stdio)", (r) => b(r.fp.heap)],
    ["  heap used, measured (sbrk)", (r) => (r.heapUsed === undefined ? "?" : `${r.heapUsed}`)],
    ["  .stack reserved", (r) => b(r.fp.stack)],
    ["  stack peak measured", (r) => (r.stackPeak === undefined ? "?" : `${r.stackPeak}`)],
  ];
  const head = ["", ...rows.map((r) => `${CPUS[r.cpu].name} on ${CPUS[r.cpu].board}`)];
  const body = items.map(([name, f]) => [name, ...rows.map(f)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => "| " + r.map((x, i) => (i ? x.padStart(w[i]) : x.padEnd(w[i]))).join(" | ") + " |";
  return [line(head), "|" + w.map((n, i) => (i ? "-".repeat(n + 1) + ":" : "-".repeat(n + 2))).join("|") + "|", ...body.map(line)].join("\n");
}

// ---- the command --------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  const arg = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
  const cpuArg = arg("cpu") ?? "m4";
  const cpus: Cpu[] = cpuArg === "all" ? ["m3", "m4", "m7"] : cpuArg.split(",").map((c) => {
    if (!(c in CPUS)) throw new Error(`--cpu must be m3, m4, m7 or all, got '${c}'`);
    return c as Cpu;
  });
  const missing = missingTools({ arm: true });
  if (missing.length) {
    console.error(`build-mcu: missing Debian packages: ${missing.join(" ")} (apt-get install -y ${missing.join(" ")})`);
    return 1;
  }
  if (!existsSync(join(ROOT, "build/qwasm.nosimd.wasm"))) {
    console.error("build-mcu: build/qwasm.nosimd.wasm is missing: run npm run build first");
    return 1;
  }
  const gen = await generateModule(arg("model") ?? defaultModel());
  const qwm = readFileSync(gen.model);
  const image = arg("image") ?? join(ROOT, "models/samples/09_ankle_boot_0000.png");
  const img = modelPixels(qwm, image, 1);
  const imagesH = join(gen.dir, "demo/images.h");
  writeImages(imagesH, img);
  console.log(`model ${gen.model} (${gen.modelBytes} bytes); linear memory ${gen.pages} pages (${gen.pages * PAGE} bytes, ${gen.used} used); image ${image}`);

  // the reference: Node, the no-SIMD build (the one wasm2c translated)
  const ref = (await Runner.create(readFileSync(join(ROOT, "build/qwasm.nosimd.wasm")), qwm)).runPixels(img.pixels, 1) as Int8Array;
  const same = (r: McuResult) => r.images.length === 1 && r.images[0].raw.every((v, i) => v === ref[i]) && r.images[0].raw.length === ref.length;

  const exe = buildProgram(gen, "host", imagesH, join(gen.dir, "demo/qwasm-mcu-host"));
  const host = runHost(exe);
  console.log(`\n$ ${exe}\n${host.text.trimEnd()}`);
  let ok = same(host);
  const rows: { cpu: Cpu; fp: Footprint; stackPeak?: number; heapUsed?: number }[] = [];
  for (const cpu of cpus) {
    const elf = buildProgram(gen, cpu, imagesH, join(gen.dir, `demo/qwasm-mcu-${cpu}.elf`));
    const r = runQemu(cpu, elf);
    console.log(`\n$ qemu-system-arm ${qemuArgs(cpu, elf).join(" ")}\n${r.text.trimEnd()}`);
    ok &&= same(r);
    rows.push({ cpu, fp: footprint(elf, { model: gen.modelBytes, images: img.count * img.bytes }), stackPeak: r.stackPeak, heapUsed: r.heapUsed });
  }
  console.log(`\nNode (no-SIMD build) raw: ${Array.from(ref).join(",")}: ${ok ? "identical on every target" : "MISMATCH"}`);
  console.log(`\nfootprint (arm-none-eabi-size -A; the model is copied from flash into linear memory at start):\n${footprintTable(rows)}`);
  for (const { cpu, fp } of rows) {
    const shown = Object.entries(fp.sections).filter(([n, v]) => v > 0 && !/^\.(comment|debug|ARM\.attributes)/.test(n));
    console.log(`  ${CPUS[cpu].name} sections: ${shown.map(([n, v]) => `${n} ${v}`).join(", ")}`);
  }
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e) => { console.error(`build-mcu: ${e.message}`); process.exitCode = 1; });
}
