// Dense exact attention (decode and causal prefill) on the block kernel,
// parallel over heads × key ranges (decode) or heads × query blocks (prefill).

#include "landmark/dense_attention.h"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "landmark/kernels.h"

namespace landmark {
namespace {

// Each decode task streams at least this many keys, so that splitting for
// parallelism never costs more in merging than it gains.
constexpr size_t kMinKeysPerSplit = 4096;
// Keys per kernel call in decode (one pass of the block kernel).
constexpr size_t kDecodeBlock = 256;

struct PrefillWorkspace {
  QueryBlock queries;
  SoftmaxAccumulator state;
  std::vector<uint32_t> visible;
};

void CheckSequence(const KVSequence& kv, size_t q_heads, const char* caller) {
  const std::string where = caller;
  LANDMARK_CHECK_ARG(kv.heads > 0 && kv.d > 0, where + ": kv heads and head dim must be > 0");
  LANDMARK_CHECK_ARG(q_heads > 0 && q_heads % kv.heads == 0,
                     where + ": query heads (" + std::to_string(q_heads) +
                         ") must be a positive multiple of kv heads (" +
                         std::to_string(kv.heads) + ")");
  LANDMARK_CHECK_ARG(kv.tokens == 0 || (kv.k != nullptr && kv.v != nullptr),
                     where + ": keys or values are null");
}

const void* At(const void* base, DType dtype, size_t element) {
  return static_cast<const char*>(base) + element * SizeOf(dtype);
}

}  // namespace

void DenseDecode(const float* q, size_t q_heads, const KVSequence& kv, float* out, float* lse) {
  CheckSequence(kv, q_heads, "DenseDecode");
  const size_t group = q_heads / kv.heads, d = kv.d, n = kv.tokens, heads = kv.heads;
  const float scale = 1.0f / std::sqrt(float(d));
  // Enough key ranges to keep every thread streaming, none shorter than
  // kMinKeysPerSplit. A task covers every kv head of its range, block by
  // block, so token-major memory is read front to back (reading one head of
  // [tokens][heads][d] alone would skip lines the prefetchers fetch anyway).
  const size_t threads = size_t(tbb::this_task_arena::max_concurrency());
  const size_t splits = std::clamp<size_t>(4 * threads, 1, std::max<size_t>(1, n / kMinKeysPerSplit));
  const size_t keys_per_split = (n + splits - 1) / splits;

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
      for (size_t first = begin; first < end; first += kDecodeBlock) {
        for (size_t head = 0; head < heads; ++head) {
          const size_t offset = first * kv.token_stride + head * kv.head_stride;
          const KVBlock block{At(kv.k, kv.dtype, offset), At(kv.v, kv.dtype, offset), kv.dtype,
                              std::min(kDecodeBlock, end - first), kv.token_stride, kv.token_stride};
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

void CausalPrefill(const float* q, size_t q_heads, const KVSequence& kv, float* out, float* lse,
                   const PrefillOptions& options) {
  CheckSequence(kv, q_heads, "CausalPrefill");
  LANDMARK_CHECK_ARG(options.block > 0, "CausalPrefill: block size must be > 0");
  const size_t L = kv.tokens, B = options.block, d = kv.d;
  const size_t group = q_heads / kv.heads;
  const size_t blocks = (L + B - 1) / B;
  const float scale = 1.0f / std::sqrt(float(d));
  const size_t q_stride = q_heads * d;
  auto selected = [&](size_t head, size_t i, size_t j) {
    return j == 0 || j == i || !options.block_mask ||
           options.block_mask[(head * blocks + i) * blocks + j] != 0;
  };

  // Tasks in decreasing cost (late query blocks attend more keys), one tile each.
  tbb::enumerable_thread_specific<PrefillWorkspace> workspaces;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, blocks * kv.heads, 1),
                    [&](const tbb::blocked_range<size_t>& tasks) {
    PrefillWorkspace& ws = workspaces.local();
    for (size_t task = tasks.begin(); task != tasks.end(); ++task) {
      const size_t i = blocks - 1 - task / kv.heads, head = task % kv.heads;
      const size_t first = i * B, positions = std::min(B, L - first);
      ws.queries.Prepare(q + first * q_stride + head * group * d, positions, group, q_stride, d, scale);
      ws.state.Reset(ws.queries);
      // Runs of consecutive selected blocks go to the kernel as one block.
      for (size_t j = 0; j <= i;) {
        if (!selected(head, i, j)) {
          ++j;
          continue;
        }
        size_t end = j + 1;
        while (end < i && selected(head, i, end)) ++end;  // the diagonal goes alone (masked)
        const size_t key_first = j * B, keys = std::min(end * B, L) - key_first;
        const size_t offset = key_first * kv.token_stride + head * kv.head_stride;
        const KVBlock block{At(kv.k, kv.dtype, offset), At(kv.v, kv.dtype, offset), kv.dtype,
                            keys, kv.token_stride, kv.token_stride};
        const uint32_t* visible = nullptr;
        if (j == i) {  // position first+p sees keys first..first+p
          ws.visible.resize(positions);
          for (size_t p = 0; p < positions; ++p) ws.visible[p] = uint32_t(p + 1);
          visible = ws.visible.data();
        }
        AttendBlock(ws.queries, block, visible, ws.state);
        j = end;
      }
      ws.state.Finish(out + first * q_stride + head * group * d, q_stride,
                      lse ? lse + first * q_heads + head * group : nullptr, q_heads);
    }
  }, tbb::simple_partitioner());
}

}  // namespace landmark
