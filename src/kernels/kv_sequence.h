// Helpers shared by the dense decode and the causal prefill kernels:
// argument checks and element addressing of a KVSequence.
#pragma once

#include <cstddef>
#include <string>

#include "src/kernels/dense_attention.h"
#include "landmark/error.h"

namespace landmark::kv_sequence {

// Throws landmark::Error (prefixed with `caller`) unless kv has positive
// heads and head dim, q_heads is a positive multiple of kv.heads, and the
// K/V pointers are set whenever there are tokens.
inline void Check(const KVSequence& kv, size_t q_heads, const char* caller) {
  const std::string where = caller;
  LANDMARK_CHECK_ARG(kv.heads > 0 && kv.d > 0, where + ": kv heads and head dim must be > 0");
  LANDMARK_CHECK_ARG(q_heads > 0 && q_heads % kv.heads == 0,
                     where + ": query heads (" + std::to_string(q_heads) +
                         ") must be a positive multiple of kv heads (" +
                         std::to_string(kv.heads) + ")");
  LANDMARK_CHECK_ARG(kv.tokens == 0 || (kv.k != nullptr && kv.v != nullptr),
                     where + ": keys or values are null");
}

// Address of element `element` of a `dtype` array.
inline const void* At(const void* base, DType dtype, size_t element) {
  return static_cast<const char*>(base) + element * SizeOf(dtype);
}

}  // namespace landmark::kv_sequence
