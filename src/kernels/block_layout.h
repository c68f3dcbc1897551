// Layout constants shared by QueryBlock / SoftmaxAccumulator (plain C++) and
// the per-target block attention kernel.
#pragma once

#include <cstddef>

namespace landmark::block_layout {

// Rows are padded to a multiple of the widest f32 vector of any target, so a
// layout prepared once suits whichever target the kernel dispatches to.
inline constexpr size_t kRowPad = 16;
// With fewer query rows than this, the kernel scores each key with row dot
// products; with more, it multiplies K by the transposed queries (a GEMM
// micro-kernel whose lanes run over query rows).
inline constexpr size_t kTransposeMinRows = 16;
// Longest key run processed at once: bounds the kernel's scratch.
inline constexpr size_t kMaxKeysPerPass = 256;

constexpr size_t RoundUp(size_t n, size_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

}  // namespace landmark::block_layout
