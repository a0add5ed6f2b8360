// The qwasm wasm module: kernels (assembly/kernels) and, on top, the runtime (assembly/runtime).
// Exports take pointers and lengths into this module's memory; no managed objects, no imports.

export { qw_alloc, qw_reset, qw_heap_top } from "./runtime/memory";
export { qs8_packed_bytes, a_elem_bytes } from "./kernels/qs8_gemm";
export { qs8_conv2d, qs8_fully_connected, qs8_conv2d_scratch_bytes, qs8_fully_connected_scratch_bytes } from "./kernels/qs8_conv2d";
