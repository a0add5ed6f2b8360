// Channel concatenation in NHWC for any element size (int8, int16, fp32, ...): a pure data movement, shared by
// the int8 and fp32 graphs, so its name carries no data type.
//
//   inputs i < nInputs, each [P][chans[i]] with P = H*W pixels, element size elemBytes
//   out[P][sum chans]: out[p][off_i + k] = input_i[p][k], off_i = chans[0] + ... + chans[i-1]
//
// ptrsPtr points at nInputs u32 input addresses, chansPtr at nInputs i32 channel counts. The output must not
// overlap any input. Copies with memory.copy (bulk memory), one run per pixel and input; a single input or a
// single pixel is one contiguous copy per input.

export function concat_channels(
  elemBytes: i32, P: i32, nInputs: i32, ptrsPtr: usize, chansPtr: usize, out: usize,
): void {
  let total = 0;
  for (let i = 0; i < nInputs; i++) total += load<i32>(chansPtr + (<usize>i << 2));
  const outStride = <usize>(total * elemBytes);
  let off: usize = 0;
  for (let i = 0; i < nInputs; i++) {
    const src = <usize>load<u32>(ptrsPtr + (<usize>i << 2));
    const run = <usize>(load<i32>(chansPtr + (<usize>i << 2)) * elemBytes);
    if (run == outStride || P == 1) {
      memory.copy(out + off, src, run * <usize>P);
    } else if (run > 0) {
      let d = out + off, s = src;
      for (let p = 0; p < P; p++) {
        memory.copy(d, s, run);
        d += outStride;
        s += run;
      }
    }
    off += run;
  }
}
