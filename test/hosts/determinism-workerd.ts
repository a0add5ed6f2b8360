// workerd (Cloudflare's Workers runtime, npm `workerd`): a Worker that imports the three wasm builds as modules,
// the shipped workerd SDK bundle (dist/sdk/workerd.js), the model and the pixels as data modules, and answers
// with the raw int8 outputs of each build. For test/determinism.test.ts.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const WORKER = `import { loadModel } from "./sdk.js";
import relaxed from "./qwasm.relaxed.wasm";
import simd from "./qwasm.simd.wasm";
import nosimd from "./qwasm.nosimd.wasm";
import model from "./model.qwm";
import pixels from "./pixels.bin";

export default {
  async fetch(request) {
    const batch = Number(new URL(request.url).searchParams.get("batch"));
    const px = new Uint8Array(pixels);
    const wasm = { relaxed, simd, nosimd };
    const raw = {};
    const auto = await loadModel(new Uint8Array(model), { wasm });
    raw.auto = Array.from(auto.run(px, { batch }).raw);
    const chosen = auto.info.build;
    auto.dispose();
    for (const build of ["relaxed", "simd", "nosimd"]) {
      const m = await loadModel(new Uint8Array(model), { wasm, build });
      raw[build] = Array.from(m.run(px, { batch }).raw);
      m.dispose();
    }
    return Response.json({ auto: chosen, raw });
  },
};
`;

const config = (port: number) => `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "sdk.js", esModule = embed "sdk.js"),
    (name = "qwasm.relaxed.wasm", wasm = embed "qwasm.relaxed.wasm"),
    (name = "qwasm.simd.wasm", wasm = embed "qwasm.simd.wasm"),
    (name = "qwasm.nosimd.wasm", wasm = embed "qwasm.nosimd.wasm"),
    (name = "model.qwm", data = embed "model.qwm"),
    (name = "pixels.bin", data = embed "pixels.bin"),
  ],
  compatibilityDate = "2025-01-01",
);
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The workerd binary itself (the npm package's bin/ is a Node wrapper that spawns it: killing the wrapper would
 * leave the server running), or null when the package is not installed.
 */
export function workerdBinary(): string | null {
  try {
    const p = createRequire(import.meta.url)("workerd").default;
    return typeof p === "string" && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

export interface WorkerRun {
  auto: string;
  raw: Record<string, number[]>;
}

/** Serves the Worker with `workerd serve` on 127.0.0.1, asks it once, stops it. */
export async function runWorkerd(root: string, workerd: string, model: Uint8Array, pixels: Uint8Array, batch: number): Promise<WorkerRun> {
  const dir = mkdtempSync(join(tmpdir(), "qwasm-workerd-"));
  const port = await freePort();
  writeFileSync(join(dir, "worker.js"), WORKER);
  writeFileSync(join(dir, "config.capnp"), config(port));
  copyFileSync(join(root, "dist/sdk/workerd.js"), join(dir, "sdk.js"));
  for (const b of ["relaxed", "simd", "nosimd"]) copyFileSync(join(root, `dist/qwasm.${b}.wasm`), join(dir, `qwasm.${b}.wasm`));
  writeFileSync(join(dir, "model.qwm"), model);
  writeFileSync(join(dir, "pixels.bin"), pixels);
  const child = spawn(workerd, ["serve", "config.capnp"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode}:\n${log}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/?batch=${batch}`);
        if (!res.ok) throw new Error(`workerd answered HTTP ${res.status}: ${await res.text()}\n${log}`);
        return (await res.json()) as WorkerRun;
      } catch (e) {
        if ((e as Error).message.startsWith("workerd answered") || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    child.stdout.destroy();
    child.stderr.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
