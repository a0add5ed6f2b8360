// Every kernel against its TypeScript reference, in every build, bit for bit:
// SIMD and no-SIMD in Node; relaxed SIMD in Deno (see src/wasm/module.ts for why not in Node).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { allCases } from "./cases/index.ts";
import { firstDiff } from "./cases/types.ts";
import { KernelHost } from "../src/wasm/kernels.ts";
import { nodeBuilds, readBuild } from "../src/wasm/module.ts";
import { findTool, testIf, ROOT } from "./helpers/tools.ts";

const hosts = await Promise.all(nodeBuilds().map(async (b) => [b, await KernelHost.create(readBuild(b))] as const));

for (const c of allCases) {
  test(c.name, () => {
    for (const [build, host] of hosts) {
      const { got, want } = c.run(host);
      const i = firstDiff(got, want);
      assert.is(i, -1, `${build}: first difference at ${i}: got ${got[i]}, want ${want[i]}`);
    }
  });
}

const deno = findTool("deno");
testIf(!!deno, `all ${allCases.length} kernel cases on the relaxed-SIMD build under Deno`, "npm package deno is not installed", () => {
  const out = execFileSync(deno!, ["run", "--quiet", "--no-lock", "--allow-read", "test/hosts/kernels-deno.ts", "relaxed"], {
    cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20,
  });
  const { results } = JSON.parse(out.trim().split("\n").pop()!);
  assert.is(results.length, allCases.length);
  const bad = results.filter((r: any) => !r.ok).map((r: any) => `${r.name}: ${r.detail}`);
  assert.equal(bad, [], "relaxed build differs from the reference");
});

test.run();
