// One answer on every host: the same 200 Fashion-MNIST test images through the bundled model give byte-identical
// raw int8 outputs on Node (SIMD and no-SIMD builds; Node 20 does not run the relaxed one correctly), Deno,
// Chromium and workerd (the build each SDK picks: lite in Chromium for this int8 model, relaxed in workerd; and
// each build forced; Deno: lite, relaxed, SIMD, no-SIMD), the wasm2c C host
// built with the host gcc, and the same C host built for Cortex-M3 / M4 / M7 and run under qemu-system-arm on the
// MPS2 board models. JS hosts go through the shipped SDK bundles (dist/sdk/*.js). Prints the hosts compared.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildProgram, CPUS, defaultModel, generateModule, missingTools, modelPixels, runHost, runQemuAsync, writeImages, type Cpu,
} from "../scripts/build-mcu.ts";
import { findTool, ROOT, testIf } from "./helpers/tools.ts";
import { runChromium } from "./hosts/determinism-chromium.ts";
import { runWorkerd, workerdBinary } from "./hosts/determinism-workerd.ts";

const N = 200;
const DATA = join(ROOT, "models/data/fashion-t10k1000-images-idx3-ubyte.gz");
const modelPath = defaultModel();
const qwm = new Uint8Array(readFileSync(modelPath));
const img = modelPixels(qwm, DATA, N);
const tmp = mkdtempSync(join(tmpdir(), "qwasm-determinism-"));
const pixelsFile = join(tmp, "pixels.bin");
const modelFile = join(tmp, "model.qwm");
writeFileSync(pixelsFile, img.pixels);
writeFileSync(modelFile, qwm);

const { loadModel } = await import("../dist/sdk/node.js" as string);
const reference = await loadModel(qwm, { build: "nosimd" });
const want: Int8Array = reference.run(img.pixels, { batch: N }).raw;
const CLASSES = reference.info.output.classes as number;
reference.dispose();

/** host name -> raw outputs that matched the reference */
const matched: string[] = [];
const expected: string[] = [];
const seconds: string[] = [];
const versions: string[] = [`node ${process.version}`];
const version = (cmd: string, args: string[], re: RegExp) => {
  try { return re.exec(execFileSync(cmd, args, { encoding: "utf8" }))?.[1] ?? "?"; } catch { return "?"; }
};
/** Wraps a host's test body to report how long the host took (build, start-up and run). */
const timed = (what: string, fn: () => unknown) => async () => {
  const t = performance.now();
  await fn();
  seconds.push(`${what} ${((performance.now() - t) / 1000).toFixed(1)} s`);
};

function check(host: string, raw: ArrayLike<number>) {
  expected.push(host);
  assert.is(raw.length, N * CLASSES, `${host}: ${raw.length} outputs, expected ${N * CLASSES}`);
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== want[i]) {
      const im = Math.floor(i / CLASSES);
      assert.unreachable(`${host}: image ${im} differs: [${Array.from(raw).slice(im * CLASSES, (im + 1) * CLASSES)}] vs [${Array.from(want.subarray(im * CLASSES, (im + 1) * CLASSES))}]`);
    }
  }
  matched.push(host);
}

test("Node: the SIMD and no-SIMD builds (the shipped node SDK bundle)", timed("node", async () => {
  for (const build of ["simd", "nosimd"]) {
    const m = await loadModel(qwm, { build });
    check(`node-${build}`, m.run(img.pixels, { batch: N }).raw);
    m.dispose();
  }
}));

const deno = findTool("deno");
testIf(!!deno, "Deno: lite, relaxed, SIMD and no-SIMD builds (dist/sdk/deno.js)", "npm package deno is not installed", timed("deno", () => {
  const out = execFileSync(deno!, ["run", "--quiet", "--no-lock", "--allow-read", "test/hosts/determinism-deno.ts", modelFile, pixelsFile, String(N)],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
  const raw = JSON.parse(out.trim().split("\n").pop()!) as Record<string, number[]>;
  versions.push(`deno ${version(deno!, ["--version"], /deno (\S+)/)}`);
  for (const b of ["lite", "relaxed", "simd", "nosimd"]) check(`deno-${b}`, raw[b]);
}));

const chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p)) ?? null;
const hasPlaywright = (() => {
  try { createRequire(import.meta.url).resolve("playwright-core"); return true; } catch { return false; }
})();
testIf(!!chromiumPath && hasPlaywright, "Chromium: the build the browser SDK picks (lite: an int8 model), and each forced build",
  !chromiumPath ? "Debian package chromium is not installed" : "npm package playwright-core is not installed", timed("chromium", async () => {
    const r = await runChromium(ROOT, chromiumPath!, qwm, img.pixels, N);
    versions.push(`chromium ${r.version}`);
    assert.is(r.auto, "lite", `the browser SDK picked ${r.auto}`);
    for (const b of ["lite", "relaxed", "simd", "nosimd"]) check(`chromium-${b}`, r.raw[b]);
    assert.equal(r.raw.auto, r.raw.lite);
  }));

const workerd = workerdBinary();
testIf(!!workerd, "workerd: a Worker importing the wasm builds as modules (relaxed picked; each forced build)",
  "npm package workerd is not installed", timed("workerd", async () => {
    const r = await runWorkerd(ROOT, workerd!, qwm, img.pixels, N);
    versions.push(`workerd ${version(workerd!, ["--version"], /workerd (\S+)/)}`);
    assert.is(r.auto, "relaxed", `the workerd SDK picked ${r.auto}`);
    for (const b of ["relaxed", "simd", "nosimd"]) check(`workerd-${b}`, r.raw[b]);
    assert.equal(r.raw.auto, r.raw.relaxed);
  }));

const hostMissing = missingTools();
const armMissing = missingTools({ arm: true });
const gen = hostMissing.length ? null : await generateModule(modelPath);
const imagesH = join(ROOT, "build/mcu/determinism/images.h");
if (gen) writeImages(imagesH, img);

const arch = process.arch === "x64" ? "x86_64" : process.arch;
testIf(!!gen, `wasm2c C host built with the host gcc (${arch})`, `Debian packages missing: ${hostMissing.join(" ")}`, timed("wasm2c gcc (compile + run)", () => {
  const exe = buildProgram(gen!, "host", imagesH, join(ROOT, "build/mcu/determinism/qwasm-mcu-host"));
  const r = runHost(exe);
  versions.push(`gcc ${version("gcc", ["-dumpfullversion"], /(\S+)/)}`);
  assert.is(r.images.length, N);
  check(`wasm2c-gcc-${arch}`, r.images.flatMap((x) => Array.from(x.raw)));
}));

const cpus: Cpu[] = ["m3", "m4", "m7"];
testIf(!!gen && !armMissing.length, "wasm2c C host on Cortex-M3 / M4 / M7 under qemu-system-arm (mps2-an385 / an386 / an500)",
  `Debian packages missing: ${armMissing.join(" ")}`, timed("qemu Cortex-M3/M4/M7 (compile + run, in parallel)", async () => {
    const elfs = cpus.map((c) => buildProgram(gen!, c, imagesH, join(ROOT, `build/mcu/determinism/qwasm-mcu-${c}.elf`)));
    const runs = await Promise.all(cpus.map((c, i) => runQemuAsync(c, elfs[i])));
    versions.push(`arm-none-eabi-gcc ${version("arm-none-eabi-gcc", ["-dumpfullversion"], /(\S+)/)}`,
      `qemu-system-arm ${version("qemu-system-arm", ["--version"], /version (\S+)/)}`);
    runs.forEach((r, i) => {
      assert.is(r.images.length, N, `${CPUS[cpus[i]].name}: ${r.images.length} images`);
      check(`wasm2c-${CPUS[cpus[i]].name}-qemu`, r.images.flatMap((x) => Array.from(x.raw)));
    });
  }));

test("summary: every host compared gave the same bytes", () => {
  rmSync(tmp, { recursive: true, force: true });
  const hosts = new Set(matched.map((h) => h.replace(/-(relaxed|simd|nosimd)$/, "")));
  console.log(`  determinism: ${N} images (${N * CLASSES} int8 outputs each), byte-identical on ${matched.length} host/build pairs` +
    ` (${hosts.size} hosts): ${matched.join(", ")}`);
  console.log(`  determinism versions: ${versions.join(", ")}`);
  console.log(`  determinism timings: ${seconds.join(", ")}`);
  assert.equal(matched, expected, "a host compared did not match");
  assert.ok(matched.length >= 2);
});

test.run();
