// CRC-32 ISO-HDLC (the zlib / PNG CRC: reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF),
// table-driven, one byte per step. The 1 KiB table lives in static memory and is filled on first use.

const TABLE: usize = memory.data(256 * 4, 4);
let ready = false;

function fillTable(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    store<u32>(TABLE + (<usize>n << 2), c);
  }
  ready = true;
}

/** CRC-32 of the `n` bytes at absolute address `p` (the caller has bounds-checked them). */
export function crc32(p: usize, n: u32): u32 {
  if (!ready) fillTable();
  let c: u32 = 0xffffffff;
  for (let i: u32 = 0; i < n; i++) {
    c = load<u32>(TABLE + (<usize>((c ^ <u32>load<u8>(p + <usize>i)) & 0xff) << 2)) ^ (c >>> 8);
  }
  return c ^ 0xffffffff;
}
