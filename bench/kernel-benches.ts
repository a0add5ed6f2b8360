// The shapes of npm run bench:kernels: each entry prepares its buffers in a KernelHost and returns the call.
import type { KernelHost } from "../src/wasm/kernels.ts";
import { packQs8Gemm } from "../src/pack/layout.ts";
import { rng } from "../test/helpers/ref.ts";

export interface Bench { name: string; macs: number; setup(h: KernelHost): () => void }

interface Conv { H: number; C: number; N: number; K: number; S: number }
const outSize = (c: Conv) => Math.floor((c.H + 2 * (c.K >> 1) - c.K) / c.S) + 1;

function qs8Conv(c: Conv): Bench {
  const O = outSize(c), P = c.K >> 1;
  return {
    name: `qs8 conv2d ${c.K}x${c.K} ${c.C}->${c.N} @${c.H}x${c.H}${c.S > 1 ? ` s${c.S}` : ""}`,
    macs: O * O * c.N * c.K * c.K * c.C,
    setup(h) {
      const r = rng(1);
      const taps = c.K * c.K;
      const px = h.put(r.i8(c.H * c.H * c.C));
      const pw = h.put(packQs8Gemm(r.i8(c.N * taps * c.C, -127, 127), c.N, taps, c.C, new Int32Array(c.N), new Int32Array(c.N).fill(1 << 20)));
      const po = h.alloc(O * O * c.N);
      const ps = h.alloc(h.fn("qs8_conv2d_scratch_bytes")(O, O, c.C, c.K, c.K, c.S, c.S, 1, 1));
      const f = h.fn("qs8_conv2d");
      return () => f(px, c.H, c.H, c.C, 3, po, O, O, c.N, c.K, c.K, c.S, c.S, P, P, 1, 1, pw, 36, 0, -128, 127, ps);
    },
  };
}

function qs8Dense(M: number, K: number, N: number): Bench {
  return {
    name: `qs8 dense ${K}->${N} batch ${M}`,
    macs: M * K * N,
    setup(h) {
      const r = rng(2);
      const px = h.put(r.i8(M * K));
      const pw = h.put(packQs8Gemm(r.i8(N * K, -127, 127), N, 1, K, new Int32Array(N), new Int32Array(N).fill(1 << 20)));
      const po = h.alloc(M * N), ps = h.alloc(h.fn("qs8_fully_connected_scratch_bytes")(M, K));
      const f = h.fn("qs8_fully_connected");
      return () => f(M, N, K, px, 3, pw, 36, 0, -128, 127, po, ps);
    },
  };
}

const RESNET: Conv[] = [
  { H: 32, C: 16, N: 16, K: 3, S: 1 },
  { H: 16, C: 32, N: 32, K: 3, S: 1 },
  { H: 8, C: 64, N: 64, K: 3, S: 1 },
];
const POINTWISE: Conv[] = [
  { H: 32, C: 16, N: 32, K: 1, S: 1 },
  { H: 16, C: 32, N: 64, K: 1, S: 1 },
  { H: 8, C: 64, N: 128, K: 1, S: 1 },
];

export const benches: Bench[] = [
  ...RESNET.map(qs8Conv),
  ...POINTWISE.map(qs8Conv),
  qs8Dense(1, 64, 10),
  qs8Dense(64, 64, 10),
];
