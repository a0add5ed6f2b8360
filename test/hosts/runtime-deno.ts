// Runs the runtime checks of test/runtime.test.ts (1) on a build inside Deno (the relaxed-SIMD build, which
// Node 20 must not run): every program through qwm_run_pixels / qwm_run_f32 against the same kernels called
// step by step. Prints one JSON line; the output bytes (hex) let the Node side compare builds bit for bit.
import { KernelHost } from "../../src/wasm/kernels.ts";
import { runtimeChecks } from "../helpers/runtime_programs.ts";

declare const Deno: any;
const build = Deno.args[0] ?? "relaxed";
const bytes = await Deno.readFile(new URL(`../../build/qwasm.${build}.wasm`, import.meta.url));
const host = await KernelHost.create(bytes);
console.log(JSON.stringify({ build, results: runtimeChecks(host) }));
