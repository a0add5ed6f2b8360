// Build-time feature switches. QW_LOWBIT is an integer constant that asc introduces with `--use QW_LOWBIT=0|1`
// (asconfig.json sets it per target): 1 in the full builds, 0 in the lite build (build/qwasm.lite.wasm).
// `if (LOWBIT)` / `if (!LOWBIT)` on it is folded at compile time, so the lite build never compiles the sub-8-bit
// ops (.qwm op codes 24..39): its validator rejects them as unknown op codes and no low-bit kernel is linked in.
// The SDK (sdk/core/wasm.ts, LOWBIT_OP) sends every model with an op code >= 24 to the full builds: a new int8 or
// fp32 op must take a code below 24 or change that rule too.

// @ts-ignore: QW_LOWBIT is defined by asc --use
export const LOWBIT: bool = QW_LOWBIT != 0;
