// The .qwm v1 schema: section ids, dtypes, op codes, error kinds and field ids.
// Defined once, here, and shared: the runtime (AssemblyScript) and the toolkit (src/pack, TypeScript)
// both import this file, so it holds only enums and integer constants valid in both languages.
// docs/format.md is the spec of every field.

export const QWM_MAGIC = 0x4d575189; // bytes 89 51 57 4d ("\x89QWM") read as a little-endian u32
export const QWM_MAJOR = 1;
export const QWM_MINOR = 1; // 1.1: sub-8-bit weight ops (Conv2dQs4 .. DenseQbw, and SignQb1 .. DwConv2dQb1 over B1 tensors)
export const HEADER_BYTES = 32;
export const SECTION_ENTRY_BYTES = 16;
export const MAX_SECTIONS = 64;
export const SECTION_FLAG_REQUIRED = 1;
export const MODEL_BYTES = 96;
export const TENSOR_BYTES = 32;
export const OP_HEADER_BYTES = 20;
export const NONE16 = 0xffff;
export const NONE32 = 0xffffffff;
export const MAX_TENSORS = 65535;
export const MAX_OPS = 65535;
export const MAX_DIM = 65535;

export enum Section {
  Model = 1,
  Tensors = 2,
  Ops = 3,
  Weights = 4,
  Labels = 5,
  Provenance = 6,
}

export enum DType {
  I8 = 1,
  F32 = 2,
  U8 = 3, // scratch buffers
  B1 = 4, // 1.1: +-1 activations, one bit per channel (H x W x C in H*W*ceil(C/8) bytes; SignQb1 writes them)
}

export enum ChannelOrder { RGB = 0, BGR = 1, Gray = 2 }
export enum Resize { Stretch = 0, ShorterSideCrop = 1 }

export enum Op {
  Conv2dQs8 = 1,
  DwConv2dQs8 = 2,
  DenseQs8 = 3,
  MaxPoolQs8 = 4,
  AvgPoolQs8 = 5,
  GlobalAvgPoolQs8 = 6,
  AddQs8 = 7,
  Concat = 8,
  LutQs8 = 9,
  Quantize = 10,
  Dequantize = 11,
  Reshape = 12,
  Conv2dF32 = 16,
  DwConv2dF32 = 17,
  DenseF32 = 18,
  MaxPoolF32 = 19,
  AvgPoolF32 = 20,
  GlobalAvgPoolF32 = 21,
  AddF32 = 22,
  ActF32 = 23,
  // 1.1: sub-8-bit weights x int8 activations (layouts in docs/format.md, kernels in docs/kernels.md)
  Conv2dQs4 = 24,
  DwConv2dQs4 = 25,
  DenseQs4 = 26,
  Conv2dQs2 = 27,
  DenseQs2 = 28,
  Conv2dQbw = 29,
  DenseQbw = 30,
  // 1.1: codebook (LUT) weights: b-bit indices (1..8) into int8 tables, per layer or per output channel
  // (k-means weight sharing, power-of-two weights); params ... shift lo hi bits entries perChannel
  Conv2dQlut = 31,
  DenseQlut = 32,
  DwConv2dQlut = 33, // 1.1: codebook depthwise (at most 64 taps); params as Conv2dQlut
  // 1.1: binary (XNOR-popcount) layers over B1 tensors, and 2-bit / ternary / binary depthwise
  SignQb1 = 34,
  Conv2dQb1 = 35,
  DenseQb1 = 36,
  DwConv2dQs2 = 37,
  DwConv2dQbw = 38,
  DwConv2dQb1 = 39,
}

/** What went wrong; the high byte of an error code. */
export enum ErrorKind {
  Ok = 0,
  Truncated = 1,     // a length or offset reaches past its container
  BadMagic = 2,
  Version = 3,       // unknown major version
  Crc = 4,           // checksum mismatch
  Range = 5,         // a value outside its allowed range
  Align = 6,         // an offset that is not 16-byte aligned
  Missing = 7,       // a required section or reference is absent
  Unknown = 8,       // unknown required section, op code or dtype
  Shape = 9,         // shapes of an op's tensors do not agree
  Overlap = 10,      // sections, or live tensors in the arena, overlap
  Order = 11,        // a tensor read before it is written, or written twice
  Limit = 12,        // over the memory limit
  State = 13,        // no model loaded, or bad run arguments
}

/** Which field an error names; the low 16 bits of an error code. */
export enum Field {
  None = 0,
  // header
  Magic = 1, Major = 2, FileLength = 3, SectionCount = 4, TableCrc = 5, HeaderReserved = 6,
  // section table
  SectionId = 10, SectionFlags = 11, SectionOffset = 12, SectionLength = 13, SectionCrc = 14,
  // model
  InputTensor = 20, OutputTensor = 21, ArenaBytes = 22, ChannelOrder = 23, Resize = 24, CropFraction = 25,
  ValueScale = 26, Std = 27, PixelQuant = 28, ModelReserved = 29,
  // tensors
  TensorCount = 40, DType = 41, Dims = 42, ArenaOffset = 43, TensorBytes = 44, Scale = 45, ZeroPoint = 46,
  TensorReserved = 47,
  // ops
  OpCount = 60, OpCode = 61, RecordBytes = 62, InputCount = 63, ParamCount = 64, InputId = 65, OutputId = 66,
  ScratchId = 67, WeightsOffset = 68, WeightsBytes = 69, Param = 70, OpReserved = 71,
  WeightValues = 72, // packed weight values every build must read alike (qs8 layers: range, sums, accumulator bound)
  // run
  Batch = 90, Memory = 91,
}

// An error code is kind << 24 | section << 16 | field (see docs/format.md, "Errors").
