// The qwasm wasm module: kernels (assembly/kernels) and, on top, the runtime (assembly/runtime).
// Exports take pointers and lengths into this module's memory; no managed objects, no imports.

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
export {
  qs4_conv2d, qs4_fully_connected, qs4_packed_bytes, qs4_conv2d_scratch_bytes, qs4_fully_connected_scratch_bytes,
  qbw_conv2d, qbw_fully_connected, qbw_packed_bytes, qbw_conv2d_scratch_bytes, qbw_fully_connected_scratch_bytes,
  qs2_conv2d, qs2_fully_connected, qs2_packed_bytes, qs2_conv2d_scratch_bytes, qs2_fully_connected_scratch_bytes,
} from "./kernels/qs4_conv2d";
export { qs4_dwconv2d, qs4_dwconv2d_packed_bytes } from "./kernels/qs4_dwconv2d";
export { qb1_conv2d, qb1_sign, qb1_packed_bytes, qb1_conv2d_scratch_bytes } from "./kernels/qb1_conv2d";
export { qs2_dwconv2d, qbw_dwconv2d, qs2_dwconv2d_packed_bytes, qbw_dwconv2d_packed_bytes } from "./kernels/qs2_dwconv2d";
export { qb1_dwconv2d, qb1_dwconv2d_packed_bytes } from "./kernels/qb1_dwconv2d";
