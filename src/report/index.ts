// The quantization report (issue 14): collect (quantize + evaluate every configuration), render (HTML + SVG).
export { renderReport, paretoFront, fmt } from "./render.ts";
export { collectReport, CONFIGS, REPORT_ADAROUND_ITERATIONS, selectConfigs, configOptionsText, layerGrid, weightHistogram, reportLayers, reportSensitivity } from "./collect.ts";
export type { ConfigSpec, CollectOptions, SensitivityFn, LayerQuantization } from "./collect.ts";
export type { ReportData, ReportConfig, ReportLayer, ReportHistogram, ReportSensitivity, SensitivityLayer } from "./types.ts";
