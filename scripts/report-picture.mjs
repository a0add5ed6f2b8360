// A picture of a quantization report (the README's docs/img/report.png): opens the report HTML in Debian
// Chromium through playwright-core and saves the page from its top down to the end of the given section.
//   node scripts/report-picture.mjs report.html docs/img/report.png [--until tradeoff] [--width 1000]
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args.splice(i, 2)[1] : dflt; };
const until = opt("until", "tradeoff"), width = Number(opt("width", "1000"));
const [html, out] = args;
if (!html || !out) {
  console.error("usage: node scripts/report-picture.mjs REPORT.html OUT.png [--until SECTION-ID] [--width PX]");
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), "qwasm-picture-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, viewport: { width, height: 800 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(`file://${resolve(html)}`);
  const box = await page.locator(`#${until}`).boundingBox();
  if (!box) throw new Error(`no section #${until} in ${html}`);
  await page.screenshot({ path: out, clip: { x: 0, y: 0, width, height: Math.ceil(box.y + box.height + 12) }, fullPage: true });
  console.log(`wrote ${out}: ${statSync(out).size} bytes, ${width} x ${Math.ceil(box.y + box.height + 12)} px`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
