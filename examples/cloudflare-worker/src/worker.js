// A Cloudflare Worker that classifies images with qwasm.
//   POST /classify   body: a PNG image   query: k = how many classes (default 5), raw=1 adds the int8 outputs
//   -> 200 { top: [{ label, index, score }], build, width, height, raw? }
//   -> 4xx { error: { code, message } } for bad requests: 405 wrong method, 411/413 size, 400 empty or corrupt
//      image or bad k, 415 not a PNG (this Worker decodes PNG only: JPEG and others get a 415 that says so)
//   GET /            -> what the model is and how to call it
import { loadModel, QwmInputError } from "qwasm";
// Workers cannot compile WebAssembly from bytes at run time: the builds are imported as modules (wrangler
// compiles *.wasm imports ahead of time) and handed to the SDK. The best one the runtime validates is used.
// The full builds, not the lite one: the Worker then runs any model (sub-8-bit ops too) with the relaxed-SIMD
// dot products, and a Worker's upload size hardly matters at ~60 KB (add `lite` to wasm to try it first).
import relaxed from "qwasm/wasm/qwasm.relaxed.wasm";
import simd from "qwasm/wasm/qwasm.simd.wasm";
// The model travels inside the Worker as bytes (the "Data" rule for *.qwm in wrangler.toml).
import modelBytes from "./model.qwm";
import { decodePng, isPng, PngError } from "./png.js";

const MAX_BODY = 8 << 20; // bytes of a request body
const MAX_PIXELS = 4 << 20; // pixels of a decoded image: 16 MiB of RGBA, well inside a Worker's 128 MB

let model; // Promise<Model>: loaded by the first request, then kept for the life of the isolate
const getModel = () => (model ??= loadModel(modelBytes, { wasm: { relaxed, simd } }).catch((e) => {
  model = undefined;
  throw e;
}));

const json = (body, status = 200, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
const error = (status, code, message, headers) => json({ error: { code, message } }, status, headers);

async function classify(request, url) {
  if (request.method !== "POST") {
    return error(405, "method_not_allowed", "POST an image to /classify", { allow: "POST" });
  }
  const m = await getModel();
  const classes = m.info.output.classes;
  const k = url.searchParams.has("k") ? Number(url.searchParams.get("k")) : Math.min(5, classes);
  if (!Number.isInteger(k) || k < 1 || k > classes) {
    return error(400, "bad_k", `k must be an integer in 1..${classes}`);
  }
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > MAX_BODY) return error(413, "body_too_large", `the body is over ${MAX_BODY} bytes`);
  const body = new Uint8Array(await request.arrayBuffer());
  if (body.length > MAX_BODY) return error(413, "body_too_large", `the body is over ${MAX_BODY} bytes`);
  if (body.length === 0) return error(400, "empty_body", "the body is empty: POST the image's bytes");
  if (!isPng(body)) {
    const what = body[0] === 0xff && body[1] === 0xd8 ? "JPEG" : `${request.headers.get("content-type") ?? "unknown type"}`;
    return error(415, "unsupported_media_type", `this Worker decodes PNG images only; the body is ${what}. Convert it to PNG`);
  }
  let image;
  try {
    image = await decodePng(body, { maxPixels: MAX_PIXELS });
  } catch (e) {
    if (!(e instanceof PngError)) throw e;
    if (e.code === "UNSUPPORTED") return error(415, "unsupported_media_type", e.message);
    if (e.code === "TOO_LARGE") return error(413, "image_too_large", e.message);
    return error(400, "bad_image", e.message);
  }
  const top = m.classify(image, { topK: k });
  const out = { top, build: m.info.build, width: image.width, height: image.height };
  // The int8 outputs behind the scores: the same bytes on every host and wasm build.
  if (url.searchParams.get("raw") === "1") out.raw = Array.from(m.run(m.preprocess(image)).raw);
  return json(out);
}

async function describe() {
  const { info } = await getModel();
  return json({
    usage: "POST /classify with a PNG body; ?k=1..classes for the top k (default 5), &raw=1 for the int8 outputs",
    model: { input: info.input.shape, classes: info.output.classes, labels: info.labels, bytes: info.modelBytes },
    build: info.build,
  });
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/classify") return await classify(request, url);
      if (url.pathname === "/" && (request.method === "GET" || request.method === "HEAD")) return await describe();
      return error(404, "not_found", "POST /classify, or GET / for the model");
    } catch (e) {
      if (e instanceof QwmInputError) return error(400, "bad_input", e.message);
      return error(500, "internal", String(e?.message ?? e));
    }
  },
};
