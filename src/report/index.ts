// The quantization report (issue 14): collect (quantize + evaluate every configuration), render (HTML + SVG).
export { renderReport, paretoFront, fmt } from "./render.ts";
export { collectReport, CONFIGS, IMPLEMENTED_OPTIONS, selectConfigs, unavailableReason, findSensitivity, weightHistogram, reportLayers } from "./collect.ts";
export type { ConfigSpec, ConfigOptions, FutureOptions, CollectOptions, SensitivityFn } from "./collect.ts";
export type { ReportData, ReportConfig, ReportLayer, ReportHistogram, ReportSensitivity, SensitivityLayer } from "./types.ts";
