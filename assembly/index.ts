// The qwasm wasm module (full builds: simd / nosimd / relaxed): kernels (assembly/kernels) and, on top, the
// runtime (assembly/runtime). Exports take pointers and lengths into this module's memory; no managed objects,
// no imports. The core (int8 + fp32 kernels, memory, runtime api) is assembly/lite.ts; the sub-8-bit kernels
// (int4 / 2-bit / ternary / BWN / XNOR binary / codebook) are added here, and QW_LOWBIT=1 compiles their ops.

export * from "./lite";
export {
  qs4_conv2d, qs4_fully_connected, qs4_packed_bytes, qs4_conv2d_scratch_bytes, qs4_fully_connected_scratch_bytes,
  qbw_conv2d, qbw_fully_connected, qbw_packed_bytes, qbw_conv2d_scratch_bytes, qbw_fully_connected_scratch_bytes,
  qs2_conv2d, qs2_fully_connected, qs2_packed_bytes, qs2_conv2d_scratch_bytes, qs2_fully_connected_scratch_bytes,
} from "./kernels/qs4_conv2d";
export { qs4_dwconv2d, qs4_dwconv2d_packed_bytes } from "./kernels/qs4_dwconv2d";
export { qb1_conv2d, qb1_sign, qb1_packed_bytes, qb1_conv2d_scratch_bytes } from "./kernels/qb1_conv2d";
export {
  qlut_conv2d, qlut_fully_connected, qlut_packed_bytes, qlut_conv2d_scratch_bytes, qlut_fully_connected_scratch_bytes,
} from "./kernels/qlut_conv2d";
export { qs2_dwconv2d, qbw_dwconv2d, qlut_dwconv2d, qs2_dwconv2d_packed_bytes, qbw_dwconv2d_packed_bytes, qlut_dwconv2d_packed_bytes } from "./kernels/qs2_dwconv2d";
export { qb1_dwconv2d, qb1_dwconv2d_packed_bytes } from "./kernels/qb1_dwconv2d";
