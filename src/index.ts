// The qwasm toolkit's programmatic API (package entry "qwasm/toolkit"): ONNX import, calibration, quantization,
// packing, evaluation and inspection, run where a model is prepared (Node). Kept apart from the deployable SDK
// (sdk/, the package's main entry) so that the runtime users ship stays small. The CLI (src/cli) is built on it.
export { VERSION, QwmUsageError, loadOnnx, quantize, floatQwm, evaluate, describe, modelPixels } from "./api.ts";
export type { QuantizeOptions, QuantizeResult, EvalReport, ModelOptions, Progress } from "./api.ts";
export { importOnnx, SUPPORTED_OPS } from "./onnx/import.ts";
export { QwmOnnxError, type Imported } from "./onnx/types.ts";
export { readDataset, decodeImage, readLabels, toModelPixels, normalizedFloats, QwmDataError, type Dataset } from "./data/index.ts";
export { calibrate, chooseCalibration, collectStats, rangesFrom, CALIBRATION_METHODS, type CalibrationMethod } from "./calibrate/index.ts";
export { quantizeGraph, quantizationFromModel } from "./quantize/graph.ts";
export { sensitivity, measureSensitivity, type SensitivityTable, type LayerSensitivity, type SensitivityOptions } from "./quantize/sensitivity.ts";
export { chooseBits, knapsack, type MixedChoice, type MixedOptions } from "./quantize/mixed.ts";
export { QONNX_DOMAINS, QONNX_OPS } from "./onnx/qonnx.ts";
export { applyLowBit, quantizeWeightsLowBit } from "./quantize/lowbit.ts";
export { applyXnor, binaryActStats, innerLayers, type XnorLayer, type BinaryActStats } from "./quantize/binary.ts";
export { lowerFloat, lowerQuantized } from "./pack/lower.ts";
export { writeQwm } from "./pack/qwm.ts";
export { readQwm, layers } from "./pack/read.ts";
export { Runner } from "./engine/runner.ts";
export { collectReport, renderReport, paretoFront, selectConfigs, CONFIGS, type ReportData, type ConfigSpec, type CollectOptions, type SensitivityFn } from "./report/index.ts";
export type { Graph, Node, Preprocess } from "./ir/graph.ts";
// quantization-aware training and fine-tuning on the training kernels (build/qwasm.train.wasm; docs/training.md)
export { trainRun, type TrainRunOptions, type TrainRunResult, type EpochResult } from "./train/run.ts";
export { Net, fit, exportNet, accuracy, ImageSet, ARCHS, buildArch, METHODS, SCHEDULES, QwmTrainError } from "./train/node.ts";
export type { TrainGraph, BnNode, QuantSpec, FitOptions, EpochReport } from "./train/node.ts";
