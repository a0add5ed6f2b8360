// Runs every kernel case on the relaxed-SIMD build inside Deno (Node 20 must not run relaxed SIMD) and
// prints one JSON line of results. Started by test/kernels.test.ts with the npm `deno` binary.
import { allCases } from "../cases/index.ts";
import { firstDiff } from "../cases/types.ts";
import { KernelHost } from "../../src/wasm/kernels.ts";

declare const Deno: any;
const build = Deno.args[0] ?? "relaxed";
const bytes = await Deno.readFile(new URL(`../../build/qwasm.${build}.wasm`, import.meta.url));
const host = await KernelHost.create(bytes);
const results = allCases.map((c) => {
  try {
    const { got, want } = c.run(host);
    const i = firstDiff(got, want);
    return { name: c.name, ok: i < 0, detail: i < 0 ? "" : `first difference at ${i}: got ${got[i]}, want ${want[i]}` };
  } catch (e) {
    return { name: c.name, ok: false, detail: String(e) };
  }
});
console.log(JSON.stringify({ build, results }));
