// The TF.js peer of npm run bench: a float network rebuilt with tf ops (fused conv2d / depthwiseConv2d /
// matMul, pools, add, activations) from the weights of its ONNX file, as qwasm's importer reads them
// (src/onnx/import.ts: NHWC, BatchNorm folded). Plain JavaScript, so that the cold-start child process
// (bench/cold.mjs) runs it without a TypeScript loader.
//
// File (.tfw, written by encodeTfw from the graph IR, read by buildTfModel):
//   u32 header length, JSON header { input: [H, W, C], output, nodes }, zero padding to 4 bytes, then the
//   float32 weights in TF's layouts: conv filter [KH][KW][C][N], depthwise [KH][KW][C][1], dense [K][N].
//   Each node names its weights by { at, len } in floats from the start of the weights.

/** Graph IR (src/ir/graph.ts) -> .tfw bytes. */
export function encodeTfw(graph, inputShape) {
  const blobs = [];
  let at = 0;
  const put = (f32) => { blobs.push(f32); const r = { at, len: f32.length }; at += f32.length; return r; };
  const nodes = graph.nodes.map((n) => {
    switch (n.op) {
      case "conv": {
        const [KH, KW] = n.kernel, N = n.outChannels;
        const depthwise = n.groups !== 1;
        const C = depthwise ? N : n.weight.length / (N * KH * KW);
        const f = new Float32Array(n.weight.length);
        for (let o = 0; o < N; o++) for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) {
          if (depthwise) f[(y * KW + x) * C + o] = n.weight[(o * KH + y) * KW + x];
          else for (let c = 0; c < C; c++) f[((y * KW + x) * C + c) * N + o] = n.weight[((o * KH + y) * KW + x) * C + c];
        }
        return {
          op: depthwise ? "dwconv" : "conv", input: n.input, output: n.output, kernel: [KH, KW, C, depthwise ? 1 : N],
          stride: n.stride, pads: n.pads, dilation: n.dilation, act: n.act, filter: put(f), bias: put(n.bias),
        };
      }
      case "dense": {
        const N = n.outChannels, K = n.weight.length / N;
        const f = new Float32Array(K * N);
        for (let o = 0; o < N; o++) for (let k = 0; k < K; k++) f[k * N + o] = n.weight[o * K + k];
        return { op: "dense", input: n.input, output: n.output, K, N, act: n.act, filter: put(f), bias: put(n.bias) };
      }
      case "maxpool": case "avgpool":
        return { op: n.op, input: n.input, output: n.output, kernel: n.kernel, stride: n.stride, pads: n.pads };
      case "gap": case "flatten":
        return { op: n.op, input: n.input, output: n.output };
      case "add":
        return { op: "add", inputs: n.inputs, output: n.output, act: n.act };
      case "concat":
        return { op: "concat", inputs: n.inputs, output: n.output };
      case "act":
        return { op: "act", input: n.input, output: n.output, kind: n.kind, alpha: n.alpha, beta: n.beta };
      default:
        throw new Error(`tfjs-model: no TF.js form for op '${n.op}'`);
    }
  });
  const header = new TextEncoder().encode(JSON.stringify({ input: { name: graph.input.name, shape: inputShape }, output: graph.output, nodes }));
  const hpad = (4 - ((4 + header.length) % 4)) % 4;
  const out = new Uint8Array(4 + header.length + hpad + at * 4);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  let o = 4 + header.length + hpad;
  for (const b of blobs) { out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), o); o += b.byteLength; }
  return out;
}

const explicit = (p) => [[0, 0], [p[0], p[2]], [p[1], p[3]], [0, 0]];
const FUSED_ACT = { none: "linear", relu: "relu", relu6: "relu6" };

/**
 * Builds the network in `tf` (tfjs-core with a backend set) from .tfw bytes. Returns
 * { inputShape: [H, W, C], classes, run(x: Float32Array NHWC normalized, batch) -> Float32Array logits, dispose }.
 */
export function buildTfModel(tf, bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const hl = new DataView(u8.buffer, u8.byteOffset, u8.byteLength).getUint32(0, true);
  const head = JSON.parse(new TextDecoder().decode(u8.subarray(4, 4 + hl)));
  const wOff = 4 + hl + ((4 - ((4 + hl) % 4)) % 4);
  // a copy (the weights' offset in the file's buffer need not be 4-aligned; a Node Buffer's slice is a view)
  const weights = new Float32Array(Uint8Array.from(u8.subarray(wOff)).buffer);
  const w = (r) => weights.subarray(r.at, r.at + r.len);
  const held = [];
  const keep = (t) => { held.push(t); return t; };
  const steps = head.nodes.map((n) => {
    switch (n.op) {
      case "conv": case "dwconv": {
        const filter = keep(tf.tensor4d(w(n.filter), n.kernel)), bias = keep(tf.tensor1d(w(n.bias)));
        const f = n.op === "conv" ? tf.fused.conv2d : tf.fused.depthwiseConv2d;
        const pad = explicit(n.pads);
        return (v) => f({ x: v(n.input), filter, bias, strides: n.stride, pad, dilations: n.dilation, activation: FUSED_ACT[n.act] });
      }
      case "dense": {
        const filter = keep(tf.tensor2d(w(n.filter), [n.K, n.N])), bias = keep(tf.tensor1d(w(n.bias)));
        return (v) => {
          const x = v(n.input);
          const y = tf.fused.matMul({ a: tf.reshape(x, [x.shape[0], n.K]), b: filter, bias, activation: FUSED_ACT[n.act] });
          return tf.reshape(y, [x.shape[0], 1, 1, n.N]);
        };
      }
      case "maxpool": case "avgpool": {
        const zero = n.pads.every((p) => p === 0);
        const pool = n.op === "maxpool" ? tf.maxPool : tf.avgPool;
        return (v) => {
          let x = v(n.input);
          if (!zero) {
            if (n.op === "avgpool") throw new Error("tfjs-model: padded average pooling is not rebuilt");
            x = tf.pad(x, explicit(n.pads), -3.4e38);
          }
          return pool(x, n.kernel, n.stride, "valid");
        };
      }
      case "gap": return (v) => tf.mean(v(n.input), [1, 2], true);
      case "flatten": return (v) => { const x = v(n.input); return tf.reshape(x, [x.shape[0], 1, 1, -1]); };
      case "add": return (v) => {
        const s = tf.add(v(n.inputs[0]), v(n.inputs[1]));
        return n.act === "relu" ? tf.relu(s) : n.act === "relu6" ? tf.relu6(s) : s;
      };
      case "concat": return (v) => tf.concat(n.inputs.map(v), 3);
      case "act": return (v) => {
        const x = v(n.input);
        switch (n.kind) {
          case "relu": return tf.relu(x);
          case "clip": return tf.clipByValue(x, n.alpha, n.beta);
          case "sigmoid": return tf.sigmoid(x);
          case "leakyrelu": return tf.leakyRelu(x, n.alpha);
          default: throw new Error(`tfjs-model: activation ${n.kind} is not rebuilt`);
        }
      };
      default: throw new Error(`tfjs-model: unknown op ${n.op}`);
    }
  });
  const [H, W, C] = head.input.shape;
  let classes = 0;
  const model = {
    inputShape: [H, W, C],
    get classes() { return classes; },
    run(x, batch = 1) {
      const y = tf.tidy(() => {
        const vals = new Map([[head.input.name, tf.tensor4d(x, [batch, H, W, C])]]);
        const v = (name) => vals.get(name);
        head.nodes.forEach((n, i) => vals.set(n.output, steps[i](v)));
        const out = vals.get(head.output);
        return tf.reshape(out, [batch, -1]);
      });
      const data = y.dataSync();
      classes = y.shape[1];
      y.dispose();
      return data;
    },
    dispose() { for (const t of held) t.dispose(); },
  };
  return model;
}

/** tfjs-core with the wasm backend from node_modules, one thread, SIMD (the cold-start child and peers.ts). */
export async function tfWasm(nodeModules) {
  const tf = await import("@tensorflow/tfjs-core");
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const dir = `${nodeModules}/@tensorflow/tfjs-backend-wasm/dist/`;
  wasm.setWasmPaths({
    "tfjs-backend-wasm.wasm": `${dir}tfjs-backend-wasm.wasm`,
    "tfjs-backend-wasm-simd.wasm": `${dir}tfjs-backend-wasm-simd.wasm`,
    "tfjs-backend-wasm-threaded-simd.wasm": `${dir}tfjs-backend-wasm-threaded-simd.wasm`,
  });
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  tf.env().set("WASM_HAS_SIMD_SUPPORT", true);
  if (!(await tf.setBackend("wasm"))) throw new Error("TF.js: the wasm backend did not initialize");
  await tf.ready();
  return tf;
}
