// Deno, through the shipped SDK bundle (dist/sdk/deno.js): a batch of uint8 pixels through each build, printing
// { build: raw int8 outputs } as one JSON line. For test/determinism.test.ts.
// Usage: deno run --allow-read test/hosts/determinism-deno.ts MODEL.qwm PIXELS.bin BATCH
declare const Deno: any;
const { loadModel } = (await import("../../dist/sdk/deno.js" as string)) as typeof import("../../sdk/hosts/deno.ts");
const [model, pixels, batch] = Deno.args;
const px: Uint8Array = await Deno.readFile(pixels);
const out: Record<string, number[]> = {};
for (const build of ["lite", "relaxed", "simd", "nosimd"] as const) {
  const m = await loadModel(model, { build });
  if (m.info.build !== build) throw new Error(`asked for ${build}, got ${m.info.build}`);
  out[build] = Array.from(m.run(px, { batch: Number(batch) }).raw);
  m.dispose();
}
console.log(JSON.stringify(out));
