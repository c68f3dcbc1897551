// Pieces every mask policy shares: input checks, the blocks every mask keeps,
// and top-k selection with ties to the lower index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "landmark/prefill.h"

namespace landmark::prefill {

// Throws landmark::Error (prefixed with `policy`) for a bad kv sequence,
// q_heads not a multiple of kv heads, a zero block or missing queries.
void CheckInputs(const float* q, size_t q_heads, const KVSequence& kv, size_t block,
                 const char* policy, bool needs_queries);

// The mask every policy starts from: block 0 and the diagonal of every head.
BlockMask FixedBlocksMask(size_t tokens, size_t kv_heads, size_t block);

// Indices of the k largest of scores[0..n) (k <= n), best first; ties go to
// the lower index and NaN ranks below everything.
std::vector<uint32_t> TopK(const float* scores, size_t n, size_t k);

// FlashPrefill (flashprefill.cc, and the GPU's mask through it): throws
// landmark::Error for options out of range; how many columns (vertical) and
// diagonals (slash) are kept of the nb - 2 candidates of nb blocks.
void CheckFlashPrefillOptions(const FlashPrefillOptions& options);
struct FlashPrefillTops {
  size_t vertical = 0, slash = 0;
};
FlashPrefillTops FlashPrefillTopCounts(const FlashPrefillOptions& options, size_t nb);

}  // namespace landmark::prefill
