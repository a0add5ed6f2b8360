// Arena planning by liveness: every activation and scratch buffer gets an offset in one arena, buffers whose
// lifetimes overlap never share bytes, and the peak is as small as a greedy-by-size placement finds
// (TFLite Micro's approach). With `reuse: false` every tensor keeps its own bytes (calibration reads them all).
import { tensorBytes, type OpDesc, type TensorDesc } from "./qwm.ts";

const align16 = (n: number) => (n + 15) & ~15;

export interface Plan { offsets: number[]; arenaBytes: number }

/** Lifetime [first, last] of each tensor in op indices; the model input is live from -1, the output to the end. */
export function lifetimes(nTensors: number, ops: OpDesc[], input: number, output: number): [number, number][] {
  const life: [number, number][] = Array.from({ length: nTensors }, () => [Infinity, -Infinity]);
  const touch = (t: number, i: number) => { life[t][0] = Math.min(life[t][0], i); life[t][1] = Math.max(life[t][1], i); };
  touch(input, -1);
  ops.forEach((op, i) => {
    op.inputs.forEach((t) => touch(t, i));
    touch(op.output, i);
    if (op.scratch !== undefined) touch(op.scratch, i);
  });
  touch(output, ops.length);
  return life;
}

export function planArena(tensors: TensorDesc[], ops: OpDesc[], input: number, output: number, reuse = true): Plan {
  const life = lifetimes(tensors.length, ops, input, output);
  const size = tensors.map((t) => align16(tensorBytes(t)));
  const offsets = new Array<number>(tensors.length).fill(0);
  if (!reuse) {
    let at = 0;
    tensors.forEach((_, i) => { offsets[i] = at; at += size[i]; });
    return { offsets, arenaBytes: at };
  }
  const order = tensors.map((_, i) => i).filter((i) => life[i][0] <= life[i][1])
    .sort((a, b) => size[b] - size[a] || life[a][0] - life[b][0] || a - b);
  const placed: number[] = [];
  let peak = 0;
  for (const t of order) {
    const clashes = placed
      .filter((p) => life[p][0] <= life[t][1] && life[t][0] <= life[p][1])
      .map((p) => [offsets[p], offsets[p] + size[p]] as const)
      .sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [s, e] of clashes) {
      if (at + size[t] <= s) break;
      at = Math.max(at, e);
    }
    offsets[t] = at;
    peak = Math.max(peak, at + size[t]);
    placed.push(t);
  }
  return { offsets, arenaBytes: peak };
}
