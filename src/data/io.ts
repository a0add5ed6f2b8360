// File access shared by the dataset readers: every failure becomes a one-line QwmDataError naming the path.
import { readFileSync, statSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { QwmDataError } from "./types.ts";

/** The bytes of a file; a missing or unreadable file is DATA_NOT_FOUND. */
export function readBytes(path: string, what = "file"): Uint8Array {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new QwmDataError("DATA_NOT_FOUND", `${what} '${path}' does not exist`);
  }
  if (st.isDirectory()) throw new QwmDataError("DATA_FORMAT", `${what} '${path}' is a directory, expected a file`);
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new QwmDataError("DATA_NOT_FOUND", `${what} '${path}' cannot be read: ${(e as Error).message}`);
  }
}

/** True when the bytes start with the gzip magic (1f 8b). */
export const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** The bytes, gunzipped when they are gzip (a corrupt stream is DATA_DECODE). */
export function maybeGunzip(b: Uint8Array, path: string): Uint8Array {
  if (!isGzip(b)) return b;
  try {
    const out = gunzipSync(b);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw new QwmDataError("DATA_DECODE", `'${path}' is not a valid gzip stream: ${(e as Error).message}`);
  }
}

/** Checks an optional image-count limit (a positive integer) and returns how many of `n` to read. */
export function applyLimit(n: number, limit: number | undefined): number {
  if (limit === undefined) return n;
  if (!Number.isInteger(limit) || limit < 1) throw new QwmDataError("DATA_ARGS", `limit must be a positive integer, got ${String(limit)}`);
  return Math.min(n, limit);
}
