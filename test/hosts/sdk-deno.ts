// The SDK under Deno: the source entry (sdk/hosts/deno.ts), the bundled dist/sdk/deno.js, the bundled
// dist/sdk/browser.js (fetch of file: URLs, as a browser fetches http:), and forced no-SIMD and relaxed builds
// (the int8 model gets the lite build otherwise). Loads the
// model a directory holds (dense.qwm; pixels px.bin, 3 images of 3x5x3), prints one JSON line of results.
// Started by test/sdk.test.ts with the npm `deno` binary.
declare const Deno: any;
const dir = Deno.args[0];
const bytes = await Deno.readFile(`${dir}/dense.qwm`);
const px: Uint8Array = await Deno.readFile(`${dir}/px.bin`);
const entries: [string, string, Record<string, unknown>][] = [
  ["sdk/hosts/deno.ts", "../../sdk/hosts/deno.ts", {}],
  ["dist/sdk/deno.js", "../../dist/sdk/deno.js", {}],
  ["dist/sdk/browser.js", "../../dist/sdk/browser.js", {}],
  ["dist/sdk/deno.js nosimd", "../../dist/sdk/deno.js", { build: "nosimd" }],
  ["dist/sdk/deno.js relaxed", "../../dist/sdk/deno.js", { build: "relaxed" }],
];
const results = [];
for (const [entry, path, options] of entries) {
  try {
    const sdk = await import(path);
    const m = await sdk.loadModel(bytes, options);
    const { raw } = m.run(px, { batch: 3 });
    const top = m.classify({ width: 5, height: 3, data: px.subarray(0, 45) }, { topK: 7 });
    results.push({ entry, build: m.info.build, raw: Array.from(raw), top });
    m.dispose();
  } catch (e) {
    results.push({ entry, error: String((e as Error)?.stack ?? e) });
  }
}
console.log(JSON.stringify(results));
