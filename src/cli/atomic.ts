// Writing output files so that a reader never sees half of one: the bytes go to a temporary file in the same
// directory (same file system), are flushed to disk, and the temporary file is renamed over the destination in
// one step. An interrupted run (an error, Ctrl-C, SIGKILL, power loss) leaves the old file as it was; at worst a
// stray `.NAME.PID.RANDOM.tmp` beside it when the process died between creating and renaming it.
// And a command never writes over its own inputs.
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";

/** Writes `data` to `path` atomically (temporary file + fsync + rename). Keeps an existing file's mode. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dest = resolve(path);
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let mode = 0o644;
  try {
    mode = statSync(dest).mode & 0o7777;
  } catch { /* a new file */ }
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", mode); // exclusive: never an existing file
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, dest);
  } catch (e) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* closing after a failed write */ }
    try { unlinkSync(tmp); } catch { /* not created */ }
    throw e;
  }
  // the rename itself is durable once the directory is flushed (not possible on every platform: best effort)
  try {
    const d = openSync(dirname(dest), "r");
    try { fsyncSync(d); } finally { closeSync(d); }
  } catch { /* Windows, some file systems */ }
}

const same = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;

/**
 * The input an output path would overwrite, if any: the same path, or another name (a link) for the same file.
 * `inputs` are the paths a command reads; undefined entries are skipped.
 */
export function overwrittenInput(out: string, inputs: (string | undefined)[]): string | undefined {
  let o: Stats | undefined;
  try {
    o = statSync(out);
  } catch { /* does not exist yet: only a path comparison */ }
  for (const i of inputs) {
    if (i === undefined) continue;
    if (resolve(i) === resolve(out)) return i;
    if (!o) continue;
    try {
      if (same(statSync(i), o)) return i;
    } catch { /* an input that cannot be read is reported by the command itself */ }
  }
  return undefined;
}
