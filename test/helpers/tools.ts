// Finding external tools (deno, wasm-objdump, chromium, ...) for tests that need them.
// A missing tool skips its test with a clear message; under CI (CI=true) a missing tool fails instead.
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function findTool(name: string): string | null {
  const local = `${ROOT}node_modules/.bin/${name}`;
  if (existsSync(local)) return local;
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

/** Registers `fn` as a test when `ok`; otherwise a skip with `why` (a failure under CI). */
export function testIf(ok: boolean, name: string, why: string, fn: () => unknown) {
  if (ok) return test(name, fn as any);
  if (process.env.CI === "true") {
    return test(name, () => assert.unreachable(`required under CI but unavailable: ${why}`));
  }
  console.log(`  SKIP ${name}: ${why}`);
}
