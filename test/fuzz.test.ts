// The structure-aware fuzzer (test/fuzz/) in CI: 21,000 seeded, deterministic cases of the .qwm validator on
// the SIMD and no-SIMD builds (12,000), the image decoders (6,000) and the ONNX importer (3,000), each target
// in a worker thread under the hang watchdog. Every case must end accepted or rejected by a typed error, with
// no trap, crash, stray memory write, unbounded allocation, hang or disagreement between builds. Prints the
// counts and how many cases each check rejected. `npm run fuzz -- --long` runs 200,000 (QWASM_FUZZ_CASES and
// QWASM_FUZZ_SEED change the test's).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fuzz } from "./fuzz/driver.ts";
import { formatReport } from "./fuzz/core.ts";

const total = Number(process.env.QWASM_FUZZ_CASES ?? 21_000);
const seed = Number(process.env.QWASM_FUZZ_SEED ?? 1);
const plan = [
  { name: "qwm", cases: Math.round((total * 4) / 7) },
  { name: "image", cases: Math.round((total * 2) / 7) },
  { name: "onnx", cases: Math.round(total / 7) },
];

test(`fuzz: ${plan.reduce((a, t) => a + t.cases, 0)} cases (qwm validator on 2 builds, image decoders, ONNX importer), seed ${seed}`, async () => {
  const reports = await fuzz({ seed, targets: plan });
  for (const r of reports) console.log(formatReport(r, 25).split("\n").map((l) => `  ${l}`).join("\n"));
  const cases = reports.reduce((a, r) => a + r.cases, 0);
  assert.ok(cases >= 20_000 || total < 20_000, `only ${cases} cases`);
  for (const r of reports) {
    assert.equal(r.failures.map((f) => `${f.target} case ${f.index} ${f.kind} [${f.mutators}]: ${f.detail.split("\n")[0]}`), [], `${r.target}: failures`);
    assert.is(r.cases, plan.find((p) => p.name === r.target)!.cases);
    assert.ok(r.rejected > 0 && r.accepted > 0, `${r.target}: ${r.accepted} accepted, ${r.rejected} rejected`);
  }
  // the qwm target reached the deep checks (not only checksums) and compared the builds on accepted files
  const q = reports.find((r) => r.target === "qwm")!;
  assert.ok(Object.keys(q.rejectedBy).length >= 40, `only ${Object.keys(q.rejectedBy).length} distinct validator checks fired`);
  assert.ok((q.counters["differential runs equal"] ?? 0) > 1000, "too few differential runs");
  console.log(`  fuzz: ${cases} cases, 0 failures`);
});

test.run();
