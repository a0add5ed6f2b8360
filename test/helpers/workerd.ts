// Running examples/cloudflare-worker under npm workerd on 127.0.0.1, as wrangler would deploy it: the Worker
// bundled with this checkout's SDK (its workerd entry), every imported .wasm a compiled wasm module and the model
// a data module beside it. For the load test (test/load.test.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { basename, join } from "node:path";
import * as esbuild from "esbuild";
import { ROOT } from "./tools.ts";

export const EXAMPLE_WORKER = `${ROOT}examples/cloudflare-worker/src/worker.js`;
export const haveExampleWorker = () => existsSync(EXAMPLE_WORKER) && existsSync(`${ROOT}dist/sdk/workerd.js`);

type Kind = "esModule" | "wasm" | "data";

/** Bundles the example Worker into `dir` with `modelFile` as its ./model.qwm; returns its modules. */
export async function bundleExampleWorker(dir: string, modelFile: string): Promise<[string, Kind][]> {
  const modules: [string, Kind][] = [["worker.js", "esModule"]];
  await esbuild.build({
    entryPoints: [EXAMPLE_WORKER], outfile: join(dir, "worker.js"),
    bundle: true, format: "esm", target: "es2022", minify: true, legalComments: "none", logLevel: "warning",
    conditions: ["workerd", "worker", "browser"],
    plugins: [{
      name: "wrangler-modules",
      setup(b) {
        b.onResolve({ filter: /^qwasm$/ }, () => ({ path: `${ROOT}dist/sdk/workerd.js` }));
        b.onResolve({ filter: /\.(wasm|qwm)$/ }, (args) => {
          const file = args.path === "./model.qwm" ? modelFile
            : args.path.startsWith("qwasm/wasm/") ? `${ROOT}dist/${args.path.slice(11)}` : join(args.resolveDir, args.path);
          const name = basename(args.path);
          copyFileSync(file, join(dir, name));
          modules.push([name, name.endsWith(".wasm") ? "wasm" : "data"]);
          return { path: `./${name}`, external: true };
        });
      },
    }],
  });
  return modules;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer().once("error", rej).listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export interface Served { base: string; child: ChildProcess; log(): string; stop(): Promise<void> }

/** Starts `workerd serve` on 127.0.0.1 for the bundled modules in `dir`; resolves once it answers GET /. */
export async function serveWorkerd(workerd: string, dir: string, modules: [string, Kind][], ms = 30000): Promise<Served> {
  const port = await freePort();
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
${modules.map(([n, k]) => `    (name = "${n}", ${k} = embed "${n}"),`).join("\n")}
  ],
  compatibilityDate = "2025-01-01",
);
`);
  // npm's workerd is a Node wrapper that spawns the real binary: run it in its own process group and signal the
  // group, or the binary outlives the wrapper
  const child = spawn(workerd, ["serve", "config.capnp"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const group = child.pid!;
  const killGroup = (sig: NodeJS.Signals) => { try { process.kill(-group, sig); } catch { /* already gone */ } };
  const onExit = () => killGroup("SIGKILL");
  process.once("exit", onExit);
  let text = "";
  child.stdout!.on("data", (d) => (text += d));
  child.stderr!.on("data", (d) => (text += d));
  const stop = () => new Promise<void>((res) => {
    const done = () => { killGroup("SIGKILL"); process.off("exit", onExit); res(); };
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", done);
    killGroup("SIGTERM");
    setTimeout(() => killGroup("SIGKILL"), 3000).unref();
  });
  const base = `http://127.0.0.1:${port}`;
  const end = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}):\n${text}`);
    try {
      await fetch(`${base}/`);
      break;
    } catch {
      if (Date.now() > end) { await stop(); throw new Error(`workerd did not answer in ${ms} ms:\n${text}`); }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { base, child, log: () => text, stop };
}
