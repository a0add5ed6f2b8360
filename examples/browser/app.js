// The page's logic: load the model once, decode each dropped, picked or pasted image with the browser's own
// decoder, classify it and show the top 5 with their scores, the time it took and the wasm build that ran.
import { loadModel } from "qwasm";

const $ = (id) => document.getElementById(id);

function setStatus(text, state) {
  $("status").textContent = text;
  if (state) document.body.dataset.state = state;
}

// Offline: the service worker caches everything this page needs (sw.js).
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js")
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      $("offline").textContent = "Works offline once loaded.";
      document.body.dataset.offline = "ready";
    })
    .catch((e) => { $("offline").textContent = `(Offline use unavailable: ${e.message})`; });
}

const modelReady = loadModel(fetch("model.qwm")).then((model) => {
  const { input, output, build, modelBytes } = model.info;
  setStatus(`Model ready: ${output.classes} classes, ${input.shape.join("×")} input, ` +
    `${(modelBytes / 1024).toFixed(1)} KiB, ${build} wasm build.`, "ready");
  return model;
}, (e) => {
  setStatus(`Could not load the model: ${e.message}`, "error");
  throw e;
});

/** An image file to RGBA pixels ({ data, width, height }), exactly as stored: no color management. */
async function decode(blob) {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

async function show(file) {
  if (!file || !file.type.startsWith("image/")) {
    setStatus(`Not an image: ${file ? file.name || file.type : "nothing"} was given.`);
    return;
  }
  const model = await modelReady.catch(() => null);
  if (!model) return; // the status line says why
  let image;
  const t0 = performance.now();
  try {
    image = await decode(file);
  } catch {
    setStatus(`This browser cannot decode ${file.name || "the pasted image"}.`);
    return;
  }
  const t1 = performance.now();
  const top = model.classify(image, { topK: Math.min(5, model.info.output.classes) });
  const t2 = performance.now();
  // The int8 outputs behind the scores: the same bytes on every host and every wasm build.
  const { raw } = model.run(model.preprocess(image));

  URL.revokeObjectURL($("preview").src);
  $("preview").src = URL.createObjectURL(file);
  $("top").replaceChildren(...top.map(({ label, score }) => {
    const li = document.createElement("li");
    const name = Object.assign(document.createElement("span"), { textContent: label, className: "label" });
    const bar = Object.assign(document.createElement("meter"), { value: score });
    const pct = Object.assign(document.createElement("span"), { textContent: `${(100 * score).toFixed(1)}%`, className: "score" });
    li.append(name, bar, pct);
    return li;
  }));
  $("timing").textContent = `${image.width}×${image.height} image: classified in ${(t2 - t1).toFixed(2)} ms ` +
    `(decoding took ${(t1 - t0).toFixed(1)} ms) by the ${model.info.build} wasm build.`;
  $("raw").textContent = Array.from(raw).join(" ");
  const result = $("result");
  Object.assign(result.dataset, { file: file.name, build: model.info.build, raw: Array.from(raw).join(",") });
  result.hidden = false;
  setStatus(`${file.name || "Pasted image"}: ${top[0].label}`);
}

const drop = $("drop");
$("file").addEventListener("change", (e) => show(e.target.files[0]));
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  show(e.dataTransfer.files[0]);
});
document.addEventListener("paste", (e) => {
  const file = Array.from(e.clipboardData?.files ?? []).find((f) => f.type.startsWith("image/"));
  if (file) show(file);
});
