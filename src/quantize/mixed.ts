// Automatic mixed precision (issue 7): bits per layer from a sensitivity table (src/quantize/sensitivity.ts)
// that meet a size budget or an average-bits budget with the least predicted loss. The loss is additive over
// layers, HAWQ-V3 style: a layer at b bits adds its own share kl(b) - kl(8) (or, with loss "top1", its drop in
// top-1 agreement), measured with every other layer at int8. The search is exact: a dynamic program over the
// layers that keeps, after each layer, the Pareto front of (cost, loss) of the partial choices (a state is
// dropped only when another costs no more and loses no more, or when even the cheapest completion would break
// the budget), so the best state of the last front is the optimum of the multiple-choice knapsack.
//
// Costs. --size-budget KiB counts the .qwm weights section: every layer's packed weights (16-byte padded, what
// `inspect` reports as "weights") plus the few bytes of activation lookup tables. --avg-bits B is the
// parameter-weighted average of the weight bits over every conv / dense / depthwise layer, first and last
// included, with each layer counted at the bits of the kernel it runs on (a 2-bit layer stored widened on the
// int4 kernel counts 4), as `inspect` shows it.
import type { LayerSensitivity, SensitivityTable } from "./sensitivity.ts";
import { QwmQuantizeError } from "./params.ts";

export interface MixedOptions {
  /** Budget on the .qwm weights section, in bytes. */
  sizeBudgetBytes?: number;
  /** Budget on the parameter-weighted average weight bits. */
  avgBits?: number;
  /** Layers whose bits are given (first / last layer policy, explicit --bits-per-layer): not searched. */
  fixed?: Record<string, number>;
  /** Predicted loss of a layer at b bits: its KL share (default) or its top-1 agreement drop. */
  loss?: "kl" | "top1";
}

export interface MixedChoice {
  bitsPerLayer: Record<string, number>;
  /** Sum of the chosen options' predicted losses. */
  predictedLoss: number;
  /** The .qwm weights section of the choice, in bytes. */
  weightBytes: number;
  /** Parameter-weighted average weight bits (stored bits) of the choice. */
  avgBits: number;
  /** The budget as given, in words (for provenance and reports). */
  budget: string;
  /** Pareto states kept at most after one layer (the search's width). */
  frontMax: number;
}

export interface LayerOption { bits: number; cost: number; loss: number }

/** Layer `l`'s predicted loss at `b` bits. */
export function layerLoss(l: LayerSensitivity, b: number, loss: "kl" | "top1" = "kl"): number {
  const s = l.perBits[b], s8 = l.perBits[8];
  return loss === "kl" ? Math.max(0, s.kl - s8.kl) : Math.max(0, s8.top1Agreement - s.top1Agreement);
}

/**
 * The exact multiple-choice knapsack: one option per layer, total cost <= budget, least total loss (ties: least
 * cost, then the earlier options). Returns each layer's option index, or undefined when nothing fits.
 */
export function knapsack(options: LayerOption[][], budget: number): { pick: number[]; cost: number; loss: number; frontMax: number } | undefined {
  interface State { cost: number; loss: number; prev: number; opt: number }
  const minRest: number[] = new Array(options.length + 1).fill(0);
  for (let i = options.length - 1; i >= 0; i--) minRest[i] = minRest[i + 1] + Math.min(...options[i].map((o) => o.cost));
  if (minRest[0] > budget) return undefined;
  const fronts: State[][] = [];
  let front: State[] = [{ cost: 0, loss: 0, prev: -1, opt: -1 }];
  let frontMax = 1;
  options.forEach((opts, i) => {
    const next: State[] = [];
    front.forEach((s, si) => opts.forEach((o, oi) => {
      const cost = s.cost + o.cost;
      if (cost + minRest[i + 1] <= budget) next.push({ cost, loss: s.loss + o.loss, prev: si, opt: oi });
    }));
    next.sort((a, b) => a.cost - b.cost || a.loss - b.loss);
    const kept: State[] = [];
    for (const s of next) if (!kept.length || s.loss < kept[kept.length - 1].loss) kept.push(s);
    fronts.push(kept);
    front = kept;
    frontMax = Math.max(frontMax, kept.length);
  });
  // the front is sorted by cost with strictly falling loss: its last state has the least loss
  let si = front.length - 1;
  const best = front[si];
  const pick: number[] = new Array(options.length);
  for (let i = options.length - 1; i >= 0; i--) {
    const s = fronts[i][si];
    pick[i] = s.opt;
    si = s.prev;
  }
  return { pick, cost: best.cost, loss: best.loss, frontMax };
}

/** Bits per layer from `table` that meet the budget of `opts` with the least predicted loss. */
export function chooseBits(table: SensitivityTable, opts: MixedOptions): MixedChoice {
  const bySize = opts.sizeBudgetBytes !== undefined, byAvg = opts.avgBits !== undefined;
  if (bySize === byAvg) throw new QwmQuantizeError("mixed precision: give exactly one budget, a size (KiB) or an average of bits");
  if (bySize && !(opts.sizeBudgetBytes! > 0)) throw new QwmQuantizeError(`mixed precision: the size budget must be positive, got ${opts.sizeBudgetBytes}`);
  if (byAvg && !(opts.avgBits! > 0 && opts.avgBits! <= 8)) throw new QwmQuantizeError(`mixed precision: the average bits must be in (0, 8], got ${opts.avgBits}`);
  const fixed = opts.fixed ?? {};
  const names = new Set(table.layers.map((l) => l.name));
  for (const n of Object.keys(fixed)) if (!names.has(n)) throw new QwmQuantizeError(`mixed precision: no conv / dense layer is named '${n}'`);
  const totalParams = table.layers.reduce((a, l) => a + l.params, 0);
  const costOf = (l: LayerSensitivity, b: number) => (bySize ? l.bytesAtBits[b] : l.storedBitsAtBits[b] * l.params);
  const options: LayerOption[][] = table.layers.map((l) => {
    const measured = Object.keys(l.perBits).map(Number).sort((a, b) => b - a);
    const f = fixed[l.name];
    if (f !== undefined && !measured.includes(f)) throw new QwmQuantizeError(`mixed precision: layer '${l.name}' is fixed at ${f} bits, which the sensitivity table did not measure (${measured.join(", ")})`);
    return (f !== undefined ? [f] : measured).map((b) => ({ bits: b, cost: costOf(l, b), loss: layerLoss(l, b, opts.loss) }));
  });
  const budget = bySize ? opts.sizeBudgetBytes! - table.otherWeightBytes : Math.floor(opts.avgBits! * totalParams + 1e-9);
  const best = knapsack(options, budget);
  const budgetText = bySize ? `weights section <= ${opts.sizeBudgetBytes} bytes (${(opts.sizeBudgetBytes! / 1024).toFixed(2)} KiB)` : `average weight bits <= ${opts.avgBits}`;
  if (!best) {
    const least = options.reduce((a, o) => a + Math.min(...o.map((x) => x.cost)), 0);
    const reach = bySize ? `${least + table.otherWeightBytes} bytes (${((least + table.otherWeightBytes) / 1024).toFixed(2)} KiB)` : `${(least / totalParams).toFixed(3)} average bits`;
    throw new QwmQuantizeError(`mixed precision: the budget (${budgetText}) cannot be met: the fewest bits allowed (${Object.keys(fixed).length} layers fixed) still take ${reach}`);
  }
  const bitsPerLayer: Record<string, number> = {};
  let bytes = table.otherWeightBytes, bitSum = 0;
  table.layers.forEach((l, i) => {
    const b = options[i][best.pick[i]].bits;
    bitsPerLayer[l.name] = b;
    bytes += l.bytesAtBits[b];
    bitSum += l.storedBitsAtBits[b] * l.params;
  });
  return { bitsPerLayer, predictedLoss: best.loss, weightBytes: bytes, avgBits: bitSum / totalParams, budget: budgetText, frontMax: best.frontMax };
}
