// Choosing and compiling a qwasm build: relaxed-SIMD, then SIMD, then no-SIMD, the first this host validates;
// before them the lite build (SIMD, int8 + fp32 ops only) when the model has no sub-8-bit op and the host offers
// it. No host APIs here beyond WebAssembly and fetch; sdk/hosts/* supply where the builds are by default.
import { QwmHostError, QwmInputError } from "./errors.ts";

export type BuildName = "lite" | "relaxed" | "simd" | "nosimd";
/** Preference order for automatic selection (lite only for models it can run: usesLowBit). */
export const BUILDS: readonly BuildName[] = ["lite", "relaxed", "simd", "nosimd"];
/** The lowest .qwm op code the lite build lacks: 24..39 are the sub-8-bit ops (docs/format.md). */
export const LOWBIT_OP = 24;
/** The names of op codes LOWBIT_OP.. (schema.ts Op), for messages; the schema's Op enum
 * itself is not bundled (its two-way table costs the web app ~0.8 KB gzip). test/sdk.test.ts checks they agree. */
export const LOWBIT_NAMES = "Conv2dQs4 DwConv2dQs4 DenseQs4 Conv2dQs2 DenseQs2 Conv2dQbw DenseQbw Conv2dQlut DenseQlut DwConv2dQlut " +
  "SignQb1 Conv2dQb1 DenseQb1 DwConv2dQs2 DwConv2dQbw DwConv2dQb1";

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
  /** Whether defaultWasm has the lite build, to be picked automatically (browser, Deno: yes; Node: no). */
  lite?: boolean;
}

/**
 * [index, op code] of the first op of a .qwm that only the full builds run (op code >= LOWBIT_OP); index -1 when
 * there is none, -2 when the Ops section cannot be found or read (the runtime's validator then says why).
 * Reads the section table and the op records' code and size fields only (docs/format.md); no CRC check.
 */
export function firstLowBitOp(b: Uint8Array): [number, number] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u32 = (o: number) => (o + 4 <= b.length ? v.getUint32(o, true) : -1);
  if (u32(0) !== 0x4d575189) return [-2, 0]; // QWM_MAGIC
  const n = u32(12);
  for (let e = 32; n <= 64 && e < 32 + 16 * n && e + 16 <= b.length; e += 16) {
    if (v.getUint16(e, true) === 3) { // Section.Ops
      const off = u32(e + 4), end = off + u32(e + 8), count = u32(off);
      if (count < 0 || end > b.length) return [-2, 0];
      for (let i = 0, r = off + 4; i < count; i++) {
        if (r + 4 > end) return [-2, 0];
        const code = v.getUint16(r, true);
        if (code >= LOWBIT_OP) return [i, code];
        const size = v.getUint16(r + 2, true);
        if (!size) return [-2, 0];
        r += size;
      }
      return [-1, 0];
    }
  }
  return [-2, 0];
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
    support = { lite: simd, relaxed: simd && ok(RELAXED_PROBE), simd, nosimd: true };
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

/**
 * The builds to try, best first, for `options` on this host. Lite comes first when the model has no sub-8-bit op
 * (`lowBit` false), the host runs SIMD (lite is a SIMD build) and lite is given in options.wasm or, when
 * options.wasm is absent, the host offers it (`hostLite`); it is never picked for a low-bit model.
 */
export function candidates(
  given: Partial<Record<BuildName, unknown>>, forced: BuildName | undefined, s: Partial<Record<BuildName, boolean>> = hostSupport(),
  node = isNode(), lowBit = false, hostLite = false,
): BuildName[] {
  if (forced) return [forced];
  const provided = BUILDS.filter((b) => given[b] != null);
  return (provided.length ? provided : BUILDS).filter((b) =>
    b === "lite" ? !lowBit && s.simd && (provided.length > 0 || hostLite) : s[b] && !(b === "relaxed" && node));
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
  host: Host, given: Partial<Record<BuildName, WasmSource>>, forced: BuildName | undefined, lowBit = false,
): Promise<{ build: BuildName; module: WebAssembly.Module }> {
  const list = candidates(given, forced, undefined, undefined, lowBit, host.lite);
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
