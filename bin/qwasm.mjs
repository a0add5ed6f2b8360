#!/usr/bin/env node
// The qwasm command: runs the bundled CLI (dist/cli.mjs, made by npm run build), or the TypeScript sources
// through tsx in a development checkout that has not been built.
import { existsSync } from "node:fs";

const bundled = new URL("../dist/cli.mjs", import.meta.url);
let main;
if (existsSync(bundled)) {
  ({ main } = await import(bundled.href));
} else {
  await import("tsx/esm");
  ({ main } = await import(new URL("../src/cli/main.ts", import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
