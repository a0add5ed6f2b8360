// npm run build:sdk: the deployable SDK. Bundles each host entry of sdk/hosts/ with esbuild (ES2022, ESM,
// minified) into dist/sdk/<host>.js, copies the four wasm builds to dist/ (where the bundles look for them),
// emits the type declarations with tsc, checks that a consumer type-checks against them, and prints sizes.
//   dist/qwasm.{lite,relaxed,simd,nosimd}.wasm
//   dist/sdk/{node,deno,browser,workerd}.js
//   dist/sdk/index.d.ts (+ dist/sdk/types/): one API for every host
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = `${root}dist/`;
const HOSTS = ["node", "deno", "browser", "workerd"];
const BUILDS = ["lite", "relaxed", "simd", "nosimd"];

for (const b of BUILDS) {
  const f = `${root}build/qwasm.${b}.wasm`;
  const head = existsSync(f) ? readFileSync(f).subarray(0, 8) : new Uint8Array(0);
  if (head.length < 8 || head[0] !== 0 || head[1] !== 0x61 || head[2] !== 0x73 || head[3] !== 0x6d) {
    console.error(`build-sdk: build/qwasm.${b}.wasm is missing or not a wasm module; run npm run build`);
    process.exit(1);
  }
}
rmSync(`${dist}sdk`, { recursive: true, force: true });
mkdirSync(`${dist}sdk`, { recursive: true });
for (const b of BUILDS) copyFileSync(`${root}build/qwasm.${b}.wasm`, `${dist}qwasm.${b}.wasm`);

// The sources find the builds in build/ ("../../build/qwasm.X.wasm" from sdk/hosts/); the bundles in dist/sdk/
// find them in dist/ ("../qwasm.X.wasm"). Rewritten as literals so that downstream bundlers still see them.
const wasmPaths = {
  name: "qwasm-wasm-paths",
  setup(build) {
    build.onLoad({ filter: /sdk[\\/]hosts[\\/]wasm-urls\.ts$/ }, (args) => {
      const src = readFileSync(args.path, "utf8");
      const out = src.replaceAll('"../../build/qwasm.', '"../qwasm.');
      const n = (src.match(/"\.\.\/\.\.\/build\/qwasm\./g) ?? []).length;
      if (n !== BUILDS.length) return { errors: [{ text: `expected ${BUILDS.length} wasm URLs in ${args.path}, found ${n}` }] };
      return { contents: out, loader: "ts" };
    });
  },
};

const sizes = [];
for (const host of HOSTS) {
  const outfile = `${dist}sdk/${host}.js`;
  await esbuild.build({
    entryPoints: [`${root}sdk/hosts/${host}.ts`],
    outfile,
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    platform: host === "node" ? "node" : "neutral",
    external: ["node:*"],
    legalComments: "none",
    plugins: [wasmPaths],
    logLevel: "warning",
  });
  const code = readFileSync(outfile);
  if (host !== "node" && /\bnode:/.test(code.toString())) throw new Error(`${host}.js imports a node: module`);
  sizes.push([`dist/sdk/${host}.js`, code.length, gzipSync(code, { level: 9 }).length]);
}

// Declarations: tsc over the Node entry (every host exports the same API); index.d.ts re-exports it.
const tsc = `${root}node_modules/.bin/tsc`;
execFileSync(tsc, [
  "sdk/hosts/node.ts", "--declaration", "--emitDeclarationOnly", "--outDir", "dist/sdk/types", "--rootDir", ".",
  "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--strict", "--skipLibCheck",
  "--allowImportingTsExtensions", "--rewriteRelativeImportExtensions", "--lib", "es2022,dom", "--types", "node",
], { cwd: root, stdio: "inherit" });
// tsc keeps the sources' ".ts" import specifiers in declarations; consumers expect ".js".
for (const f of readdirSync(`${dist}sdk/types`, { recursive: true })) {
  if (!String(f).endsWith(".d.ts")) continue;
  const p = `${dist}sdk/types/${f}`;
  writeFileSync(p, readFileSync(p, "utf8").replace(/(from\s+"\.{1,2}\/[^"]*)\.ts"/g, '$1.js"'));
}
writeFileSync(`${dist}sdk/index.d.ts`,
  "// The qwasm SDK's API: the same for every host entry (node, deno, browser, workerd).\n" +
  'export * from "./types/sdk/hosts/node.js";\n');

// A consumer of the package ("qwasm", resolved through package.json exports to dist/sdk/index.d.ts) must type-check.
const probeDir = `${root}dist/.types-check`;
mkdirSync(probeDir, { recursive: true });
writeFileSync(`${probeDir}/consumer.ts`, `import { loadModel, QwmError, QwmInputError, type Model, type Prediction } from "qwasm";
const model: Model = await loadModel(new Uint8Array(0), { build: "simd", memoryLimit: 1 << 24 });
const out: { logits: Float32Array; raw: Int8Array } = model.run(new Float32Array(0), { batch: 1 });
const p: Prediction[] = model.classify({ data: new Uint8Array(4), width: 1, height: 1 }, { topK: 1 });
const codes: string[] = [new QwmInputError("X", "y").code, (null as unknown as QwmError).code];
console.log(out, p, codes, model.info.labels, model.info.build);
`);
writeFileSync(`${probeDir}/tsconfig.json`, JSON.stringify({
  compilerOptions: { target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, lib: ["es2022", "dom"], types: [] },
  files: ["consumer.ts"],
}));
try {
  execFileSync(tsc, ["-p", probeDir], { cwd: root, stdio: "inherit" });
} finally {
  rmSync(probeDir, { recursive: true, force: true });
}

for (const [file, raw, gz] of sizes) {
  console.log(`${file.padEnd(26)} ${String(raw).padStart(7)} bytes  ${String(gz).padStart(6)} gzip`);
}
for (const b of BUILDS) {
  const f = `${dist}qwasm.${b}.wasm`, bytes = readFileSync(f);
  console.log(`${`dist/qwasm.${b}.wasm`.padEnd(26)} ${String(statSync(f).size).padStart(7)} bytes  ${String(gzipSync(bytes, { level: 9 }).length).padStart(6)} gzip`);
}
