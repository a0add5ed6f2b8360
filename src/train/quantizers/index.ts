// The registry of fake-quantization methods (--method). Part 2 (binary / ternary training, regularizers, INQ)
// adds entries here: a Method gives a WeightQuantizer and an ActQuantizer (types.ts).
import { dorefa, pact } from "./dorefa.ts";
import { lsq } from "./lsq.ts";
import { ste, steClipped } from "./ste.ts";
import { xnor } from "./xnor.ts";
import { ttq, twn } from "./ternary.ts";
import { reg } from "./regularizer.ts";
import { inq } from "./inq.ts";
import type { Method } from "./types.ts";
import { QwmTrainError } from "../kernels.ts";

export * from "./types.ts";

export const METHODS: Record<string, Method> = { lsq, pact, dorefa, ste, "ste-clip": steClipped, xnor, twn, ttq, reg, inq };

/**
 * Refuses a method with bits it is not for: 1-bit weights and activations are xnor's (binary layers need both),
 * twn / ttq are ternary (2-bit weights), and the other methods quantize 4 and 2-bit weights, 4, 3 and 2-bit
 * activations (8 and 32: no fake quantization).
 */
export function checkMethod(name: string, weightBits: number, actBits: number): Method {
  const m = method(name);
  const wOk = m.weightBits ?? [4, 2], aOk = m.actBits ?? [4, 3, 2];
  if (weightBits === 1 || actBits === 1) {
    if (name !== "xnor") throw new QwmTrainError(`--weights ${weightBits} --acts ${actBits}: binary layers are trained with --method xnor`);
    if (weightBits !== 1 || actBits !== 1) throw new QwmTrainError(`--method xnor: binary XNOR layers need --weights 1 --acts 1 (got --weights ${weightBits} --acts ${actBits})`);
    return m;
  }
  if (weightBits < 8 && !wOk.includes(weightBits)) throw new QwmTrainError(`--method ${name} quantizes weights to ${wOk.join(" or ")} bits, not ${weightBits}`);
  if (m.weightBits && weightBits >= 8) throw new QwmTrainError(`--method ${name} is for ${m.weightBits.join(" / ")}-bit weights (got --weights ${weightBits})`);
  if (actBits < 8 && !aOk.includes(actBits)) throw new QwmTrainError(`--method ${name}: ${actBits}-bit activations are not supported (use ${aOk.join(", ")}, 8 or 32)`);
  return m;
}

export function method(name: string): Method {
  const m = METHODS[name];
  if (!m) throw new QwmTrainError(`unknown --method '${name}' (use ${Object.keys(METHODS).join(", ")})`);
  return m;
}
