// Dense exact decode on the block kernel, parallel over key ranges
// (flash-decoding) merged by log-sum-exp. Causal prefill: causal_prefill.cc.

#include "src/kernels/dense_attention.h"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "src/kernels/kv_sequence.h"

namespace landmark {
namespace {

using kv_sequence::At;

// Each decode task streams at least this many keys, so that splitting for
// parallelism never costs more in merging than it gains.
constexpr size_t kMinKeysPerSplit = 4096;
// Keys per kernel call in decode (one pass of the block kernel).
constexpr size_t kDecodeBlock = 256;

}  // namespace

void DenseDecode(const float* q, size_t q_heads, const KVSequence& kv, float* out, float* lse) {
  kv_sequence::Check(kv, q_heads, "DenseDecode");
  const size_t group = q_heads / kv.heads, d = kv.d, n = kv.tokens, heads = kv.heads;
  const float scale = 1.0f / std::sqrt(float(d));
  // Enough key ranges to keep every thread streaming, none shorter than
  // kMinKeysPerSplit. A task covers every kv head of its range, block by
  // block, so token-major memory is read front to back (reading one head of
  // [tokens][heads][d] alone would skip lines the prefetchers fetch anyway).
  const size_t threads = size_t(tbb::this_task_arena::max_concurrency());
  const size_t splits = std::clamp<size_t>(4 * threads, 1, std::max<size_t>(1, n / kMinKeysPerSplit));
  size_t keys_per_split = (n + splits - 1) / splits;
  if (kv.page_tokens) {  // whole pages per split
    keys_per_split = (keys_per_split + kv.page_tokens - 1) / kv.page_tokens * kv.page_tokens;
  }

  std::vector<QueryBlock> queries(heads);
  for (size_t head = 0; head < heads; ++head) {
    queries[head].Prepare(q + head * group * d, 1, group, 0, d, scale);
  }
  // Partial results [heads][splits][group][d], merged per head below.
  std::vector<float> partial_out(heads * splits * group * d);
  std::vector<float> partial_lse(heads * splits * group);
  tbb::enumerable_thread_specific<std::vector<SoftmaxAccumulator>> workspaces(heads);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, splits, 1), [&](const tbb::blocked_range<size_t>& range) {
    std::vector<SoftmaxAccumulator>& states = workspaces.local();
    for (size_t split = range.begin(); split != range.end(); ++split) {
      const size_t begin = std::min(n, split * keys_per_split);
      const size_t end = std::min(n, begin + keys_per_split);
      for (size_t head = 0; head < heads; ++head) states[head].Reset(queries[head]);
      for (size_t first = begin, keys = 0; first < end; first += keys) {
        keys = std::min({kDecodeBlock, end - first, kv.PageRemainder(first)});  // blocks stay in a page
        for (size_t head = 0; head < heads; ++head) {
          const size_t offset = kv.Offset(first, head);
          const KVBlock block{At(kv.k, kv.dtype, offset), At(kv.v, kv.dtype, offset), kv.dtype, keys,
                              kv.token_stride, kv.token_stride};
          AttendBlock(queries[head], block, nullptr, states[head]);
        }
      }
      for (size_t head = 0; head < heads; ++head) {
        const size_t part = head * splits + split;
        states[head].Finish(partial_out.data() + part * group * d, 0,
                            partial_lse.data() + part * group, 0);
      }
    }
  });
  for (size_t head = 0; head < heads; ++head) {
    MergeByLse(partial_out.data() + head * splits * group * d,
               partial_lse.data() + head * splits * group, splits, group, d,
               out + head * group * d, lse ? lse + head * group : nullptr);
  }
}

}  // namespace landmark
