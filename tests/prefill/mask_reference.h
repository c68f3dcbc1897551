// Straightforward double-precision references of the mask policies' rules
// (docs/design.md, "Sparse prefill"), written from the definitions with plain
// loops and full sorts, sharing no code with src/prefill.
//
// Float and double arithmetic may disagree on near-ties, so a reference mask
// is a pair of bounds: `must` holds the blocks kept by a margin of more than
// `tolerance` (logit units) and `may` those within it; a correct mask lies
// between the two.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "landmark/prefill.h"

namespace landmark::reference {

struct PrefillInputs {
  std::vector<double> q, k, v;  // exact values: Q [L][Hq][d], K/V [L][Hkv][d]
  size_t L = 0, q_heads = 0, kv_heads = 0, d = 0;
};

struct MaskBounds {
  size_t blocks = 0;
  std::vector<uint8_t> must, may;  // [kv_heads][nb][nb]
};

// A_ij (j < i) of one kv head: max over its query heads of mean_pool(Q)_i ·
// mean_pool(K)_j / sqrt(d). [nb][nb], zero elsewhere.
std::vector<double> PooledLogits(const PrefillInputs& in, size_t block, size_t kv_head);

MaskBounds FlashPrefillMask(const PrefillInputs& in, size_t block, const FlashPrefillOptions& options,
                            double tolerance);
MaskBounds DmaMask(const PrefillInputs& in, size_t block, const DmaOptions& options, double tolerance);

}  // namespace landmark::reference
