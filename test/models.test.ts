// The bundled model: the committed .qwm is exactly what the documented quantize command makes today, and it
// keeps its accuracy on the bundled test images.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { evaluate, quantize } from "../src/api.ts";
import { readDataset, readLabels } from "../src/data/index.ts";
import { ROOT } from "./helpers/tools.ts";

test("models/fashion_mnist_dsres.qwm = quantize(models/fashion_mnist_dsres.onnx) as models/README.md documents", async () => {
  const q = await quantize(readFileSync(join(ROOT, "models/fashion_mnist_dsres.onnx")), {
    calib: readDataset(join(ROOT, "models/data/fashion-train256-images-idx3-ubyte.gz")),
    preprocess: { mean: [0.286], std: [0.353] }, labels: readLabels(join(ROOT, "models/fashion_mnist_labels.txt")),
  });
  const committed = readFileSync(join(ROOT, "models/fashion_mnist_dsres.qwm"));
  assert.ok(Buffer.from(q.qwm).equals(committed), "the committed .qwm differs from a fresh quantization: regenerate it (models/README.md)");
  const r = await evaluate(committed, readDataset(join(ROOT, "models/data/fashion-t10k1000-images-idx3-ubyte.gz")));
  assert.ok(r.accuracy >= 0.89, `int8 accuracy on the bundled 1000 test images: ${r.accuracy}`);
});

test.run();
