// Files: `qwasm quantize` writes its output atomically (src/cli/atomic.ts: a temporary file in the same
// directory, fsync, rename), never leaves a half-written model, never modifies its inputs, and an interrupted
// run leaves the old output intact. Checked by killing real runs with SIGKILL at points spread over the whole
// run (and one with SIGINT), then comparing bytes: the output is always either the old file or the complete
// new one; the inputs hash the same before and after.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { overwrittenInput, writeFileAtomic } from "../src/cli/atomic.ts";
import { ROOT, testIf } from "./helpers/tools.ts";
import { haveFashion } from "./helpers/fashion.ts";

const TMP = mkdtempSync(join(tmpdir(), "qwasm-atomic-"));
test.after(() => rmSync(TMP, { recursive: true, force: true }));
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const temps = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".tmp"));

test("writeFileAtomic: replaces the file whole, keeps its mode, leaves no temporary file; a failed write leaves the old file", () => {
  const dir = mkdtempSync(join(TMP, "unit-"));
  const f = join(dir, "out.qwm");
  writeFileSync(f, "old contents");
  chmodSync(f, 0o600);
  writeFileAtomic(f, new Uint8Array([1, 2, 3]));
  assert.equal(Array.from(readFileSync(f)), [1, 2, 3]);
  assert.is(statSync(f).mode & 0o777, 0o600);
  writeFileAtomic(join(dir, "new.txt"), "text");
  assert.is(readFileSync(join(dir, "new.txt"), "utf8"), "text");
  assert.equal(temps(dir), []);
  assert.throws(() => writeFileAtomic(join(dir, "no-such-dir", "x.qwm"), "x"), /ENOENT/);
  assert.throws(() => writeFileAtomic(join(dir, "sub-is-a-file.qwm", "x"), "x"));
  // the destination is a directory: the rename fails, nothing is left behind
  assert.throws(() => writeFileAtomic(dir, "x"));
  assert.equal(temps(dir), []);
  assert.equal(Array.from(readFileSync(f)), [1, 2, 3]);
});

test("overwrittenInput: the same path, another spelling of it, or a hard link to an input", () => {
  const dir = mkdtempSync(join(TMP, "clash-"));
  const a = join(dir, "m.onnx");
  writeFileSync(a, "model");
  assert.is(overwrittenInput(a, [a]), a);
  assert.is(overwrittenInput(join(dir, ".", "m.onnx"), [undefined, a]), a);
  spawnSync("ln", [a, join(dir, "link.qwm")]);
  assert.is(overwrittenInput(join(dir, "link.qwm"), [a]), a);
  assert.is(overwrittenInput(join(dir, "other.qwm"), [a, undefined]), undefined);
});

test("a writer killed (SIGKILL) in the middle of a 192 MiB write: the old file is intact; plain writeFileSync is not", async () => {
  const dir = mkdtempSync(join(TMP, "kill-"));
  const run = async (mode: "atomic" | "plain") => {
    const f = join(dir, `${mode}.bin`);
    writeFileSync(f, "the old model");
    const script = mode === "atomic"
      ? `import { writeFileAtomic } from ${JSON.stringify(`${ROOT}src/cli/atomic.ts`)}; writeFileAtomic(${JSON.stringify(f)}, new Uint8Array(192 << 20).fill(7));`
      : `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(f)}, new Uint8Array(192 << 20).fill(7));`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, stdio: "ignore" });
    // wait until the bytes are going out (the temporary file, or the destination itself, is growing)
    const growing = () => (mode === "atomic" ? temps(dir).filter((t) => t.includes(mode)).map((t) => join(dir, t)) : [f])
      .some((p) => existsSync(p) && statSync(p).size > 1 << 20);
    for (let i = 0; i < 3000 && !growing() && child.exitCode === null; i++) await sleep(2);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    return readFileSync(f);
  };
  const atomic = await run("atomic");
  assert.is(atomic.toString(), "the old model", "the atomic writer's destination changed");
  const plain = await run("plain");
  console.log(`  killed mid-write: atomic writer left the old ${atomic.length} bytes; plain writeFileSync left ${plain.length} of ${192 << 20} bytes`);
  rmSync(dir, { recursive: true, force: true });
});

testIf(haveFashion(), "qwasm quantize killed at points across its run: the old output intact or the complete new one, never a partial file; inputs unchanged",
  "models/fashion_mnist_dsres.onnx or models/data is missing", async () => {
    const dir = mkdtempSync(join(TMP, "cli-"));
    // private copies of the inputs, hashed before and after every run
    const model = join(dir, "in.onnx"), calib = join(dir, "calib.gz"), labels = join(dir, "labels.txt"), out = join(dir, "out.qwm");
    copyFileSync(`${ROOT}models/fashion_mnist_dsres.onnx`, model);
    copyFileSync(`${ROOT}models/data/fashion-train256-images-idx3-ubyte.gz`, calib);
    copyFileSync(`${ROOT}models/fashion_mnist_labels.txt`, labels);
    const inputs = [model, calib, labels];
    const hashes = () => inputs.map(sha).join();
    const before = hashes();
    const args = [`${ROOT}bin/qwasm.mjs`, "quantize", model, "--calib", calib, "--calib-size", "32", "--calibration", "minmax",
      "--mean", "0.286", "--std", "0.353", "--labels", labels, "--out", out];
    const OLD = Buffer.from("an old model that must survive an interrupted run");

    // a complete run: the new model replaces the old file, no temporary file stays
    writeFileSync(out, OLD);
    const t0 = performance.now();
    const full = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, QWASM_DEBUG: "" } });
    const runMs = performance.now() - t0;
    assert.is(full.status, 0, full.stderr);
    const fresh = readFileSync(out);
    assert.ok(fresh.length > 1000 && fresh.subarray(0, 4).equals(Buffer.from([0x89, 0x51, 0x57, 0x4d])), "a .qwm was written");
    assert.equal(temps(dir), []);
    assert.is(hashes(), before, "a complete run modified its inputs");

    // killed runs: SIGKILL at 16 points from 5% to 100% of a run's time, and one SIGINT
    let kept = 0, finished = 0;
    const partial: string[] = [];
    const points = Array.from({ length: 16 }, (_, i) => 0.05 + (0.95 * i) / 15);
    for (const [i, f] of points.entries()) {
      writeFileSync(out, OLD);
      const child = spawn(process.execPath, args, { cwd: ROOT, stdio: "ignore" });
      await sleep(f * runMs);
      child.kill(i === 8 ? "SIGINT" : "SIGKILL");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
      const now = readFileSync(out);
      if (now.equals(OLD)) kept++;
      else if (now.equals(fresh)) finished++; // the writer is deterministic: a finished run wrote exactly these bytes
      else partial.push(`killed at ${(f * 100).toFixed(0)}%: ${now.length} bytes`);
      assert.is(hashes(), before, `inputs changed by the run killed at ${(f * 100).toFixed(0)}%`);
      for (const t of temps(dir)) rmSync(join(dir, t)); // a SIGKILL between creating and renaming may leave one
    }
    console.log(`  quantize (${runMs.toFixed(0)} ms a run) killed at ${points.length} points: ${kept} left the old output, ${finished} had written the new one, ${partial.length} partial; inputs unchanged`);
    assert.equal(partial, []);
    assert.ok(kept > 0, "no run was interrupted before writing");

    // --out naming an input: refused before anything runs, the input untouched
    for (const target of [model, calib, labels]) {
      const r = spawnSync(process.execPath, [...args.slice(0, -1), target], { cwd: ROOT, encoding: "utf8" });
      assert.is(r.status, 2, r.stderr);
      assert.match(r.stderr, /never writes over its inputs/);
    }
    assert.is(hashes(), before);
  });

test.run();
