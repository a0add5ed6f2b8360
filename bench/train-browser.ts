// npm run bench:train-browser: the training engine in Debian Chromium (playwright-core) against Node on the same
// workload (bench/train-browser/task.ts: fmnist-cnn, batch 64, 1,280 synthetic 28x28 images, one epoch, fp32 and
// W4A4 LSQ; after a warm-up of 256 images): ms per training image in each, and whether their losses and .qwm are identical. --images N: more
// images. Figures are printed, never asserted; the correctness test is test/train-browser.test.ts.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as esbuild from "esbuild";
import "../src/train/node.ts";
import { benchTrain } from "./train-browser/task.ts";

const CHROMIUM = "/usr/bin/chromium";
const at = process.argv.indexOf("--images");
const images = at > 0 ? Number(process.argv[at + 1]) : 1280;
if (!existsSync(CHROMIUM)) { console.error(`needs Debian chromium (${CHROMIUM})`); process.exit(1); }

const built = await esbuild.build({
  entryPoints: [new URL("train-browser/entry.ts", import.meta.url).pathname], bundle: true, write: false, outdir: "/tmp",
  format: "esm", platform: "browser", target: "es2022", minify: true, loader: { ".wasm": "binary" }, logLevel: "warning",
});
const js = built.outputFiles[0].contents;
const server = createServer((req, res) => {
  if (req.url === "/entry.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
  else res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><link rel="icon" href="data:,"><script type="module" src="/entry.js"></script>');
});
await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
const { chromium } = await import("playwright-core");
const profile = mkdtempSync(join(tmpdir(), "qwasm-bench-chromium-"));
const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
try {
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
  await page.waitForFunction(() => window.bench !== undefined);
  console.log(`fmnist-cnn, batch 64, ${images} synthetic images, one epoch (forward + backward + SGD step, plus the export); bundle ${(js.length / 1024).toFixed(0)} KiB minified`);
  for (const quant of [false, true]) {
    // warm-up (JIT, wasm tier-up) in both, not timed
    await benchTrain(256, quant);
    await page.evaluate(([n, q]) => window.bench!(n, q), [256, quant] as [number, boolean]);
    const node = await benchTrain(images, quant);
    const br = await page.evaluate(([n, q]) => window.bench!(n, q), [images, quant] as [number, boolean]);
    const same = node.lossBits === br.lossBits && node.qwmHash === br.qwmHash;
    console.log(`  ${quant ? "W4A4 lsq" : "fp32    "}  Node ${node.msPerImage.toFixed(2)} ms/image, Chromium ${br.msPerImage.toFixed(2)} ms/image; last loss ${br.lastLoss.toFixed(4)}; .qwm ${br.qwmBytes} bytes; losses and .qwm ${same ? "identical" : "DIFFER"}`);
  }
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
