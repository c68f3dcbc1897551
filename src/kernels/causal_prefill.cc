// Causal block-sparse prefill on the block kernel: one task per (kv head,
// query block) attends that block's selected key blocks with the online
// softmax, so the result is the exact softmax over the union of the selected
// blocks. With no mask every causal key is attended (dense attention), or
// those of a sliding window; the queries may continue cached tokens.
//
// Two things make sparse masks run near the dense kernel's FLOP rate:
//  - tasks are ordered by their actual cost (selected blocks), most
//    expensive first, so the threads finish together whatever the mask;
//  - selected blocks are scattered through K/V far beyond the caches, so each
//    piece of keys is prefetched into L2 while the previous one computes (the
//    hardware prefetchers cannot guess the next selected block).

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "src/kernels/dense_attention.h"
#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "src/kernels/block_layout.h"
#include "src/kernels/kv_sequence.h"

namespace landmark {
namespace {

using kv_sequence::At;

// Consecutive keys go to the kernel together up to one kernel pass (whole
// blocks); a piece is also the unit of prefetching.
constexpr size_t kPieceKeys = block_layout::kMaxKeysPerPass;

// Keys [first, first + keys) attended at once.
struct Piece {
  size_t first = 0, keys = 0;
};

struct Task {
  uint32_t head = 0, block = 0;
  uint32_t cost = 0;  // off-diagonal selected key blocks (the diagonal is in every task)
};

struct Workspace {
  QueryBlock queries;
  SoftmaxAccumulator state;
  std::vector<uint32_t> visible, first_visible;
  std::vector<Piece> pieces;
};

// Requests the K and V rows of tokens [first, first + tokens) of `head` into
// L2 (prefetches never fault).
void PrefetchKeys(const KVSequence& kv, size_t head, size_t first, size_t tokens) {
  const size_t row_bytes = kv.d * SizeOf(kv.dtype);
  for (size_t t = first; t < first + tokens; ++t) {
    const size_t offset = t * kv.token_stride + head * kv.head_stride;
    const char* k = static_cast<const char*>(At(kv.k, kv.dtype, offset));
    const char* v = static_cast<const char*>(At(kv.v, kv.dtype, offset));
    for (size_t byte = 0; byte < row_bytes; byte += 64) {
      __builtin_prefetch(k + byte, 0, 2);
      __builtin_prefetch(v + byte, 0, 2);
    }
  }
}

}  // namespace

void CausalPrefill(const float* q, size_t q_heads, const KVSequence& kv, float* out, float* lse,
                   const PrefillOptions& options) {
  kv_sequence::Check(kv, q_heads, "CausalPrefill");
  LANDMARK_CHECK_ARG(kv.page_tokens == 0, "CausalPrefill: paged K/V layouts are for decode only");
  LANDMARK_CHECK_ARG(options.block > 0, "CausalPrefill: block size must be > 0");
  const size_t P = options.past_tokens, W = options.window;
  LANDMARK_CHECK_ARG(P <= kv.tokens, "CausalPrefill: past_tokens (" + std::to_string(P) + ") exceeds the " +
                                         std::to_string(kv.tokens) + " kv tokens");
  const uint8_t* mask = options.block_mask;
  LANDMARK_CHECK_ARG(mask == nullptr || (P == 0 && W == 0),
                     "CausalPrefill: a block mask goes with neither past_tokens nor a window");
  const size_t L = kv.tokens - P, B = options.block, d = kv.d;
  const size_t group = q_heads / kv.heads;
  const size_t blocks = L / B + (L % B != 0);  // ⌈L/B⌉ without overflow (B may be huge)
  const float scale = 1.0f / std::sqrt(float(d));
  const size_t q_stride = q_heads * d;
  const size_t piece_blocks = std::max<size_t>(1, kPieceKeys / B);
  auto selected = [&](size_t head, size_t i, size_t j) {
    return j == 0 || j == i || !mask || mask[(head * blocks + i) * blocks + j] != 0;
  };
  // The first key position p sees.
  auto first_key = [&](size_t p) { return W != 0 && p + 1 > W ? p + 1 - W : size_t(0); };

  // Most expensive first; ties keep the order late blocks first, heads interleaved.
  std::vector<Task> tasks;
  tasks.reserve(blocks * kv.heads);
  for (size_t i = blocks; i-- > 0;) {
    for (size_t head = 0; head < kv.heads; ++head) {
      size_t cost = i;
      if (mask) {
        cost = 0;
        const uint8_t* row = mask + (head * blocks + i) * blocks;
        for (size_t j = 0; j < i; ++j) cost += (j == 0 || row[j] != 0);
      }
      tasks.push_back({uint32_t(head), uint32_t(i), uint32_t(cost)});
    }
  }
  if (mask) {
    std::stable_sort(tasks.begin(), tasks.end(),
                     [](const Task& a, const Task& b) { return a.cost > b.cost; });
  }

  tbb::enumerable_thread_specific<Workspace> workspaces;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, tasks.size(), 1),
                    [&](const tbb::blocked_range<size_t>& range) {
    Workspace& ws = workspaces.local();
    for (size_t t = range.begin(); t != range.end(); ++t) {
      const size_t i = tasks[t].block, head = tasks[t].head;
      const size_t first = i * B, positions = std::min(B, L - first);
      const size_t p0 = P + first;  // the block's positions are p0 .. p0 + positions − 1
      ws.queries.Prepare(q + first * q_stride + head * group * d, positions, group, q_stride, d, scale);
      ws.state.Reset(ws.queries);
      // Keys before the block's own: runs of consecutive selected blocks (or
      // the window's keys), cut into pieces of at most piece_blocks blocks;
      // then the block's own keys (causally masked).
      ws.pieces.clear();
      if (mask) {
        for (size_t j = 0; j < i;) {
          if (!selected(head, i, j)) {
            ++j;
            continue;
          }
          size_t end = j + 1;
          while (end < i && end - j < piece_blocks && selected(head, i, end)) ++end;
          ws.pieces.push_back({j * B, (end - j) * B});
          j = end;
        }
      } else {
        for (size_t a = first_key(p0); a < p0; a += piece_blocks * B) {
          ws.pieces.push_back({a, std::min(piece_blocks * B, p0 - a)});
        }
      }
      ws.pieces.push_back({p0, positions});
      const size_t window_edge = first_key(p0 + positions - 1);  // keys before it: not seen by every position
      for (size_t p = 0; p < ws.pieces.size(); ++p) {
        const Piece& piece = ws.pieces[p];
        if (p + 1 < ws.pieces.size()) {
          const Piece& next = ws.pieces[p + 1];
          PrefetchKeys(kv, head, next.first, std::min(B, next.keys));
        }
        const size_t offset = piece.first * kv.token_stride + head * kv.head_stride;
        const KVBlock block{At(kv.k, kv.dtype, offset), At(kv.v, kv.dtype, offset), kv.dtype,
                            piece.keys, kv.token_stride, kv.token_stride};
        const uint32_t* visible = nullptr;
        const uint32_t* first_visible = nullptr;
        if (piece.first + piece.keys > p0 + 1) {  // keys after the first position: position p0+r sees ..p0+r
          ws.visible.resize(positions);
          for (size_t r = 0; r < positions; ++r) {
            ws.visible[r] = uint32_t(std::min(piece.keys, p0 + r + 1 - piece.first));
          }
          visible = ws.visible.data();
        }
        if (piece.first < window_edge) {  // keys before the last position's window
          ws.first_visible.resize(positions);
          for (size_t r = 0; r < positions; ++r) {
            const size_t lo = first_key(p0 + r);
            ws.first_visible[r] = uint32_t(lo > piece.first ? std::min(piece.keys, lo - piece.first) : 0);
          }
          first_visible = ws.first_visible.data();
        }
        AttendBlock(ws.queries, block, visible, ws.state, first_visible);
      }
      ws.state.Finish(out + first * q_stride + head * group * d, q_stride,
                      lse ? lse + first * q_heads + head * group : nullptr, q_heads);
    }
  }, tbb::simple_partitioner());
}

}  // namespace landmark
