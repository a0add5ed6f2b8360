// What the ONNX importer returns (src/onnx/import.ts): the graph IR plus what the ONNX file said about
// quantization and layout. Nothing outside src/onnx reads ONNX itself.
import type { Graph } from "../ir/graph.ts";
import type { QParams } from "../quantize/params.ts";

export class QwmOnnxError extends Error {
  readonly code: string;
  /** The node (name or #index) and op type concerned, when there is one. */
  readonly node?: string;
  readonly opType?: string;
  constructor(code: "ONNX_DECODE" | "ONNX_UNSUPPORTED" | "ONNX_INVALID", message: string, node?: string, opType?: string) {
    super(message);
    this.name = "QwmOnnxError";
    this.code = code;
    this.node = node;
    this.opType = opType;
  }
}

/** Layout of a graph input or output in ONNX terms: NCHW images or [N, K] vectors. */
export interface OnnxIo { name: string; layout: "nchw" | "nc"; dims: number[] /* without the batch */ }

export interface Imported {
  graph: Graph;
  /** Quantization the file carries (QDQ / QLinear models): activation parameters by IR value, weights by IR node. */
  quant?: {
    act: Map<string, QParams>;
    weights: Map<string, { q: Int8Array; scales: Float32Array }>;
  };
  /** QONNX quantizer nodes (Quant, BipolarQuant, Trunc) the model had, if any. */
  qonnx?: number;
  input: OnnxIo;
  output: OnnxIo;
  /** ONNX ops the importer accepts (for the conformance runner and error messages). */
  supportedOps: readonly string[];
}
