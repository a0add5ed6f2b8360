// npm run conformance: ONNX's operator tests (Debian's libonnx-testdata) through the importer and our engine.
// Selects every test whose graph uses only the ops the importer claims, compares outputs with ONNX's
// tolerance (src/onnx/conformance.ts), prints passed / failed / excluded counts, every excluded test with its
// reason, and every failure. Exit code 1 on any failure (CI fails), 2 when the test data is missing.
// Usage: node --import tsx scripts/conformance.ts [DIR] [--json] [--build simd|nosimd] [--only REGEX]
//   DIR      a suite (…/data/node) or the folder of suites (default /usr/share/libonnx-testdata/data)
//   --json   one JSON object: { summary, passed, failed, excluded }
import { existsSync } from "node:fs";
import { DEFAULT_DATA_DIR, groupByReason, runConformance } from "../src/onnx/conformance.ts";
import { readBuild, type BuildName } from "../src/wasm/module.ts";

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const valued = new Set(["--build", "--only"]);
const positional = args.filter((a, i) => !a.startsWith("--") && !valued.has(args[i - 1]));
const dir = positional[0] ?? DEFAULT_DATA_DIR;
const json = args.includes("--json");
const build = (opt("--build") ?? "simd") as BuildName;
const only = opt("--only");

if (!existsSync(dir)) {
  console.error(`conformance: ${dir} does not exist (install Debian's libonnx-testdata, or pass the folder of the tests)`);
  process.exit(2);
}

const res = await runConformance(dir, readBuild(build), only ? { only: new RegExp(only) } : {});
const byImporter = res.excluded.filter((e) => e.cause === "import");
const byOp = res.excluded.filter((e) => e.cause === "op");
const supported = res.passed.length + res.failed.length + byImporter.length;
const summary = {
  dir, build, passed: res.passed.length, failed: res.failed.length, excluded: byImporter.length,
  supportedOps: supported, unsupportedOps: byOp.length, total: supported + byOp.length,
};

if (json) {
  console.log(JSON.stringify({ summary, passed: res.passed, failed: res.failed, excluded: res.excluded }));
} else {
  const line = `conformance: ${summary.passed} passed, ${summary.failed} failed, ${summary.excluded} excluded ` +
    `(of ${supported} tests whose ops are all supported; ${byOp.length} tests use unsupported ops)`;
  console.log(line);
  const list = (title: string, xs: typeof res.excluded) => {
    if (!xs.length) return;
    console.log(`\n${title} (${xs.length}):`);
    for (const g of groupByReason(xs)) {
      console.log(`  ${g.reason} (${g.items.length})`);
      for (const x of g.items) console.log(`    ${x.name}${x.reason !== g.reason ? `: ${x.reason}` : ""}`);
    }
  };
  list("excluded by the importer (ONNX_UNSUPPORTED)", byImporter);
  list("excluded: the graph uses ops outside the importer's SUPPORTED_OPS", byOp);
  if (res.failed.length) {
    console.log(`\nFAILED (${res.failed.length}):`);
    for (const f of res.failed) console.log(`  ${f.name}: ${f.reason}`);
  }
  console.log(`\npassed (${res.passed.length}): ${res.passed.join(" ")}`);
  console.log(`\n${line}`);
}
process.exit(res.failed.length ? 1 : 0);
