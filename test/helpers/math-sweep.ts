// A fingerprint of a set of math functions over 4 x 20,000 fixed arguments (FNV-1a over their f64 bits), to
// compare JavaScript engines: test/train-browser.test.ts computes it in Node and in Chromium.
export type MathFns = { exp(x: number): number; log(x: number): number; cos(x: number): number; tanh(x: number): number };

export function mathSweep(m: MathFns): Record<keyof MathFns, string> {
  const f64 = new Float64Array(1), u32 = new Uint32Array(f64.buffer);
  const out = {} as Record<keyof MathFns, string>;
  for (const name of ["exp", "log", "cos", "tanh"] as const) {
    let h = 0x811c9dc5, a = 12345;
    for (let i = 0; i < 20000; i++) {
      a = (Math.imul(a, 1103515245) + 12345) >>> 0;
      const u = a / 2 ** 32;
      const x = name === "exp" ? (u - 0.5) * 80 : name === "log" ? u * 1e3 + 1e-12 : name === "cos" ? u * 2 * Math.PI : (u - 0.5) * 8;
      f64[0] = m[name](x);
      h = Math.imul(h ^ u32[0], 0x01000193) >>> 0;
      h = Math.imul(h ^ u32[1], 0x01000193) >>> 0;
    }
    out[name] = h.toString(16).padStart(8, "0");
  }
  return out;
}
