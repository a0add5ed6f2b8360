// Deno: runs a .qwm on a batch of uint8 pixels with one build and prints the raw outputs as a JSON array.
// Usage: deno run --allow-read test/hosts/run-qwm-deno.ts BUILD MODEL.qwm PIXELS.bin BATCH
import { Runner } from "../../src/engine/runner.ts";

declare const Deno: any;
const [build, model, pixels, batch] = Deno.args;
const wasm = await Deno.readFile(new URL(`../../build/qwasm.${build}.wasm`, import.meta.url));
const runner = await Runner.create(wasm, await Deno.readFile(model));
console.log(JSON.stringify(Array.from(runner.runPixels(await Deno.readFile(pixels), Number(batch)))));
