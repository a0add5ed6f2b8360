// npm run build:cli: the toolkit and the qwasm CLI bundled for Node (dist/toolkit.mjs, dist/cli.mjs), so that
// they run without the dev dependencies (tsx, TypeScript); runtime dependencies stay external.
import { fileURLToPath } from "node:url";
import { statSync } from "node:fs";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
for (const [entry, out] of [["src/index.ts", "dist/toolkit.mjs"], ["src/cli/main.ts", "dist/cli.mjs"]]) {
  await esbuild.build({
    entryPoints: [`${root}${entry}`], outfile: `${root}${out}`, bundle: true, platform: "node", format: "esm",
    target: "node20", packages: "external", sourcemap: false, logLevel: "warning",
  });
  console.log(`${out.padEnd(26)} ${String(statSync(`${root}${out}`).size).padStart(7)} bytes`);
}
