// The examples (examples/) run in their real runtimes, each compared byte for byte with Node's SDK entry:
// the browser page in Debian Chromium (driven by npm playwright-core, served from 127.0.0.1, then offline), the
// Deno script (npm deno), the Cloudflare Worker in workerd (npm workerd) over real HTTP; the examples' PNG
// decoder against pngjs; and the size report (scripts/size.mjs).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import { crc32, deflateSync, gzipSync } from "node:zlib";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import * as esbuild from "esbuild";
import { loadModel, type ImageLike, type Model, type Prediction } from "../sdk/hosts/node.ts";
import { findTool, testIf, ROOT } from "./helpers/tools.ts";
import { serveWorkerd } from "./helpers/workerd.ts";

const png: {
  decodePng(b: Uint8Array, o?: { maxPixels?: number }): Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
  PngError: new (...a: any[]) => Error & { code: string };
} = await import("../examples/deno/png.js" as string);

const SAMPLES = `${ROOT}models/samples/`;
const SAMPLE_FILES = readdirSync(SAMPLES).filter((f) => f.endsWith(".png")).sort();
const SNEAKER = `${SAMPLES}07_sneaker_0009.png`;
const TMP = mkdtempSync(join(tmpdir(), "qwasm-examples-"));
test.after(() => rmSync(TMP, { recursive: true, force: true }));

/** The bundled model, quantized: models/fashion_mnist_dsres.qwm when committed, else made once with the CLI. */
let modelFile: string | undefined;
function model(): string {
  if (modelFile) return modelFile;
  const committed = `${ROOT}models/fashion_mnist_dsres.qwm`;
  if (existsSync(committed)) return (modelFile = committed);
  const out = join(TMP, "fashion_mnist_dsres.qwm");
  execFileSync(process.execPath, [`${ROOT}bin/qwasm.mjs`, "quantize", "models/fashion_mnist_dsres.onnx",
    "--calib", "models/data/fashion-train256-images-idx3-ubyte.gz", "--out", out, "--mean", "0.286", "--std", "0.353",
    "--labels", "models/fashion_mnist_labels.txt"], { cwd: ROOT, stdio: "pipe" });
  return (modelFile = out);
}

/** A 97x83 RGB picture made from a sample (upscaled, tinted): exercises resizing and the gray conversion. */
function rgbPicture(): string {
  const file = join(TMP, "sneaker_rgb_97x83.png");
  if (existsSync(file)) return file;
  const src = PNG.sync.read(readFileSync(SNEAKER));
  const out = new PNG({ width: 97, height: 83, colorType: 2 });
  for (let y = 0; y < 83; y++) for (let x = 0; x < 97; x++) {
    const v = src.data[4 * (Math.floor((y * 28) / 83) * 28 + Math.floor((x * 28) / 97))], o = 4 * (y * 97 + x);
    out.data[o] = v; out.data[o + 1] = (v * 3) >> 2; out.data[o + 2] = Math.min(255, v + 20); out.data[o + 3] = 255;
  }
  writeFileSync(file, PNG.sync.write(out, { colorType: 2 }));
  return file;
}

/** Node's answer for a PNG file: pngjs pixels, then the SDK's node entry (raw int8 outputs and the top 5). */
let nodeModel: Promise<Model> | undefined;
async function nodeAnswer(file: string): Promise<{ raw: number[]; top: Prediction[] }> {
  const m = await (nodeModel ??= loadModel(model()));
  const p = PNG.sync.read(readFileSync(file));
  const image: ImageLike = { width: p.width, height: p.height, data: new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.length) };
  return { raw: Array.from(m.run(m.preprocess(image)).raw), top: m.classify(image, { topK: 5 }) };
}

const classOf = (file: string) => Number(basename(file).slice(0, 2));
const gz = (b: Uint8Array) => gzipSync(b, { level: 9 }).length;

/** POSTs a request that declares `length` body bytes but sends only the first KiB; resolves with the answer. */
function postDeclaring(url: string, length: number): Promise<{ status: number; json(): Promise<any> }> {
  return new Promise((res, rej) => {
    const req = request(url, { method: "POST", headers: { "content-type": "image/png", "content-length": length } }, (r) => {
      let text = "";
      r.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => {
        req.destroy();
        res({ status: r.statusCode!, json: async () => JSON.parse(text) });
      });
    });
    req.on("error", rej);
    req.write(new Uint8Array(1024));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(kill);
      res();
    });
    child.kill("SIGTERM");
  });
}

// ---------------------------------------------------------------------------------------------------------
// The PNG decoder of the Deno and Worker examples

/** A PNG file from raw scanlines (filter byte included), for the kinds pngjs cannot write. */
function pngFile(w: number, h: number, depth: number, color: number, scanlines: Uint8Array, extra: [string, Uint8Array][] = []) {
  const chunk = (type: string, data: Uint8Array) => {
    const b = Buffer.alloc(12 + data.length);
    b.writeUInt32BE(data.length, 0);
    b.write(type, 4, "latin1");
    Buffer.from(data).copy(b, 8);
    b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)), 8 + data.length);
    return b;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([depth, color, 0, 0, 0], 8);
  return new Uint8Array(Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr),
    ...extra.map(([t, d]) => chunk(t, d)), chunk("IDAT", deflateSync(scanlines)), chunk("IEND", new Uint8Array(0))]));
}

test("examples' PNG decoder: the Deno and Worker copies are one file; it decodes like pngjs", async () => {
  assert.equal(readFileSync(`${ROOT}examples/deno/png.js`, "utf8"), readFileSync(`${ROOT}examples/cloudflare-worker/src/png.js`, "utf8"));
  const same = async (bytes: Uint8Array, what: string) => {
    const ref = PNG.sync.read(Buffer.from(bytes));
    const got = await png.decodePng(bytes);
    assert.equal([got.width, got.height], [ref.width, ref.height], what);
    assert.ok(Buffer.from(got.data).equals(ref.data), `${what}: pixels differ from pngjs`);
  };
  for (const f of SAMPLE_FILES) await same(readFileSync(SAMPLES + f), f);
  await same(readFileSync(rgbPicture()), "RGB 97x83");
  // every filter type, RGBA and gray+alpha (pngjs writes them with filters chosen per row)
  const r = PNG.sync.read(readFileSync(rgbPicture()));
  for (const a of [0, 4, 6]) for (const filterType of [-1, 0, 1, 2, 3, 4]) {
    await same(PNG.sync.write(r, { colorType: a as 0 | 4 | 6, inputHasAlpha: true, filterType } as any), `color type ${a}, filter ${filterType}`);
  }
  // 1-, 2- and 4-bit gray, 16-bit RGB, 4-bit palette with tRNS, hand-made (Paeth-filtered odd rows)
  const rows = (h: number, stride: number, f: (y: number, i: number) => number) =>
    Uint8Array.from({ length: h * (stride + 1) }, (_, k) => (k % (stride + 1) === 0 ? Math.floor(k / (stride + 1)) % 2 * 4 : f(Math.floor(k / (stride + 1)), k % (stride + 1) - 1)));
  for (const d of [1, 2, 4]) await same(pngFile(13, 5, d, 0, rows(5, Math.ceil((13 * d) / 8), (y, i) => (y * 37 + i * 91) & 255)), `gray ${d}-bit`);
  await same(pngFile(7, 4, 16, 2, rows(4, 42, (y, i) => (y * 53 + i * 29) & 255)), "RGB 16-bit");
  const plte = Uint8Array.from({ length: 48 }, (_, i) => (i * 17) & 255);
  await same(pngFile(9, 3, 4, 3, rows(3, 5, (y, i) => (y * 3 + i * 7) & 255), [["PLTE", plte], ["tRNS", Uint8Array.from([0, 128, 255])]]), "palette 4-bit");
  // refusals: typed, never a crash
  const refuse = async (bytes: Uint8Array, code: string, what: string) => {
    const e = await png.decodePng(bytes, { maxPixels: 1 << 16 }).then(() => null, (x) => x);
    assert.instance(e, png.PngError, what);
    assert.is(e.code, code, `${what}: ${e.message}`);
  };
  const sneaker = new Uint8Array(readFileSync(SNEAKER));
  await refuse(sneaker.subarray(0, 60), "CORRUPT", "truncated");
  await refuse(new TextEncoder().encode("hello"), "UNSUPPORTED", "not a PNG");
  const interlaced = sneaker.slice();
  interlaced[8 + 8 + 12] = 1; // IHDR interlace byte
  await refuse(interlaced, "UNSUPPORTED", "interlaced");
  await refuse(pngFile(300, 300, 8, 0, new Uint8Array(301 * 300)), "TOO_LARGE", "over maxPixels");
  await refuse(pngFile(4, 4, 8, 0, new Uint8Array(10)), "CORRUPT", "short pixel data");
  await refuse(pngFile(4, 1, 8, 0, Uint8Array.from([9, 0, 0, 0, 0])), "CORRUPT", "bad filter");
  await refuse(pngFile(4, 1, 3, 0, new Uint8Array(5)), "CORRUPT", "bad bit depth");
});

// ---------------------------------------------------------------------------------------------------------
// Deno

const deno = findTool("deno");
testIf(!!deno, "examples/deno: classify.ts under Deno gives Node's raw int8 outputs and labels for every sample", "npm package deno is not installed", async () => {
  const files = [...SAMPLE_FILES.map((f) => SAMPLES + f), rgbPicture()];
  const run = (...args: string[]) => execFileSync(deno!, ["run", "--quiet", "--no-lock", "--allow-read", "classify.ts", "--model", model(), ...args],
    { cwd: `${ROOT}examples/deno`, encoding: "utf8", maxBuffer: 16 << 20, stdio: "pipe" });
  const out = run("--json", ...files);
  const res = JSON.parse(out);
  assert.is(res.build, "lite"); // an int8 model on a SIMD host: the Deno host picks the lite build
  assert.is(res.results.length, files.length);
  let right = 0;
  for (const [i, r] of res.results.entries()) {
    const node = await nodeAnswer(files[i]);
    assert.equal(r.raw, node.raw, `${files[i]}: raw outputs differ from Node's`);
    assert.equal(r.top, node.top, files[i]);
    if (i < SAMPLE_FILES.length && r.top[0].index === classOf(files[i])) right++;
  }
  assert.is(res.results[SAMPLE_FILES.indexOf(basename(SNEAKER))].top[0].label, "Sneaker");
  assert.is(res.results.at(-1).top[0].label, "Sneaker", "the resized RGB sneaker");
  assert.ok(right >= 17, `${right}/20 samples classified right`);
  // human output and errors
  const text = run(SNEAKER);
  assert.match(text, /Sneaker\s+\d+\.\d%/);
  const jpg = join(TMP, "x.jpg");
  writeFileSync(jpg, jpeg.encode({ width: 8, height: 8, data: Buffer.alloc(256, 200) }, 90).data);
  let err = "";
  try {
    run(jpg);
  } catch (e) {
    err = String((e as { stderr: Buffer }).stderr);
  }
  assert.match(err, /not a PNG image/);
});

// ---------------------------------------------------------------------------------------------------------
// Cloudflare Worker under workerd

/**
 * Bundles examples/cloudflare-worker/src/worker.js the way wrangler does: "qwasm" is this checkout's package
 * (its workerd entry), every imported .wasm becomes a compiled wasm module and the .qwm a data module, both left
 * as separate modules beside worker.js. Returns the modules: [name, kind] for config.capnp.
 */
async function bundleWorker(dir: string): Promise<[string, "esModule" | "wasm" | "data"][]> {
  const modules: [string, "esModule" | "wasm" | "data"][] = [["worker.js", "esModule"]];
  await esbuild.build({
    entryPoints: [`${ROOT}examples/cloudflare-worker/src/worker.js`],
    outfile: join(dir, "worker.js"),
    bundle: true, format: "esm", target: "es2022", minify: true, legalComments: "none", logLevel: "warning",
    conditions: ["workerd", "worker", "browser"],
    plugins: [{
      name: "wrangler-modules",
      setup(b) {
        b.onResolve({ filter: /^qwasm$/ }, () => ({ path: `${ROOT}dist/sdk/workerd.js` }));
        b.onResolve({ filter: /\.(wasm|qwm)$/ }, (args) => {
          const file = args.path === "./model.qwm" ? model()
            : args.path.startsWith("qwasm/wasm/") ? `${ROOT}dist/${args.path.slice(11)}` : join(args.resolveDir, args.path);
          const name = basename(args.path);
          copyFileSync(file, join(dir, name));
          modules.push([name, name.endsWith(".wasm") ? "wasm" : "data"]);
          return { path: `./${name}`, external: true };
        });
      },
    }],
  });
  return modules;
}

// The workerd binary itself (node_modules/.bin/workerd is a Node shim: stopping the shim would leave it running).
const workerd = ((): string | null => {
  try {
    const bin = createRequire(import.meta.url)("workerd").default as string;
    return existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
})();
testIf(!!workerd, "examples/cloudflare-worker under workerd: POST /classify gives Node's raw outputs; 4xx JSON errors", "npm package workerd is not installed", async () => {
  const dir = join(TMP, "worker");
  mkdirSync(dir, { recursive: true });
  const modules = await bundleWorker(dir);
  assert.equal(modules.map(([n]) => n).sort(), ["model.qwm", "qwasm.relaxed.wasm", "qwasm.simd.wasm", "worker.js"]);
  let total = 0;
  console.log("  worker bundle (gzip):");
  for (const [name] of modules) {
    const b = readFileSync(join(dir, name));
    total += gz(b);
    console.log(`    ${name.padEnd(20)} ${String(b.length).padStart(7)} bytes ${String(gz(b)).padStart(7)} gzip`);
  }
  console.log(`    ${"total".padEnd(20)} ${" ".repeat(13)} ${String(total).padStart(7)} gzip`);

  // workerd on 127.0.0.1, its whole process group stopped afterwards (test/helpers/workerd.ts)
  const served = await serveWorkerd(workerd!, dir, modules);
  const base = served.base;
  try {
    const info = await (await fetch(`${base}/`)).json();
    assert.is(info.model.classes, 10);
    assert.is(info.build, "relaxed", "workerd's V8 validates relaxed SIMD");

    const post = (body: Uint8Array | string, query = "", headers: Record<string, string> = { "content-type": "image/png" }) =>
      fetch(`${base}/classify${query}`, { method: "POST", body: body as BodyInit, headers });
    for (const file of [...SAMPLE_FILES.map((f) => SAMPLES + f), rgbPicture()]) {
      const res = await post(readFileSync(file), "?k=5&raw=1");
      assert.is(res.status, 200, file);
      assert.match(res.headers.get("content-type")!, /^application\/json/);
      const r = await res.json();
      const node = await nodeAnswer(file);
      assert.equal(r.raw, node.raw, `${file}: raw outputs differ from Node's`);
      assert.equal(r.top, node.top, file);
      assert.is(r.build, "relaxed");
    }
    const one = await (await post(readFileSync(SNEAKER), "?k=1")).json();
    assert.equal([one.top.length, one.top[0].label, one.raw], [1, "Sneaker", undefined]);

    // bad requests: each a 4xx with a JSON { error: { code, message } }
    const jpg = jpeg.encode({ width: 8, height: 8, data: Buffer.alloc(256, 200) }, 90).data;
    const sneaker = new Uint8Array(readFileSync(SNEAKER));
    const interlaced = sneaker.slice();
    interlaced[28] = 1;
    const cases: [string, () => Promise<{ status: number; json(): Promise<any> }>, number, string, RegExp][] = [
      ["empty body", () => post(new Uint8Array(0)), 400, "empty_body", /empty/],
      ["JPEG", () => post(jpg, "", { "content-type": "image/jpeg" }), 415, "unsupported_media_type", /PNG images only.*JPEG/],
      ["text", () => post("hello", "", { "content-type": "text/plain" }), 415, "unsupported_media_type", /text\/plain/],
      ["truncated PNG", () => post(sneaker.subarray(0, 100)), 400, "bad_image", /truncated/],
      ["interlaced PNG", () => post(interlaced), 415, "unsupported_media_type", /interlaced/],
      ["k=0", () => post(sneaker, "?k=0"), 400, "bad_k", /1\.\.10/],
      ["k=abc", () => post(sneaker, "?k=abc"), 400, "bad_k", /integer/],
      ["GET /classify", () => fetch(`${base}/classify`), 405, "method_not_allowed", /POST/],
      ["unknown path", () => fetch(`${base}/nope`), 404, "not_found", /classify/],
      ["huge image", () => post(pngFile(4096, 4096, 1, 0, new Uint8Array(4096 * 513))), 413, "image_too_large", /4096x4096/],
      ["huge body", () => postDeclaring(`${base}/classify`, 9 << 20), 413, "body_too_large", /8388608/],
    ];
    for (const [what, send, status, code, message] of cases) {
      const res = await send();
      const body = await res.json().catch(() => null);
      assert.is(res.status, status, `${what}: ${JSON.stringify(body)}`);
      assert.is(body?.error?.code, code, what);
      assert.match(body.error.message, message, what);
    }
    assert.is((await fetch(`${base}/classify`)).headers.get("allow"), "POST");
  } finally {
    await served.stop();
  }
});

// ---------------------------------------------------------------------------------------------------------
// Browser: Debian Chromium driven by playwright-core

const CHROMIUM = "/usr/bin/chromium";
const hasPlaywright = existsSync(`${ROOT}node_modules/playwright-core/package.json`);
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Starts examples/browser/serve.mjs on a free port; resolves with its URL once it listens. */
function serveBrowserExample(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [`${ROOT}examples/browser/serve.mjs`, "--port", "0", "--model", model()], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  return new Promise((res, rej) => {
    child.stderr!.on("data", (d) => (log += d));
    child.stdout!.on("data", (d) => {
      log += d;
      const m = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(log);
      if (m) res({ url: m[1], child });
    });
    child.once("exit", (code) => rej(new Error(`serve.mjs exited (${code}): ${log}`)));
  });
}

testIf(existsSync(CHROMIUM) && hasPlaywright, "examples/browser in Chromium: picked, dropped and pasted images give Node's raw outputs; offline after the server stops",
  `needs Debian chromium (${CHROMIUM}) and npm playwright-core`, async () => {
    const { chromium } = await import("playwright-core");
    const { url, child } = await serveBrowserExample();
    const profile = mkdtempSync(join(TMP, "chromium-"));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    const errors: string[] = [];
    try {
      const page = context.pages()[0] ?? await context.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      await page.goto(url);
      await page.waitForSelector('body[data-state="ready"]', { timeout: 20000 });
      await page.waitForSelector('body[data-offline="ready"]', { timeout: 20000 }); // the service worker has cached everything

      /** Gives the page `file` by `how`, waits for its result and checks it against Node's. */
      const classify = async (file: string, how: "pick" | "drop" | "paste") => {
        const name = basename(file);
        if (how === "pick") await page.setInputFiles("#file", file);
        else {
          await page.evaluate(({ bytes, name, how }) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name, { type: "image/png" }));
            const target = document.getElementById("drop")!;
            if (how === "drop") target.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
            else document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
          }, { bytes: Array.from(readFileSync(file)), name, how });
        }
        await page.waitForFunction((n) => document.getElementById("result")!.dataset.file === n, name, { timeout: 10000 });
        const got = await page.evaluate(() => {
          const r = document.getElementById("result")!;
          return {
            raw: r.dataset.raw!.split(",").map(Number), build: r.dataset.build,
            labels: Array.from(document.querySelectorAll("#top .label"), (e) => e.textContent),
            timing: document.getElementById("timing")!.textContent,
          };
        });
        const node = await nodeAnswer(file);
        assert.equal(got.raw, node.raw, `${name} (${how}): raw outputs differ from Node's`);
        assert.equal(got.labels, node.top.map((p) => p.label), `${name} (${how})`);
        assert.is(got.build, "lite", "an int8 model in a SIMD browser: the lite build");
        assert.match(got.timing!, /classified in \d+\.\d\d ms .* by the lite wasm build/);
        return got;
      };
      const first = await classify(SNEAKER, "pick");
      assert.is(first.labels[0], "Sneaker");
      await classify(rgbPicture(), "drop");
      await classify(`${SAMPLES}03_dress_0013.png`, "paste");

      // Offline: stop the server, reload (the service worker answers), classify again.
      await stop(child);
      assert.ok(await fetch(url).then(() => false, () => true), "the server is still answering");
      await page.reload();
      await page.waitForSelector('body[data-state="ready"]', { timeout: 20000 });
      assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), "the reloaded page is not controlled by the service worker");
      const again = await classify(`${SAMPLES}08_bag_0018.png`, "pick");
      assert.is(again.labels[0], "Bag");
      await classify(SNEAKER, "pick");

      mkdirSync(`${ROOT}test-results`, { recursive: true });
      const shot = `${ROOT}test-results/examples-browser.png`;
      await page.setViewportSize({ width: 800, height: 640 });
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`  screenshot: ${shot}`);
      assert.equal(errors, [], "errors in the page");
    } finally {
      await context.close();
      await stop(child);
    }
  });

// ---------------------------------------------------------------------------------------------------------
// Size

test("npm run size -- --json: one JSON object; SDK app + lite wasm within 30 KiB gzip; full build figure; peers measured", () => {
  const out = execFileSync(process.execPath, [`${ROOT}scripts/size.mjs`, "--json"], { cwd: ROOT, encoding: "utf8" });
  const r = JSON.parse(out);
  assert.is(r.goal_bytes, 30720);
  assert.ok(r.sdk_gzip_bytes > 10000 && r.sdk_gzip_bytes <= 30720, `sdk_gzip_bytes ${r.sdk_gzip_bytes}`);
  assert.is(r.sdk_gzip_bytes, r.sdk.js.gzip + r.sdk.wasm.gzip);
  assert.is(r.sdk.wasm.file, "qwasm.lite.wasm"); // what the app fetches for its int8 model
  assert.ok(r.within_goal);
  assert.is(r.full.wasm.file, "qwasm.simd.wasm"); // what a model with sub-8-bit ops fetches
  assert.is(r.full.gzip_bytes, r.sdk.js.gzip + r.full.wasm.gzip);
  assert.ok(r.full.wasm.gzip > r.sdk.wasm.gzip * 1.5, `full ${r.full.wasm.gzip} vs lite ${r.sdk.wasm.gzip}`);
  for (const peer of ["onnxruntime-web", "tfjs-backend-wasm"]) {
    const p = r.peers[peer];
    assert.ok(p && !p.error, `${peer}: ${p?.error}`);
    assert.ok(p.total.gzip > r.sdk_gzip_bytes, `${peer} ${p.total.gzip}`);
  }
});

test.run();
