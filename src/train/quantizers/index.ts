// The registry of fake-quantization methods (--method). Part 2 (binary / ternary training, regularizers, INQ)
// adds entries here: a Method gives a WeightQuantizer and an ActQuantizer (types.ts).
import { dorefa, pact } from "./dorefa.ts";
import { lsq } from "./lsq.ts";
import { ste, steClipped } from "./ste.ts";
import type { Method } from "./types.ts";
import { QwmTrainError } from "../kernels.ts";

export * from "./types.ts";

export const METHODS: Record<string, Method> = { lsq, pact, dorefa, ste, "ste-clip": steClipped };

export function method(name: string): Method {
  const m = METHODS[name];
  if (!m) throw new QwmTrainError(`unknown --method '${name}' (use ${Object.keys(METHODS).join(", ")})`);
  return m;
}
