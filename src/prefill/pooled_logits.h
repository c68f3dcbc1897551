// Block-pooled logits, the scores FlashPrefill (and DMA's pooled q·k
// importance) rank key blocks by: Qb = mean of each block's queries, Kb =
// mean of its keys, A_ij = max over the group's query heads of Qb·Kb/sqrt(d).
#pragma once

#include <cstddef>
#include <vector>

#include "landmark/dense_attention.h"

namespace landmark::prefill {

class PooledLogits {
 public:
  // Pools Q [L][q_heads][d] and kv's keys into blocks of `block` tokens (the
  // last one ragged), in parallel (oneTBB).
  PooledLogits(const float* q, size_t q_heads, const KVSequence& kv, size_t block);

  size_t blocks() const { return blocks_; }

  // scores[i*blocks() + j] = A_ij of kv head `head` for j < i; the other
  // entries are left as they are. Parallel over rows.
  void Compute(size_t head, float* scores) const;

 private:
  size_t blocks_ = 0, q_heads_ = 0, kv_heads_ = 0, d_ = 0;
  std::vector<float> queries_;  // [blocks][q_heads][d], scaled by 1/sqrt(d)
  std::vector<float> keys_;     // [kv_heads][blocks][d]
};

}  // namespace landmark::prefill
