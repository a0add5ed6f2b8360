// esbuild's --loader:.wasm=binary: an imported .wasm file is its bytes (test/train-browser/entry.ts).
declare module "*.wasm" {
  const bytes: Uint8Array;
  export default bytes;
}
