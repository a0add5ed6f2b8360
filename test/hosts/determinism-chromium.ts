// Chromium (Debian's, driven by playwright-core): the shipped browser SDK bundle (dist/sdk/browser.js) served
// from a tiny http server on 127.0.0.1 with the wasm builds beside it, exactly as a page would load it; a batch
// of pixels through the build the SDK picks by itself and through each forced build. For test/determinism.test.ts.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

const TYPES: Record<string, string> = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html", ".bin": "application/octet-stream" };

/** Serves root's dist/ and the given extra files on 127.0.0.1 (a free port). */
function serve(root: string, files: Record<string, Uint8Array | string>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    let body: Uint8Array | string | undefined = files[path];
    if (body === undefined && /^\/dist\/[\w./-]+$/.test(path) && !path.includes("..")) {
      try { body = readFileSync(join(root, path)); } catch { body = undefined; }
    }
    if (body === undefined) { res.writeHead(404).end("not found"); return; }
    const ext = path.endsWith("/") ? ".html" : path.slice(path.lastIndexOf("."));
    res.writeHead(200, { "content-type": TYPES[ext] ?? "application/octet-stream", "cache-control": "no-store" }).end(body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}` });
    });
  });
}

export interface BrowserRun {
  /** The build the SDK chose with no options, and the browser's version. */
  auto: string;
  version: string;
  raw: Record<string, number[]>;
}

/** Runs `pixels` (batch images) through the model in Chromium; raw int8 outputs per build. */
export async function runChromium(root: string, executablePath: string, model: Uint8Array, pixels: Uint8Array, batch: number): Promise<BrowserRun> {
  const { chromium } = await import("playwright-core");
  const page = `<!doctype html><meta charset="utf-8"><title>qwasm determinism</title>`;
  const { server, url } = await serve(root, { "/": page, "/index.html": page, "/model.qwm": model, "/pixels.bin": pixels });
  const profile = mkdtempSync(join(tmpdir(), "qwasm-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS });
  try {
    const p = ctx.pages()[0] ?? (await ctx.newPage());
    await p.goto(`${url}/`);
    const result = await p.evaluate(async (batch: number) => {
      const { loadModel } = await import("/dist/sdk/browser.js" as string);
      const px = new Uint8Array(await (await fetch("/pixels.bin")).arrayBuffer());
      const raw: Record<string, number[]> = {};
      const auto = await loadModel(fetch("/model.qwm"));
      raw.auto = Array.from(auto.run(px, { batch }).raw as Int8Array);
      const chosen: string = auto.info.build;
      auto.dispose();
      for (const build of ["lite", "relaxed", "simd", "nosimd"]) {
        const m = await loadModel(fetch("/model.qwm"), { build });
        raw[build] = Array.from(m.run(px, { batch }).raw as Int8Array);
        m.dispose();
      }
      return { auto: chosen, raw };
    }, batch);
    return { ...result, version: ctx.browser()?.version() ?? (await p.evaluate(() => navigator.userAgent)) };
  } finally {
    await ctx.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
