// Choosing and compiling a qwasm build: relaxed-SIMD, then SIMD, then no-SIMD, the first this host validates.
// No host APIs here beyond WebAssembly and fetch; sdk/hosts/* supply where the builds are by default.
import { QwmHostError, QwmInputError } from "./errors.ts";

export type BuildName = "relaxed" | "simd" | "nosimd";
/** Preference order for automatic selection. */
export const BUILDS: readonly BuildName[] = ["relaxed", "simd", "nosimd"];

/** A wasm build: compiled, bytes, a URL to fetch, or a (promised) fetch Response. */
export type WasmSource = WebAssembly.Module | BufferSource | URL | Response | PromiseLike<Response>;

/** How a host finds the builds when options.wasm lacks them, and reads URLs its fetch cannot. */
export interface Host {
  /** The build's default source; may throw QwmHostError (workerd has no default). */
  defaultWasm(build: BuildName): WasmSource | Promise<WasmSource>;
  /** Bytes of a URL that fetch cannot read (file: under Node); undefined means use fetch. */
  readUrl?(url: URL): Promise<Uint8Array> | undefined;
  /** Turns a string model source into a URL (Node, Deno: plain paths); default: the string as given to fetch. */
  resolveString?(s: string): URL | string;
}

// Probe modules, hand-assembled: one function () -> () whose body builds v128 values and drops the result.
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00];
const probe = (body: number[]): Uint8Array<ArrayBuffer> => new Uint8Array([...HEADER, 0x0a, body.length + 2, 0x01, body.length, ...body]);
const I8X16_SPLAT0 = [0x41, 0x00, 0xfd, 0x0f]; // i32.const 0; i8x16.splat
/** i8x16.splat; drop */
export const SIMD_PROBE = probe([0x00, ...I8X16_SPLAT0, 0x1a, 0x0b]);
/** i32x4.relaxed_dot_i8x16_i7x16_add_s (0xfd 0x113) of three splats; drop */
export const RELAXED_PROBE = probe([0x00, ...I8X16_SPLAT0, ...I8X16_SPLAT0, 0x41, 0x00, 0xfd, 0x11, 0xfd, 0x93, 0x02, 0x1a, 0x0b]);

let support: Record<BuildName, boolean> | undefined;

/** Which builds this engine validates (probed once). */
export function hostSupport(): Record<BuildName, boolean> {
  if (!support) {
    const ok = (b: Uint8Array<ArrayBuffer>) => { try { return WebAssembly.validate(b); } catch { return false; } };
    const simd = ok(SIMD_PROBE);
    support = { relaxed: simd && ok(RELAXED_PROBE), simd, nosimd: true };
  }
  return support;
}

/**
 * Node (V8's baseline compiler in Node 20 miscomputes the relaxed dot), so relaxed is never picked
 * automatically there. Deno and workerd may define `process` too; they are not Node.
 */
export function isNode(): boolean {
  const g = globalThis as any;
  return !!g.process?.versions?.node && typeof g.Deno === "undefined" && g.navigator?.userAgent !== "Cloudflare-Workers";
}

/** The builds to try, best first, for `options` on this host. */
export function candidates(
  given: Partial<Record<BuildName, unknown>>, forced: BuildName | undefined, s = hostSupport(), node = isNode(),
): BuildName[] {
  if (forced) return [forced];
  const provided = BUILDS.filter((b) => given[b] != null);
  return (provided.length ? provided : BUILDS).filter((b) => s[b] && !(b === "relaxed" && node));
}

export const isArrayBuffer = (x: unknown): x is ArrayBuffer =>
  x instanceof ArrayBuffer || Object.prototype.toString.call(x) === "[object ArrayBuffer]";
export const isResponse = (x: unknown): x is Response =>
  (typeof Response !== "undefined" && x instanceof Response) ||
  (!!x && typeof (x as Response).arrayBuffer === "function" && typeof (x as Response).ok === "boolean" && "headers" in (x as object));
export const isThenable = (x: unknown): x is PromiseLike<unknown> => !!x && typeof (x as PromiseLike<unknown>).then === "function";

/** Awaits a Response and checks its status; `fail` builds the error (input or host side). */
export async function response(r: Response | PromiseLike<Response>, what: string, fail: (m: string, c?: unknown) => Error): Promise<Response> {
  let res: Response;
  try {
    res = await r;
  } catch (e) {
    throw fail(`${what}: fetch failed: ${(e as Error)?.message ?? e}`, e);
  }
  if (!isResponse(res)) throw fail(`${what}: the promise did not resolve to a Response`);
  if (!res.ok) throw fail(`${what}: HTTP ${res.status} ${res.statusText} for ${res.url || "(no url)"}`);
  return res;
}

export function fetchUrl(url: URL | string, what: string, fail: (m: string, c?: unknown) => Error): Promise<Response> {
  if (typeof fetch !== "function") return Promise.reject(fail(`${what}: this host has no fetch() for ${url}`));
  let p: Promise<Response>;
  try {
    p = fetch(url);
  } catch (e) {
    return Promise.reject(fail(`${what}: fetch failed: ${(e as Error)?.message ?? e}`, e));
  }
  return response(p, what, fail);
}

const hostFail = (m: string, c?: unknown) => new QwmHostError("FETCH_FAILED", m, c);

/** Compiles a wasm source (streaming when the host can and the response is application/wasm). */
export async function compileWasm(src: WasmSource, build: BuildName, host: Host): Promise<WebAssembly.Module> {
  const what = `qwasm ${build} build`;
  if (src instanceof WebAssembly.Module) return src;
  const compile = async (p: Promise<WebAssembly.Module>) => {
    try {
      return await p;
    } catch (e) {
      throw new QwmHostError("COMPILE_FAILED", `${what}: WebAssembly compile failed: ${(e as Error)?.message ?? e}`, e);
    }
  };
  if (isArrayBuffer(src) || ArrayBuffer.isView(src)) return compile(WebAssembly.compile(src));
  let res: Response;
  if (src instanceof URL || typeof src === "string") {
    const url = src;
    const local = typeof url === "string" ? undefined : host.readUrl?.(url);
    if (local) {
      let bytes: Uint8Array;
      try {
        bytes = await local;
      } catch (e) {
        throw new QwmHostError("FETCH_FAILED", `${what}: cannot read ${url}: ${(e as Error)?.message ?? e}`, e);
      }
      return compile(WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>));
    }
    res = await fetchUrl(url, what, hostFail);
  } else if (isResponse(src) || isThenable(src)) {
    res = await response(src as Response | PromiseLike<Response>, what, hostFail);
  } else {
    throw new QwmInputError("BAD_OPTION", `options.wasm.${build} must be a WebAssembly.Module, BufferSource, URL or Response`);
  }
  const type = res.headers.get("content-type") ?? "";
  if (typeof WebAssembly.compileStreaming === "function" && /^application\/wasm\b/i.test(type)) {
    return compile(WebAssembly.compileStreaming(res));
  }
  let bytes: ArrayBuffer;
  try {
    bytes = await res.arrayBuffer();
  } catch (e) {
    throw new QwmHostError("FETCH_FAILED", `${what}: reading the response failed: ${(e as Error)?.message ?? e}`, e);
  }
  return compile(WebAssembly.compile(bytes));
}

// Compiled default builds, per host and build; a failed attempt is forgotten so that a later load retries.
const defaults = new WeakMap<Host, Map<BuildName, Promise<WebAssembly.Module>>>();

function defaultModule(host: Host, build: BuildName): Promise<WebAssembly.Module> {
  let m = defaults.get(host);
  if (!m) defaults.set(host, (m = new Map()));
  let p = m.get(build);
  if (!p) {
    p = Promise.resolve().then(() => host.defaultWasm(build)).then((src) => compileWasm(src, build, host));
    m.set(build, p);
    p.catch(() => m!.delete(build));
  }
  return p;
}

/** Picks the best usable build and compiles it. Forced builds are compiled or fail; automatic ones fall back on compile errors. */
export async function selectBuild(
  host: Host, given: Partial<Record<BuildName, WasmSource>>, forced: BuildName | undefined,
): Promise<{ build: BuildName; module: WebAssembly.Module }> {
  const list = candidates(given, forced);
  if (!list.length) {
    throw new QwmHostError("NO_BUILD", `qwasm: none of the given wasm builds (${BUILDS.filter((b) => given[b] != null).join(", ")}) can run on this host` +
      (isNode() ? " (Node never picks relaxed automatically; pass build: 'relaxed' to force it)" : ""));
  }
  let last: unknown;
  for (const build of list) {
    try {
      const src = given[build];
      return { build, module: await (src != null ? compileWasm(src, build, host) : defaultModule(host, build)) };
    } catch (e) {
      if (forced || !(e instanceof QwmHostError && e.code === "COMPILE_FAILED")) throw e;
      last = e;
    }
  }
  throw new QwmHostError("NO_BUILD", `qwasm: no wasm build compiled on this host (tried ${list.join(", ")})`, last);
}
