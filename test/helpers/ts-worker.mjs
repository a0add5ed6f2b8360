// Boots a TypeScript worker thread: registers tsx in the thread (Node 20 does not hand the parent's loader
// hooks on), then imports the entry named in workerData.entry (a file: URL).
//   new Worker(new URL("./helpers/ts-worker.mjs", import.meta.url), { workerData: { entry: url.href, ... } })
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.entry);
