// What every host entry exports besides its own loadModel: the error classes and the public types.
export { QwmError, QwmFormatError, QwmHostError, QwmInputError, QwmLimitError } from "./errors.ts";
export type {
  BuildName, ClassifyOptions, DTypeName, ImageLike, LoadOptions, Model, ModelInfo, ModelSource, Prediction,
  RunOptions, RunResult, WasmSource,
} from "./model.ts";
