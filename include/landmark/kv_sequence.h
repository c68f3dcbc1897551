// The keys and values of one sequence as the kernels read them: a strided
// (or paged) view of f32/f16/bf16 memory the caller owns. The input type of
// the prefill API (landmark/prefill.h) and of every attention kernel.
#pragma once

#include <cstddef>
#include <cstdint>

#include "landmark/dtype.h"

namespace landmark {

// A sequence of `tokens` keys and values for `heads` kv heads of dimension d.
// Element (t, h, :) of K starts at k + t*token_stride + h*head_stride.
struct KVSequence {
  const void* k = nullptr;
  const void* v = nullptr;
  DType dtype = DType::kF32;
  size_t tokens = 0;
  size_t heads = 0;
  size_t d = 0;
  size_t token_stride = 0;
  size_t head_stride = 0;
  // Paged layouts (the chunk store's records): tokens come in pages of
  // page_tokens, and element (t, h, :) of K starts at
  // k + (t / page_tokens)*page_stride + (t % page_tokens)*token_stride + h*head_stride
  // (V likewise from v). 0: not paged. DenseDecode only.
  size_t page_tokens = 0;
  size_t page_stride = 0;

  // Element offset of token t, head h.
  size_t Offset(size_t t, size_t h) const {
    return page_tokens ? (t / page_tokens) * page_stride + (t % page_tokens) * token_stride + h * head_stride
                       : t * token_stride + h * head_stride;
  }
  // Tokens from t to the end of its page (all the rest when not paged).
  size_t PageRemainder(size_t t) const { return page_tokens ? page_tokens - t % page_tokens : tokens - t; }

  // Token-major [tokens][heads][d] (the layout of .npy inputs).
  static KVSequence TokenMajor(const void* k, const void* v, DType dtype, size_t tokens,
                               size_t heads, size_t d) {
    return {k, v, dtype, tokens, heads, d, heads * d, d, 0, 0};
  }
};

}  // namespace landmark
