// Every kernel case, host-agnostic: test/kernels.test.ts runs them in Node, test/hosts/kernels-deno.ts in Deno.
import { qs8ConvCases } from "./qs8_conv.ts";
import { f32Cases } from "./f32.ts";
import { qs8MiscCases } from "./qs8_misc.ts";
import { lowbitCases } from "./lowbit.ts";
import { lowbitDwCases } from "./lowbit_dw.ts";
import type { KernelCase } from "./types.ts";

export const allCases: KernelCase[] = [...qs8ConvCases, ...f32Cases, ...qs8MiscCases, ...lowbitCases, ...lowbitDwCases];
