// Calibration: run the float program on calibration images and turn what it computes into activation ranges
// for quantizeGraph, by one of four methods, or by the one that best preserves the float program's answers.
export { inputRange, floatRunner, minMaxRanges } from "./minmax.ts";
export { collectStats, mergeStats, QwmCalibrationError, type CalibrationStats, type TensorStats, type CollectOptions } from "./stats.ts";
export { calibrate, rangesFrom, rangeOf, CALIBRATION_METHODS, DEFAULT_PERCENTILE, type CalibrationMethod, type MethodOptions } from "./methods.ts";
export { chooseCalibration, validationSize, type ChooseOptions, type MethodScore, type CalibrationChoice } from "./choose.ts";
