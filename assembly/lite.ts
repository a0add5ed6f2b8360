// The qwasm lite wasm module (build/qwasm.lite.wasm): the int8 and fp32 kernels, memory and the runtime api,
// compiled with QW_LOWBIT=0 (runtime/features.ts), so its validator rejects the sub-8-bit ops (.qwm op codes
// 24..39) as unknown op codes and none of their kernels is linked in. assembly/index.ts (the full builds)
// re-exports all of this plus the low-bit kernels. Exports take pointers and lengths into this module's memory.

export { qw_alloc, qw_reset, qw_heap_top, qw_heap_rewind } from "./runtime/memory";
export { qs8_packed_bytes, a_elem_bytes } from "./kernels/qs8_gemm";
export { qs8_conv2d, qs8_fully_connected, qs8_conv2d_scratch_bytes, qs8_fully_connected_scratch_bytes } from "./kernels/qs8_conv2d";
export { f32_packed_bytes } from "./kernels/f32_gemm";
export { f32_conv2d, f32_fully_connected, f32_conv2d_scratch_bytes } from "./kernels/f32_conv2d";
export { f32_dwconv2d, f32_dwconv2d_packed_bytes } from "./kernels/f32_dwconv2d";
export { f32_maxpool2d, f32_avgpool2d, f32_global_avgpool } from "./kernels/f32_pool";
export { f32_add, f32_activation } from "./kernels/f32_eltwise";
export { qs8_dwconv2d, qs8_dwconv2d_packed_bytes } from "./kernels/qs8_dwconv2d";
export { qs8_maxpool2d, qs8_avgpool2d, qs8_global_avgpool, qs8_global_avgpool_requant } from "./kernels/qs8_pool";
export { qs8_add } from "./kernels/qs8_add";
export { qs8_lut } from "./kernels/qs8_lut";
export { concat_channels } from "./kernels/concat";
export * from "./runtime/api";
