// Dense exact attention: the baseline every sparse method is measured
// against. Parallel with oneTBB in the caller's task arena.
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

// Decode: one position's queries q [q_heads][d] attend all kv.tokens keys.
// q_heads = G * kv.heads (GQA: query head h reads kv head h / G).
// out [q_heads][d]; lse [q_heads] (natural log, scaled logits) or nullptr.
// With 0 tokens: zeros and lse = -inf. Splits long sequences into key ranges
// (flash-decoding) merged by log-sum-exp.
void DenseDecode(const float* q, size_t q_heads, const KVSequence& kv, float* out,
                 float* lse = nullptr);

struct PrefillOptions {
  size_t block = 64;  // query and key block (tile) size, tokens
  // Optional block mask [kv.heads][nb][nb] (nb = ceil(L / block)), nonzero =
  // attend key block j from query block i (j <= i). The diagonal block and
  // block 0 are always attended. nullptr: every causal block (dense).
  // Not with past_tokens or window.
  const uint8_t* block_mask = nullptr;
  // The queries continue a context: they are the last L = kv.tokens −
  // past_tokens tokens of kv (a prompt after cached tokens), query t at
  // position past_tokens + t.
  size_t past_tokens = 0;
  // Sliding window (Mistral): position i sees keys j with i − window < j ≤ i,
  // `window` keys counting itself. 0: no window.
  size_t window = 0;
};

// Causal prefill: Q [L][q_heads][d] of the last L = kv.tokens − past_tokens
// positions; position p sees keys 0..p (within the window). out
// [L][q_heads][d]; lse [L][q_heads] or nullptr. Flash-style tiling: memory
// stays O(block) per task; exact softmax over the union of attended keys.
void CausalPrefill(const float* q, size_t q_heads, const KVSequence& kv, float* out,
                   float* lse = nullptr, const PrefillOptions& options = {});

}  // namespace landmark
