// npm run bench:train: speed of the training engine (src/train/, build/qwasm.train.wasm).
//   1. the GEMM kernel in the three shapes a conv layer's training step uses (ResNet-20 stage-1 3x3 conv, batch 64):
//      forward  Y[P][N]  = col[P][K] W^T[K][N]        (A read row-major)
//      weights  dW[N][K] = dY^T[N][P] col[P][K]       (A read transposed)
//      input    dcol[P][K] = dY[P][N] W[N][K]
//   2. ms per training image (forward + backward + optimizer step) of ResNet-20 (../shared, or the built-in
//      cifar-resnet20 when ../shared is absent) and the fmnist-cnn, fp32 and W4A4 LSQ, per layer kind.
// Medians of timed repeats; --quick: fewer. Figures are printed, never asserted.
import { existsSync } from "node:fs";
import { loadOnnx } from "../src/api.ts";
import { Kernels } from "../src/train/kernels.ts";
import { Net, buildArch, type TrainGraph } from "../src/train/node.ts";
import { softmaxCrossEntropy } from "../src/train/layers.ts";
import { Sgd } from "../src/train/optim.ts";

const quick = process.argv.includes("--quick");
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];

const k = new Kernels();
const P = 64 * 32 * 32, N = 16, K = 144;
const a = k.alloc(P * K), w = k.alloc(N * K), y = k.alloc(P * N);
for (const b of [a, w, y]) k.f32(b).forEach((_, i, arr) => (arr[i] = ((i * 2654435761) % 1000) / 1000 - 0.5));
console.log(`GEMM (f32 SIMD, 4x8 register block), P=${P} N=${N} K=${K}: GMAC/s`);
for (const [name, run] of [
  ["forward  col * W^T", () => k.gemm(P, N, K, a.off, K, 1, w.off, N, y.off, N, 0)],
  ["weights  dY^T * col", () => k.gemm(N, K, P, y.off, 1, N, a.off, K, w.off, K, 0)],
  ["input    dY * W", () => k.gemm(P, K, N, y.off, N, 1, w.off, K, a.off, K, 0)],
] as const) {
  const ts: number[] = [];
  for (let r = 0; r < (quick ? 3 : 7); r++) { const t = performance.now(); run(); ts.push(performance.now() - t); }
  console.log(`  ${name.padEnd(22)} ${((P * N * K) / median(ts) / 1e6).toFixed(2)} GMAC/s (${median(ts).toFixed(1)} ms)`);
}

const SHARED = new URL("../../shared/models/cifar10_resnet20_dev.onnx", import.meta.url);
const nets: [string, () => TrainGraph][] = [
  [existsSync(SHARED) ? "ResNet-20 (../shared ONNX, BN folded)" : "cifar-resnet20 (built in)", () => existsSync(SHARED) ? loadOnnx(SHARED.pathname).graph : buildArch("cifar-resnet20", 1)],
  ["fmnist-cnn (built in, BN)", () => buildArch("fmnist-cnn", 1)],
];
for (const [name, make] of nets) {
  for (const q of [{ weightBits: 32, actBits: 32, method: "lsq" }, { weightBits: 4, actBits: 4, method: "lsq" }]) {
    const B = 64, net = new Net(make(), B, q);
    const x = new Float32Array(B * net.input.size).map((_, i) => Math.sin(i));
    const labels = Int32Array.from({ length: B }, (_, i) => i % net.classes);
    const opt = new Sgd(0.9, 1e-4), params = net.params();
    const per = new Map<string, number>();
    for (const l of net.layers) {
      const f = l.forward.bind(l), b = l.backward.bind(l), kind = l.constructor.name;
      l.forward = (...args: Parameters<typeof f>) => { const t = performance.now(); f(...args); per.set(kind, (per.get(kind) ?? 0) + performance.now() - t); };
      l.backward = (...args: Parameters<typeof b>) => { const t = performance.now(); b(...args); per.set(kind, (per.get(kind) ?? 0) + performance.now() - t); };
    }
    const steps: number[] = [];
    const reps = quick ? 3 : 6;
    for (let s = 0; s < reps; s++) {
      if (s === 1) per.clear();
      const t = performance.now();
      net.setInput(x);
      const g = new Float32Array(B * net.classes);
      softmaxCrossEntropy(net.forward(B, true), labels, B, net.classes, g);
      net.backward(B, g);
      opt.step(params, 1e-4);
      steps.push(performance.now() - t);
    }
    const ms = median(steps.slice(1)) / B;
    const split = [...per].sort((p, q2) => q2[1] - p[1]).map(([kd, v]) => `${kd} ${(v / (reps - 1) / B).toFixed(2)}`).join(", ");
    console.log(`${name}, ${q.weightBits === 32 ? "fp32" : "W4A4 lsq"}: ${ms.toFixed(2)} ms per training image (batch ${B}; ${(10000 * ms / 1000).toFixed(0)} s per 10,000 images); per layer kind, ms/image: ${split}`);
    net.k.dispose();
  }
}
