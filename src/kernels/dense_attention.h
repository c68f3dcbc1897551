// Dense exact attention: the baseline every sparse method is measured
// against. Parallel with oneTBB in the caller's task arena.
#pragma once

#include <cstddef>
#include <cstdint>

#include "landmark/dtype.h"
#include "landmark/kv_sequence.h"

namespace landmark {

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
