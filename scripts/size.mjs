// npm run size [-- --json] (npm run -s ... for the JSON alone on stdout): what a web page ships to classify an image, gzipped (level 9, as served).
//   ours: a minimal app (below) importing the SDK's browser entry, bundled and minified with esbuild, plus the
//         wasm build it fetches for an int8 model: the lite build (SIMD, int8 + fp32 ops only; the browser host
//         picks it for any model without sub-8-bit ops). sdk_gzip_bytes = gzip(app JS) + gzip(qwasm.lite.wasm).
//         Goal: <= 30 KiB. Also printed: the same app with the full SIMD build (what a sub-8-bit model fetches).
//   peers: the same kind of app for onnxruntime-web (its wasm backend: JS with the emscripten glue bundled,
//         plus ort-wasm-simd-threaded.wasm) and tfjs-backend-wasm (tfjs-core + the backend, plus its SIMD wasm),
//         when those packages are installed (devDependencies).
//   also: the browser example's app.js bundled the same way.
// Needs build/qwasm.lite.wasm and build/qwasm.simd.wasm (npm run build). Prints a table, or one JSON object with --json.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const json = process.argv.includes("--json");
const GOAL = 30 * 1024;
const require = createRequire(`${root}package.json`);

const measure = (bytes) => ({ raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });

/** Bundles `source` (an ES module importing packages) for browsers, minified; returns its bytes. */
async function bundle(source, alias = {}) {
  const out = await esbuild.build({
    stdin: { contents: source, resolveDir: root, loader: "js" },
    bundle: true, write: false, format: "esm", target: "es2022", platform: "browser", minify: true,
    legalComments: "none", logLevel: "silent", alias,
  });
  return out.outputFiles[0].contents;
}

const simdWasm = `${root}build/qwasm.simd.wasm`, liteWasm = `${root}build/qwasm.lite.wasm`;
for (const f of [liteWasm, simdWasm]) {
  if (!existsSync(f)) {
    console.error(`size: ${f.slice(root.length)} is missing; run npm run build`);
    process.exit(1);
  }
}

// Ours: a page that loads the model and classifies what a canvas shows.
const APP = `
import { loadModel } from "qwasm";
const model = await loadModel(fetch("model.qwm"));
const canvas = document.querySelector("canvas");
const image = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
for (const { label, score } of model.classify(image, { topK: 5 })) console.log(label, score);
`;
const sdkAlias = { qwasm: `${root}sdk/hosts/browser.ts` };
const js = measure(await bundle(APP, sdkAlias));
const wasm = { file: "qwasm.lite.wasm", ...measure(readFileSync(liteWasm)) };
const fullWasm = { file: "qwasm.simd.wasm", ...measure(readFileSync(simdWasm)) };
const example = measure(await bundle(readFileSync(`${root}examples/browser/app.js`, "utf8"), sdkAlias));

// Peers: the same app for each, where the package is installed.
const PEERS = {
  "onnxruntime-web": {
    pkg: "onnxruntime-web",
    wasm: "onnxruntime-web/ort-wasm-simd-threaded.wasm",
    app: `
import * as ort from "onnxruntime-web/wasm";
const session = await ort.InferenceSession.create("model.onnx");
const canvas = document.querySelector("canvas");
const { data } = canvas.getContext("2d").getImageData(0, 0, 28, 28);
const x = Float32Array.from({ length: 784 }, (_, i) => (data[4 * i] / 255 - 0.286) / 0.353);
const out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", x, [1, 1, 28, 28]) });
console.log(out[session.outputNames[0]].data);
`,
  },
  "tfjs-backend-wasm": {
    pkg: "@tensorflow/tfjs-backend-wasm",
    wasm: "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
    app: `
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
await tf.setBackend("wasm");
const canvas = document.querySelector("canvas");
const x = tf.browser.fromPixels(canvas, 1).toFloat().div(255).sub(0.286).div(0.353).reshape([1, 28, 28, 1]);
const y = tf.conv2d(x, tf.ones([3, 3, 1, 8]), 1, "same").relu().mean([1, 2]);
console.log(await y.data());
`,
  },
};

const peers = {};
for (const [name, p] of Object.entries(PEERS)) {
  try {
    const version = JSON.parse(readFileSync(`${root}node_modules/${p.pkg}/package.json`, "utf8")).version;
    const pjs = measure(await bundle(p.app));
    const pwasm = { file: p.wasm.split("/").pop(), ...measure(readFileSync(require.resolve(p.wasm))) };
    peers[name] = { version, js: pjs, wasm: pwasm, total: { raw: pjs.raw + pwasm.raw, gzip: pjs.gzip + pwasm.gzip } };
  } catch (e) {
    peers[name] = { error: `not measured: ${String(e?.message ?? e).split("\n")[0]}` };
  }
}

const result = {
  goal_bytes: GOAL,
  sdk_gzip_bytes: js.gzip + wasm.gzip,
  sdk_raw_bytes: js.raw + wasm.raw,
  within_goal: js.gzip + wasm.gzip <= GOAL,
  sdk: { js, wasm },
  // a model with sub-8-bit ops (.qwm ops 24..39) fetches the full SIMD build instead
  full: { gzip_bytes: js.gzip + fullWasm.gzip, raw_bytes: js.raw + fullWasm.raw, js, wasm: fullWasm },
  browser_example: { js: example, wasm },
  peers,
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(11);
  const row = (what, j, w, file) => console.log(`${what.padEnd(28)} ${kb(j.raw)} ${kb(j.gzip)}   ${file.padEnd(34)} ${kb(w.raw)} ${kb(w.gzip)}   ${kb(j.raw + w.raw)} ${kb(j.gzip + w.gzip)}`);
  console.log(`${"app (esbuild, minified)".padEnd(28)} ${"JS raw".padStart(11)} ${"JS gzip".padStart(11)}   ${"wasm".padEnd(34)} ${"raw".padStart(11)} ${"gzip".padStart(11)}   ${"total raw".padStart(11)} ${"total gzip".padStart(11)}`);
  row("qwasm (int8 model: lite)", js, wasm, wasm.file);
  row("qwasm (sub-8-bit: full)", js, fullWasm, fullWasm.file);
  row("qwasm (examples/browser)", example, wasm, wasm.file);
  for (const [name, p] of Object.entries(peers)) {
    if (p.error) console.log(`${name.padEnd(28)} ${p.error}`);
    else row(`${name} ${p.version}`, p.js, p.wasm, p.wasm.file);
  }
  console.log(`\nqwasm: ${result.sdk_gzip_bytes} bytes gzip (JS ${js.gzip} + lite wasm ${wasm.gzip}); goal ${GOAL}: ${result.within_goal ? "met" : "MISSED"}`);
  console.log(`qwasm with a sub-8-bit model: ${result.full.gzip_bytes} bytes gzip (JS ${js.gzip} + full SIMD wasm ${fullWasm.gzip})`);
}
