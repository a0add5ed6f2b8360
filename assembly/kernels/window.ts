// Window arithmetic shared by the windowed kernels (depthwise convs, pooling): which taps of a kernel window fall
// inside the input, and which output pixels have their whole window inside (the fast interior path).

/** First kernel index k with o0 + k*D >= 0. */
@inline export function tap_lo(o0: i32, D: i32): i32 {
  return o0 >= 0 ? 0 : (D - 1 - o0) / D;
}

/** One past the last kernel index k < K with o0 + k*D < N. */
@inline export function tap_hi(o0: i32, D: i32, N: i32, K: i32): i32 {
  const r = N - o0;
  return r <= 0 ? 0 : min(K, (r + D - 1) / D);
}

/** First output index whose window starts inside the input (o*S - P >= 0), capped at O. */
@inline export function inner_lo(S: i32, P: i32, O: i32): i32 {
  return min(O, (P + S - 1) / S);
}

/** One past the last output index whose window ends inside the input (o*S - P + (K-1)*D <= N-1), >= lo. */
@inline export function inner_hi(S: i32, P: i32, K: i32, D: i32, N: i32, O: i32, lo: i32): i32 {
  const last = N - 1 - (K - 1) * D + P;
  return last < 0 ? lo : max(lo, min(O, last / S + 1));
}
