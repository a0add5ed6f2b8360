// Serves the browser example on http://127.0.0.1:PORT/ (service workers need http://127.0.0.1, localhost or https):
//   /            this folder (index.html, app.js, sw.js)
//   /qwasm/      the qwasm package's dist/ (sdk/browser.js and the four wasm builds: lite for
//                int8 / fp32 models, relaxed / simd / nosimd for models with sub-8-bit ops or hosts without SIMD)
//   /model.qwm   the model
// usage: node serve.mjs [--port 8080] [--model path/to/model.qwm]
// For a real deployment copy the same files to any static host (examples/README.md).
import { createServer } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// The package's dist/ folder: "qwasm" resolves (for Node) to dist/sdk/node.js.
const dist = dirname(dirname(fileURLToPath(import.meta.resolve("qwasm"))));

const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const port = Number(arg("--port", "8080"));
const model = resolve(arg("--model", join(here, "../../models/fashion_mnist_dsres.qwm")));
if (!existsSync(model)) {
  console.error(`no model at ${model}: pass --model path/to/model.qwm (examples/README.md says how to make one)`);
  process.exit(1);
}

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm", ".qwm": "application/octet-stream", ".json": "application/json", ".css": "text/css",
};

/** The file a URL path names, or null: only files inside this folder or dist/, never ../ out of them. */
function fileFor(pathname) {
  if (pathname === "/model.qwm") return model;
  const [root, rest] = pathname.startsWith("/qwasm/") ? [dist, pathname.slice(7)] : [here, pathname.slice(1) || "index.html"];
  const file = resolve(root, rest);
  return file.startsWith(root + sep) && existsSync(file) && statSync(file).isFile() ? file : null;
}

const server = createServer((req, res) => {
  let file = null;
  try {
    file = req.method === "GET" || req.method === "HEAD" ? fileFor(decodeURIComponent(new URL(req.url, "http://x").pathname)) : null;
  } catch {
    file = null; // a malformed %-escape
  }
  if (!file) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  const body = readFileSync(file);
  res.writeHead(200, {
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    "content-length": body.length,
    "cache-control": "no-cache", // the service worker, not the HTTP cache, keeps the app offline
  });
  res.end(req.method === "HEAD" ? undefined : body);
});
server.listen(port, "127.0.0.1", () => console.log(`serving http://127.0.0.1:${server.address().port}/`));
