// Classifies PNG images with a qwasm model under Deno.
//   deno run --allow-read classify.ts [--model model.qwm] [--top 5] [--json] image.png [more.png ...]
// "qwasm" comes from deno.json's import map: this checkout's SDK (run from this folder), or "npm:qwasm".
// The wasm build is lite for a model without sub-8-bit ops (Deno runs SIMD); otherwise relaxed SIMD, SIMD or none,
// the best one Deno's V8 validates.
import { loadModel } from "qwasm";
import { decodePng, isPng, PngError } from "./png.js";

const USAGE = "usage: deno run --allow-read classify.ts [--model model.qwm] [--top K] [--json] image.png ...";

function parseArgs(args: string[]) {
  const o = { model: "model.qwm", top: 5, json: false, files: [] as string[] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--model") o.model = args[++i];
    else if (a === "--top") o.top = Number(args[++i]);
    else if (a === "--json") o.json = true;
    else if (a === "-h" || a === "--help") fail(USAGE, 0);
    else if (a.startsWith("-")) fail(`unknown option ${a}\n${USAGE}`);
    else o.files.push(a);
  }
  if (!o.files.length || !o.model) fail(USAGE);
  return o;
}

function fail(message: string, code = 1): never {
  (code ? console.error : console.log)(message);
  Deno.exit(code);
}

const opts = parseArgs(Deno.args);
let model;
try {
  model = await loadModel(opts.model);
} catch (e) {
  fail(`cannot load ${opts.model}: ${(e as Error).message}`);
}
if (!Number.isInteger(opts.top) || opts.top < 1 || opts.top > model.info.output.classes) {
  fail(`--top must be an integer in 1..${model.info.output.classes}`);
}

const results = [];
for (const file of opts.files) {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    fail(`${file}: ${(e as Error).message}`);
  }
  if (!isPng(bytes)) fail(`${file}: not a PNG image (this example decodes PNG only; convert JPEG and others to PNG)`);
  let image;
  try {
    image = await decodePng(bytes);
  } catch (e) {
    fail(`${file}: ${e instanceof PngError ? e.message : e}`);
  }
  const t0 = performance.now();
  const top = model.classify(image, { topK: opts.top });
  const ms = performance.now() - t0;
  // The int8 outputs behind those scores: the same bytes on every host and every wasm build.
  const { raw } = model.run(model.preprocess(image));
  results.push({ file, width: image.width, height: image.height, ms, top, raw: Array.from(raw) });
}

if (opts.json) {
  console.log(JSON.stringify({ model: opts.model, build: model.info.build, results }));
} else {
  for (const r of results) {
    console.log(`${r.file}  ${r.width}x${r.height}, ${model.info.build} build, ${r.ms.toFixed(2)} ms`);
    for (const p of r.top) console.log(`  ${p.label.padEnd(24)} ${(100 * p.score).toFixed(1).padStart(5)}%`);
  }
}
model.dispose();
