// Block-pooled logits, the scores FlashPrefill (and DMA's pooled q·k
// importance) rank key blocks by: Qb = mean of each block's queries, Kb =
// mean of its keys, A_ij = max over the group's query heads of Qb·Kb/sqrt(d).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "src/kernels/dense_attention.h"

namespace landmark::prefill {

class PooledLogits {
 public:
  // Pools Q [L][q_heads][d] and kv's keys into blocks of `block` tokens (the
  // last one ragged), in parallel (oneTBB).
  PooledLogits(const float* q, size_t q_heads, const KVSequence& kv, size_t block);

  size_t blocks() const { return blocks_; }

  // Calls fn(chunk, i, row) for every query block i in [1, blocks()) of kv
  // head `head`, with row[j] = A_ij for j < i (scratch, valid during the
  // call): nothing of size blocks()² is stored. The rows are cut into
  // `chunks` fixed contiguous ranges run in parallel, each in increasing i,
  // so accumulations per chunk do not depend on thread scheduling.
  using RowFn = std::function<void(size_t chunk, size_t i, const float* row)>;
  void ForEachRow(size_t head, size_t chunks, const RowFn& fn) const;

 private:
  size_t blocks_ = 0, q_heads_ = 0, kv_heads_ = 0, d_ = 0, panels_ = 0;
  std::unique_ptr<float[]> queries_;  // [blocks][q_heads][d], scaled by 1/sqrt(d)
  std::vector<float> keys_;     // [kv_heads][panels][d][kMaxDotsPanel] (MaxDotsPacked)
};

}  // namespace landmark::prefill
