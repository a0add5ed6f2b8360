// npm run fuzz -- [--cases N] [--seed S] [--target qwm|onnx|image[,...]] [--from I] [--long]
// The structure-aware fuzzer of the .qwm validator, the ONNX importer and the image decoders (test/fuzz/*.ts).
// --cases N: cases in all, split between the targets as in CI (qwm 4/7, image 2/7, onnx 1/7); default 21,000.
// --long: 200,000 cases by default, and ../shared/models among the importer's seeds.
// Reproduce one case: --target T --from I --cases 1 --seed S. --json FILE writes the reports with every
// failure. Exit status 1 when any case failed.
import { writeFileSync } from "node:fs";
import { fuzz } from "./driver.ts";
import { formatReport } from "./core.ts";

const args = process.argv.slice(2);
const flag = (n: string) => { const i = args.indexOf(`--${n}`); return i >= 0 ? args[i + 1] : undefined; };
const long = args.includes("--long");
const total = Number(flag("cases") ?? (long ? 200_000 : 21_000));
const seed = Number(flag("seed") ?? 1);
const from = Number(flag("from") ?? 0);
const names = (flag("target") ?? "qwm,image,onnx").split(",");
const SHARE: Record<string, number> = { qwm: 4, image: 2, onnx: 1 };
if (!Number.isInteger(total) || total < 1 || !Number.isInteger(seed) || names.some((n) => !(n in SHARE))) {
  console.error("usage: npm run fuzz -- [--cases N] [--seed S] [--target qwm,image,onnx] [--from I] [--long] [--json FILE]");
  process.exit(2);
}
const w = names.reduce((a, n) => a + SHARE[n], 0);
const targets = names.map((name) => ({ name, cases: Math.max(1, Math.round((total * SHARE[name]) / w)), from }));
const t0 = performance.now();
const reports = await fuzz({ seed, targets, long, onLine: (l) => console.log(l) });
for (const r of reports) console.log(formatReport(r));
if (flag("json")) writeFileSync(flag("json")!, JSON.stringify(reports, null, 1));
const cases = reports.reduce((a, r) => a + r.cases, 0), fails = reports.reduce((a, r) => a + r.failures.length, 0);
console.log(`fuzz: ${cases} cases, ${fails} failures, ${((performance.now() - t0) / 1000).toFixed(1)} s (seed ${seed})`);
process.exit(fails ? 1 : 0);
