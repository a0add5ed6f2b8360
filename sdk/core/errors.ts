// The SDK's errors: one base class with a stable string `code`, one subclass per cause.
//   QwmFormatError  the .qwm file is wrong (its message names the section, field and index)
//   QwmInputError   a bad argument: image, input tensor, batch, topK, options, model source
//   QwmLimitError   over the memory limit (options.memoryLimit) or wasm memory cannot grow
//   QwmHostError    no usable wasm build on this host, or the build failed to fetch / compile / instantiate
// Plain QwmError is thrown with code 'DISPOSED' by a model used after dispose().
import { ErrorKind, Field, Section } from "../../assembly/runtime/schema.ts";

export class QwmError extends Error {
  /** Stable, machine-readable: compare codes, not messages. */
  readonly code: string;
  constructor(code: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.name = "QwmError"; // class names do not survive minification; every subclass sets its own
  }
}

/** The .qwm bytes are invalid. `code` is the runtime's error kind: 'CRC', 'TRUNCATED', 'RANGE', ... */
export class QwmFormatError extends QwmError {
  /** Section named by the error: 'Header' (file header and section table), 'Model', 'Tensors', 'Ops', ... */
  readonly section: string;
  /** Field named by the error, as in assembly/runtime/schema.ts `Field` ('SectionCrc', 'OpCode', ...). */
  readonly field: string;
  /** The section-table entry, tensor or op concerned; -1 when none. */
  readonly index: number;
  /** The runtime's 32-bit status (kind << 24 | section << 16 | field); 0 for errors found by the SDK. */
  readonly status: number;
  constructor(code: string, message: string, section: string, field: string, index: number, status: number) {
    super(code, message);
    this.name = "QwmFormatError";
    this.section = section;
    this.field = field;
    this.index = index;
    this.status = status;
  }
}

/** A bad argument; nothing ran. Codes: see docs/api.md. */
export class QwmInputError extends QwmError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, cause);
    this.name = "QwmInputError";
  }
}

/** Over options.memoryLimit ('MEMORY_LIMIT') or the host cannot grow wasm memory ('OUT_OF_MEMORY'). */
export class QwmLimitError extends QwmError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = "QwmLimitError";
  }
}

/** No usable wasm build, or fetching / compiling / instantiating it failed. */
export class QwmHostError extends QwmError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, cause);
    this.name = "QwmHostError";
  }
}

// What each error kind means, for messages. Keep in step with ErrorKind.
const KIND_TEXT: Record<number, [code: string, text: string]> = {
  [ErrorKind.Truncated]: ["TRUNCATED", "a length or offset reaches past its container"],
  [ErrorKind.BadMagic]: ["BAD_MAGIC", "not a .qwm file (bad magic)"],
  [ErrorKind.Version]: ["VERSION", "unsupported format major version"],
  [ErrorKind.Crc]: ["CRC", "checksum mismatch (corrupted bytes)"],
  [ErrorKind.Range]: ["RANGE", "value out of its allowed range"],
  [ErrorKind.Align]: ["ALIGN", "offset not 16-byte aligned"],
  [ErrorKind.Missing]: ["MISSING", "required section or reference missing"],
  [ErrorKind.Unknown]: ["UNKNOWN", "unknown required section, op code or dtype"],
  [ErrorKind.Shape]: ["SHAPE", "tensor shapes do not agree"],
  [ErrorKind.Overlap]: ["OVERLAP", "overlapping sections or live tensors"],
  [ErrorKind.Order]: ["ORDER", "tensor read before written, or written twice"],
};

export function sectionName(id: number): string {
  return id === 0 ? "Header" : (Section[id] ?? `section ${id}`);
}

/** The error for a nonzero runtime status and the index the runtime reported (qwm_error_index). */
export function errorFromStatus(status: number, index: number, during: "load" | "run"): QwmError {
  const kind = (status >>> 24) & 0xff, sec = (status >>> 16) & 0xff, fld = status & 0xffff;
  const section = sectionName(sec);
  const field = Field[fld] ?? `field ${fld}`;
  const where = `section ${section}, field ${field}${index >= 0 ? `, index ${index}` : ""}`;
  if (kind === ErrorKind.Limit) {
    return new QwmLimitError("MEMORY_LIMIT", `qwasm: the model needs more memory than options.memoryLimit allows (${where})`);
  }
  if (kind === ErrorKind.State) {
    return new QwmInputError("STATE", `qwasm: the runtime refused the ${during} (${where})`);
  }
  const [code, text] = KIND_TEXT[kind] ?? ["FORMAT", `error kind ${kind}`];
  return new QwmFormatError(code, `qwasm: invalid model: ${text} (${where})`, section, field, index, status);
}
