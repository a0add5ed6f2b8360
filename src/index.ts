// The qwasm toolkit's programmatic API (package entry "qwasm/toolkit"): ONNX import, calibration, quantization,
// packing and reports, run where a model is prepared (Node). Kept apart from the deployable SDK (sdk/, the
// package's main entry) so that the runtime users ship stays small. Filled in by the toolkit's owners.
export {};
