// The GPU retriever (RetrieverConfig::device = kCuda): landmarks resident in
// GPU memory, scoring and exact top-k per (query, landmark head), block
// attention of the selected chunks and HSA / joint fusion on the GPU. K/V
// are either resident (uploaded once) or streamed per batch: the selected
// (chunk, kv head) records, deduplicated over the batch, are gathered from
// the mapped store into two pinned staging buffers and copied on a copy
// stream while the compute stream attends the previous group.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "src/cuda/common.cuh"
#include "src/cuda/kernels.h"

namespace landmark::cuda {
namespace {

using backend::AttendGroup;
using backend::AttendItem;
using backend::SelectRange;
constexpr int kThreads = 256;
constexpr float kNegInf = -INFINITY;

size_t Align(size_t bytes) { return (bytes + 255) / 256 * 256; }

// ------------------------------------------------------------------ scoring

// One warp per (chunk, landmark head) row: s = r·L / sqrt(R) (or the Quest
// bound for minmax) for every query whose candidate range holds the chunk.
template <class T>
__global__ void ScoreKernel(const T* landmarks, uint32_t LH, uint32_t values, uint32_t R, bool minmax,
                            const float* r, const SelectRange* ranges, uint32_t M, uint32_t C, float scale,
                            float* scores) {
  const size_t warp = (size_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const unsigned lane = threadIdx.x % 32;
  if (warp >= size_t(C) * LH) return;
  const uint32_t c = uint32_t(warp / LH), h = uint32_t(warp % LH);
  const T* row = landmarks + warp * values;
  for (uint32_t m = 0; m < M; ++m) {
    if (c < ranges[m].first || c >= ranges[m].end) continue;
    const float* rq = r + (size_t(m) * LH + h) * R;
    float dot = 0;
    for (uint32_t k = lane; k < R; k += 32) {
      dot += minmax ? fmaxf(rq[k] * Load(row, k), rq[k] * Load(row, R + k)) : rq[k] * Load(row, k);
    }
    dot = WarpSum(dot);
    if (lane == 0) scores[(size_t(m) * LH + h) * C + c] = dot * scale;
  }
}

// Batches: scores of a tile of kScoreChunks chunks × kScoreQueries queries
// of one landmark head per block, both staged in shared memory as f32
// (landmark rows padded by one float against bank conflicts), so that each
// landmark row is read from memory once per batch instead of once per
// query. Thread t owns chunk t % 32 and queries t / 32 + 8j, j < 4.
constexpr uint32_t kScoreChunks = 32, kScoreQueries = 32;

template <class T>
__global__ void __launch_bounds__(256) ScoreTileKernel(const T* landmarks, uint32_t LH, uint32_t values, uint32_t R,
                                                       bool minmax, const float* r, const SelectRange* ranges,
                                                       uint32_t M, uint32_t C, float scale, float* scores) {
  extern __shared__ float tile[];
  const uint32_t row = values + 1;           // padded
  float* ls = tile;                          // [kScoreChunks][values + 1]
  float* rs = tile + kScoreChunks * row;     // [kScoreQueries][R]
  const uint32_t c0 = blockIdx.x * kScoreChunks, h = blockIdx.y, t = threadIdx.x;
  for (uint32_t i = t; i < kScoreChunks * values; i += blockDim.x) {
    const uint32_t c = i / values, k = i % values;
    ls[c * row + k] = c0 + c < C ? Load(landmarks, (size_t(c0 + c) * LH + h) * values + k) : 0.0f;
  }
  const uint32_t c = c0 + t % 32, mine = t / 32;
  for (uint32_t m0 = 0; m0 < M; m0 += kScoreQueries) {
    __syncthreads();  // ls written, or the previous rs consumed
    for (uint32_t i = t; i < kScoreQueries * R; i += blockDim.x) {
      const uint32_t m = m0 + i / R;
      rs[i] = m < M ? r[(size_t(m) * LH + h) * R + i % R] : 0.0f;
    }
    __syncthreads();
    const float* lrow = ls + (t % 32) * row;
    // The thread's 4 queries at once: each landmark value read from shared
    // memory once for all four (the query values are broadcasts).
    constexpr uint32_t kMine = kScoreQueries / 8;
    float dot[kMine] = {};
    const float* rq = rs + mine * R;
    if (minmax) {
      for (uint32_t k = 0; k < R; ++k) {
        const float lo = lrow[k], hi = lrow[R + k];
#pragma unroll
        for (uint32_t j = 0; j < kMine; ++j) {
          const float x = rq[8 * j * R + k];
          dot[j] += fmaxf(x * lo, x * hi);
        }
      }
    } else {
#pragma unroll 4
      for (uint32_t k = 0; k < R; ++k) {
        const float l = lrow[k];
#pragma unroll
        for (uint32_t j = 0; j < kMine; ++j) dot[j] = fmaf(rq[8 * j * R + k], l, dot[j]);
      }
    }
#pragma unroll
    for (uint32_t j = 0; j < kMine; ++j) {
      const uint32_t m = m0 + mine + 8 * j;
      if (m >= M || c >= C || c < ranges[m].first || c >= ranges[m].end) continue;
      scores[(size_t(m) * LH + h) * C + c] = dot[j] * scale;
    }
  }
}

// A total order matching the CPU's Better(): higher score first, ties to
// the lower chunk, NaN below every number, -0 equal to +0.
__device__ __forceinline__ uint64_t RankKey(float s, uint32_t c) {
  uint32_t u = 0;
  if (!isnan(s)) {
    const uint32_t b = __float_as_uint(s == 0.0f ? 0.0f : s);
    u = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  }
  return (uint64_t(u) << 32) | uint32_t(~c);
}

// The kk-th largest of the keys key_at(i), i < n, by radix select (8 passes
// of 8 bits from the top), for the whole block. Keys are unique.
template <class KeyAt>
__device__ uint64_t RadixSelect(const KeyAt& key_at, uint32_t n, uint32_t kk) {
  __shared__ unsigned histogram[256];
  __shared__ uint64_t prefix;
  __shared__ unsigned remaining;
  __syncthreads();  // the shared state may still be read from a previous call
  if (threadIdx.x == 0) {
    prefix = 0;
    remaining = kk;
  }
  for (int shift = 56; shift >= 0; shift -= 8) {
    const uint64_t high = shift == 56 ? 0 : (~uint64_t(0) << (shift + 8));
    for (unsigned i = threadIdx.x; i < 256; i += blockDim.x) histogram[i] = 0;
    __syncthreads();
    const uint64_t p = prefix;
    for (uint32_t i = threadIdx.x; i < n; i += blockDim.x) {
      const uint64_t key = key_at(i);
      if ((key & high) == p) atomicAdd(&histogram[(key >> shift) & 255], 1u);
    }
    __syncthreads();
    if (threadIdx.x < 32) {
      // Warp 0 finds the digit where the count from the top reaches
      // `remaining`: lane l sums digits 255 - 8l .. 248 - 8l, a scan over
      // the lanes gives each range's count above it.
      const unsigned lane = threadIdx.x, rem = remaining;
      unsigned local[8], sum = 0;
#pragma unroll
      for (int j = 0; j < 8; ++j) sum += (local[j] = histogram[255 - 8 * lane - j]);
      unsigned inclusive = sum;
#pragma unroll
      for (int offset = 1; offset < 32; offset <<= 1) {
        const unsigned up = __shfl_up_sync(0xffffffffu, inclusive, offset);
        if (lane >= unsigned(offset)) inclusive += up;
      }
      unsigned above = inclusive - sum;
      if (above < rem && rem <= inclusive) {
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          if (above + local[j] >= rem) {
            prefix |= uint64_t(255 - 8 * lane - j) << shift;
            remaining = rem - above;
            break;
          }
          above += local[j];
        }
      }
    }
    __syncthreads();
  }
  return prefix;
}

// Top-k in two stages, so that one (query, head) spreads over many SMs.
// Stage 1: block (tile, mh) keeps the best min(k, n) keys of kTopKTile
// candidates, unsorted, in cand[mh][tile][k] (count in cand_count).
constexpr uint32_t kTopKTile = 4096;

__global__ void TopKTileKernel(const float* scores, uint32_t C, const SelectRange* ranges, uint32_t LH, uint32_t k,
                               uint32_t tiles, uint64_t* cand, uint32_t* cand_count) {
  const uint32_t tile = blockIdx.x, mh = blockIdx.y, m = mh / LH;
  const uint32_t begin = ranges[m].first + tile * kTopKTile;
  const uint32_t end = min(ranges[m].end, begin + kTopKTile);
  const uint32_t n = end > begin && ranges[m].end > ranges[m].first ? end - begin : 0, kk = min(k, n);
  const float* s = scores + size_t(mh) * C;
  uint64_t* out = cand + (size_t(mh) * tiles + tile) * k;
  if (threadIdx.x == 0) cand_count[size_t(mh) * tiles + tile] = kk;
  if (kk == 0) return;
  // The tile's keys read once into shared memory: the 8 radix passes and
  // the final one then read no scores from L2 or HBM.
  __shared__ uint64_t tile_keys[kTopKTile];
  for (uint32_t i = threadIdx.x; i < n; i += blockDim.x) tile_keys[i] = RankKey(s[begin + i], begin + i);
  __syncthreads();
  auto key_at = [&](uint32_t i) { return tile_keys[i]; };
  const uint64_t threshold = n > kk ? RadixSelect(key_at, n, kk) : 0;
  __shared__ unsigned found;
  if (threadIdx.x == 0) found = 0;
  __syncthreads();
  for (uint32_t i = threadIdx.x; i < n; i += blockDim.x) {
    const uint64_t key = key_at(i);
    if (key >= threshold) out[atomicAdd(&found, 1u)] = key;
  }
}

// Stage 2: block mh selects the best min(k, candidates) of its tiles' keys
// (empty slots read as key 0, below every real key) and ranks them.
__global__ void TopKMergeKernel(const float* scores, uint32_t C, const SelectRange* ranges, uint32_t LH, uint32_t k,
                                uint32_t tiles, const uint64_t* cand, const uint32_t* cand_count, uint32_t* out_chunks,
                                float* out_scores, uint32_t* counts, uint64_t* scratch) {
  const uint32_t mh = blockIdx.x, m = mh / LH;
  const uint32_t n = ranges[m].end > ranges[m].first ? ranges[m].end - ranges[m].first : 0, kk = min(k, n);
  if (threadIdx.x == 0) counts[mh] = kk;
  if (kk == 0) return;
  const uint64_t* keys_in = cand + size_t(mh) * tiles * k;
  const uint32_t* count_in = cand_count + size_t(mh) * tiles;
  auto key_at = [&](uint32_t i) { return i % k < count_in[i / k] ? keys_in[i] : uint64_t(0); };
  const uint64_t threshold = RadixSelect(key_at, tiles * k, kk);
  __shared__ unsigned found;
  if (threadIdx.x == 0) found = 0;
  __syncthreads();
  uint64_t* keys = scratch + size_t(mh) * k;
  for (uint32_t i = threadIdx.x; i < tiles * k; i += blockDim.x) {
    const uint64_t key = key_at(i);
    if (key != 0 && key >= threshold) keys[atomicAdd(&found, 1u)] = key;
  }
  __syncthreads();
  const float* s = scores + size_t(mh) * C;
  for (uint32_t i = threadIdx.x; i < kk; i += blockDim.x) {
    const uint64_t key = keys[i];
    uint32_t rank = 0;
    for (uint32_t j = 0; j < kk; ++j) rank += keys[j] > key;
    const uint32_t chunk = ~uint32_t(key);
    out_chunks[size_t(mh) * k + rank] = chunk;
    out_scores[size_t(mh) * k + rank] = s[chunk];
  }
}

// ---------------------------------------------------------------- attention

// An item as the GPU reads it (8 bytes: a batch of 64 queries uploads 33K
// of them), in the canonical order: its record (K [S][d], then V [S][d])
// is resident record `record` or, with kStaged set, staging slot `record`;
// `tokens` carries kZeroLogit. Query and kv head are its split's group's.
struct DeviceItem {
  uint32_t record, tokens;
};
constexpr uint32_t kStaged = 0x80000000u, kZeroLogit = 0x80000000u;

// A split: items [first, first + count) of one (query, kv head) group,
// attended by one block (split-k over the group's chunks).
struct DeviceSplit {
  uint32_t group, first, count;
};

constexpr uint32_t kAttendThreads = 128;

// 16 bytes of K or V as floats (kVec elements).
template <class T>
struct Vec;
template <>
struct Vec<float> {
  static constexpr int kN = 4;
  __device__ static void Load(const float* p, float* x) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    x[0] = v.x; x[1] = v.y; x[2] = v.z; x[3] = v.w;
  }
};
template <>
struct Vec<__half> {
  static constexpr int kN = 8;
  __device__ static void Load(const __half* p, float* x) {
    const uint4 v = *reinterpret_cast<const uint4*>(p);
    const __half2* h = reinterpret_cast<const __half2*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = __half22float2(h[i]);
      x[2 * i] = f.x;
      x[2 * i + 1] = f.y;
    }
  }
};
template <>
struct Vec<__nv_bfloat16> {
  static constexpr int kN = 8;
  __device__ static void Load(const __nv_bfloat16* p, float* x) {
    const uint4 v = *reinterpret_cast<const uint4*>(p);
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = __bfloat1622float2(h[i]);
      x[2 * i] = f.x;
      x[2 * i + 1] = f.y;
    }
  }
};

// One block of kAttendThreads per split: for each item of the split, the
// G query heads of its kv head attend its tokens (logits: a pair of
// threads per token, each half of d, 16-byte loads when d allows; then a
// warp per head for the softmax; then a thread per column of V), and the
// item joins the split's running state: joint (and hsa's local items) an
// online LSE merge of unnormalised outputs, hsa's retrieval items
// Σ w_i o_i. Each item's lse goes to lses [items][G] (explanations).
// Writes per split: acc [G][d] (unnormalised), accw [G][d] (hsa), (M, L) [G].
// Shared: qs [G][d], p [G][S], acc, accw [G][d], coef [G][4], run [G][2].
template <class T, bool kVector>
__global__ void __launch_bounds__(kAttendThreads) SplitAttendKernel(
    const DeviceItem* items, const char* resident, const char* staging, size_t record_bytes,
    const DeviceSplit* splits, const AttendGroup* groups, const float* q,
    const float* weights, uint32_t q_heads, uint32_t G, uint32_t d, uint32_t S, float scale, bool hsa,
    float* part_acc, float* part_accw, float* part_ml, float* lses) {
  extern __shared__ float shared[];
  const DeviceSplit split = splits[blockIdx.x];
  const AttendGroup group = groups[split.group];
  float* qs = shared;
  float* p = qs + G * d;
  float* acc = p + G * S;
  float* accw = acc + G * d;
  float* coef = accw + G * d;
  float* run = coef + 4 * G;
  const uint32_t tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  {
    const float* qsrc = q + size_t(split.group) * G * d;  // group = query · H + kv head, q_heads = H · G
    for (uint32_t i = tid; i < G * d; i += kAttendThreads) {
      qs[i] = qsrc[i] * scale;
      acc[i] = 0.0f;
      accw[i] = 0.0f;
    }
    for (uint32_t g = tid; g < G; g += kAttendThreads) {
      run[2 * g] = kNegInf;
      run[2 * g + 1] = 0.0f;
    }
  }
  __syncthreads();
  for (uint32_t it = split.first; it < split.first + split.count; ++it) {
    const DeviceItem item = items[it];
    const T* K = reinterpret_cast<const T*>(((item.record & kStaged) ? staging : resident) +
                                            size_t(item.record & ~kStaged) * record_bytes);
    const T* V = K + size_t(S) * d;
    const uint32_t tokens = item.tokens & ~kZeroLogit;
    // Logits: thread pair (2t, 2t + 1) shares token t, each taking every
    // other 16-byte vector (or element) of the row.
    for (uint32_t base = 0; base < 2 * tokens; base += kAttendThreads) {
      const uint32_t idx = base + tid, t = idx / 2, part = idx % 2;
      const bool ok = t < tokens;
      for (uint32_t g0 = 0; g0 < G; g0 += 4) {
        float dot[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (ok) {
          const T* row = K + size_t(t) * d;
          if constexpr (kVector) {
            constexpr int kN = Vec<T>::kN;
            for (uint32_t k = part * kN; k < d; k += 2 * kN) {
              float x[kN];
              Vec<T>::Load(row + k, x);
#pragma unroll
              for (int j = 0; j < 4; ++j) {
                if (g0 + j < G) {
                  const float* qg = qs + (g0 + j) * d + k;
#pragma unroll
                  for (int e = 0; e < kN; ++e) dot[j] = fmaf(qg[e], x[e], dot[j]);
                }
              }
            }
          } else {
            for (uint32_t k = part; k < d; k += 2) {
              const float x = Load(row, k);
#pragma unroll
              for (int j = 0; j < 4; ++j) {
                if (g0 + j < G) dot[j] = fmaf(qs[(g0 + j) * d + k], x, dot[j]);
              }
            }
          }
        }
#pragma unroll
        for (int j = 0; j < 4; ++j) dot[j] += __shfl_xor_sync(0xffffffffu, dot[j], 1);
        if (ok && part == 0) {
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            if (g0 + j < G) p[(g0 + j) * S + t] = dot[j];
          }
        }
      }
    }
    __syncthreads();
    // Softmax per head; the item's lse; the coefficients of its merge.
    for (uint32_t g = warp; g < G; g += kAttendThreads / 32) {
      float max = kNegInf;
      for (uint32_t t = lane; t < tokens; t += 32) max = fmaxf(max, p[g * S + t]);
      max = WarpMax(max);
      float sum = 0;
      for (uint32_t t = lane; t < tokens; t += 32) {
        const float e = max == kNegInf ? 0.0f : expf(p[g * S + t] - max);
        p[g * S + t] = e;
        sum += e;
      }
      sum = WarpSum(sum);
      if (lane == 0) {
        // As SoftmaxAccumulator::Finish: an implicit zero logit joins the denominator.
        float row_max = max, row_sum = sum, rescale = 1.0f;
        if (item.tokens & kZeroLogit) {
          const float new_max = fmaxf(row_max, 0.0f);
          rescale = row_max == kNegInf ? 0.0f : expf(row_max - new_max);
          row_sum = row_sum * rescale + expf(-new_max);
          row_max = new_max;
        }
        lses[size_t(it) * G + g] = row_sum > 0.0f ? row_max + logf(row_sum) : kNegInf;
        float alpha = 1.0f, beta = 0.0f, beta_w = 0.0f;
        const bool retrieval = it - group.first_item < group.retrieval;
        if (hsa && retrieval) {
          if (row_sum > 0.0f) beta_w = weights[it] * rescale / row_sum;
        } else if (row_sum > 0.0f) {
          const float m_run = run[2 * g], m_new = fmaxf(m_run, row_max);
          alpha = m_run == kNegInf ? 0.0f : expf(m_run - m_new);
          const float e = expf(row_max - m_new);
          beta = rescale * e;
          run[2 * g] = m_new;
          run[2 * g + 1] = run[2 * g + 1] * alpha + row_sum * e;
        }
        coef[4 * g] = alpha;
        coef[4 * g + 1] = beta;
        coef[4 * g + 2] = beta_w;
      }
    }
    __syncthreads();
    // P·V: a thread per column of V, every head at once.
    for (uint32_t k = tid; k < d; k += kAttendThreads) {
      for (uint32_t g0 = 0; g0 < G; g0 += 4) {
        float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll 8
        for (uint32_t t = 0; t < tokens; ++t) {
          const float x = Load(V, size_t(t) * d + k);
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            if (g0 + j < G) s[j] = fmaf(p[(g0 + j) * S + t], x, s[j]);
          }
        }
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const uint32_t g = g0 + j;
          if (g < G) {
            acc[g * d + k] = acc[g * d + k] * coef[4 * g] + coef[4 * g + 1] * s[j];
            accw[g * d + k] += coef[4 * g + 2] * s[j];
          }
        }
      }
    }
    __syncthreads();  // p and coef are rewritten by the next item
  }
  float* out_acc = part_acc + size_t(blockIdx.x) * G * d;
  for (uint32_t i = tid; i < G * d; i += kAttendThreads) {
    out_acc[i] = acc[i];
    if (hsa) part_accw[size_t(blockIdx.x) * G * d + i] = accw[i];
  }
  for (uint32_t g = tid; g < G; g += kAttendThreads) {
    part_ml[(size_t(blockIdx.x) * G + g) * 2] = run[2 * g];
    part_ml[(size_t(blockIdx.x) * G + g) * 2 + 1] = run[2 * g + 1];
  }
}

// One block per (query, kv head) group: merges its splits [split_begin[gi],
// split_begin[gi + 1]) as MergeByLse does (parts with nothing add nothing;
// none gives zeros and -inf): joint into out and lse, hsa into local_out
// and local_lse, and hsa's Σ w_i o_i into out.
__global__ void MergeSplitsKernel(const uint32_t* split_begin, const float* part_acc, const float* part_accw,
                                  const float* part_ml, uint32_t G, uint32_t d, bool hsa, float* out, float* lse,
                                  float* local_out, float* local_lse) {
  const uint32_t gi = blockIdx.x, begin = split_begin[gi], end = split_begin[gi + 1];
  const size_t row0 = size_t(gi) * G;  // = m * q_heads + h * G
  float* merged = hsa ? local_out : out;
  float* merged_lse = hsa ? local_lse : lse;
  for (uint32_t i = threadIdx.x; i < G * d; i += blockDim.x) {
    const uint32_t g = i / d, k = i % d;
    float max = kNegInf;
#pragma unroll 8
    for (uint32_t s = begin; s < end; ++s) {
      if (part_ml[(size_t(s) * G + g) * 2 + 1] > 0.0f) max = fmaxf(max, part_ml[(size_t(s) * G + g) * 2]);
    }
    float total = 0, acc = 0, sum_w = 0;
#pragma unroll 8
    for (uint32_t s = begin; s < end; ++s) {
      const float m = part_ml[(size_t(s) * G + g) * 2], l = part_ml[(size_t(s) * G + g) * 2 + 1];
      if (l > 0.0f) {
        const float w = expf(m - max);
        total += w * l;
        acc += w * part_acc[(size_t(s) * G + g) * d + k];
      }
      if (hsa) sum_w += part_accw[(size_t(s) * G + g) * d + k];
    }
    merged[(row0 + g) * d + k] = total > 0.0f ? acc / total : 0.0f;
    if (k == 0) merged_lse[row0 + g] = total > 0.0f ? max + logf(total) : kNegInf;
    if (hsa) out[(row0 + g) * d + k] = sum_w;
  }
}

// ------------------------------------------------------------------ decoder

// LANDMARK_CUDA_PROFILE set: kernel times (CUDA events) and the whole
// call's wall time of each Select and Attend, printed to stderr.
struct Profile {
  bool on = std::getenv("LANDMARK_CUDA_PROFILE") != nullptr;
  cudaEvent_t events[4] = {};
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  Profile() {
    if (on) for (cudaEvent_t& e : events) LANDMARK_CUDA_CHECK(cudaEventCreate(&e));
  }
  ~Profile() {
    if (on) for (cudaEvent_t e : events) cudaEventDestroy(e);
  }
  Profile(const Profile&) = delete;
  Profile& operator=(const Profile&) = delete;
  void Mark(cudaStream_t stream, int i) const {
    if (on) LANDMARK_CUDA_CHECK(cudaEventRecord(events[i], stream));
  }
  double Ms(int a, int b) const { return Elapsed(events[a], events[b]) * 1e3; }
  double WallMs() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
};

class Decoder final : public backend::Decoder {
 public:
  Decoder(const backend::DecodeStore& store, const backend::DecodeOptions& options)
      : store_(store), options_(options) {
    LANDMARK_CUDA_CHECK(cudaSetDevice(options.gpu));
    LANDMARK_CUDA_CHECK(cudaStreamCreateWithFlags(&compute_, cudaStreamNonBlocking));
    LANDMARK_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking));
    for (cudaEvent_t& e : staged_) LANDMARK_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    int device_sms = 0;
    LANDMARK_CUDA_CHECK(cudaDeviceGetAttribute(&device_sms, cudaDevAttrMultiProcessorCount, options.gpu));
    multiprocessors_ = size_t(std::max(1, device_sms));
    element_ = SizeOf(store.dtype);
    record_bytes_ = 2 * store.chunk_size * store.head_dim * element_;
    SyncLandmarks(store);
    if (options.placement == backend::KvPlacement::kResident) UploadResident();
  }

  ~Decoder() override {
    cudaStreamSynchronize(compute_);
    cudaStreamSynchronize(copy_);
    for (cudaEvent_t e : staged_) cudaEventDestroy(e);
    cudaStreamDestroy(compute_);
    cudaStreamDestroy(copy_);
  }

  bool resident() const override { return options_.placement == backend::KvPlacement::kResident; }

  void SyncLandmarks(const backend::DecodeStore& store) override {
    const size_t row = store.landmark_heads * store.landmark_values * element_;
    store_.chunks = store.chunks;
    store_.landmarks = store.landmarks;
    if (store.chunks == 0) return;
    landmarks_.Reserve(store.chunks * row);
    LANDMARK_CUDA_CHECK(cudaMemcpy(landmarks_.get(), store.landmarks, store.chunks * row, cudaMemcpyHostToDevice));
  }

  void Select(const float* r, const SelectRange* ranges, size_t M, size_t top_k, uint32_t* chunks, float* scores,
              uint32_t* counts) override {
    LANDMARK_CUDA_CHECK(cudaSetDevice(options_.gpu));
    const Profile profile;
    const size_t LH = store_.landmark_heads, R = store_.landmark_dim;
    uint32_t C = 0, longest = 0;
    for (size_t m = 0; m < M; ++m) {
      C = std::max(C, ranges[m].end);
      if (ranges[m].end > ranges[m].first) longest = std::max(longest, ranges[m].end - ranges[m].first);
    }
    if (C > store_.chunks) throw std::runtime_error("cuda: candidate range past the uploaded landmarks");
    const uint32_t tiles = std::max<uint32_t>(1, (longest + kTopKTile - 1) / kTopKTile);
    // One upload (r, ranges) and one download (chunks, scores, counts) through pinned memory.
    const size_t r_bytes = Align(M * LH * R * sizeof(float)), ranges_bytes = Align(M * sizeof(SelectRange));
    const size_t n = M * LH * top_k, down_bytes = Align(n * 4) * 2 + Align(M * LH * 4);
    char* up = up_.Reserve(r_bytes + ranges_bytes);
    std::memcpy(up, r, M * LH * R * sizeof(float));
    std::memcpy(up + r_bytes, ranges, M * sizeof(SelectRange));
    char* up_dev = up_dev_.Reserve(r_bytes + ranges_bytes);
    const float* r_dev = reinterpret_cast<const float*>(up_dev);
    const SelectRange* ranges_dev = reinterpret_cast<const SelectRange*>(up_dev + r_bytes);
    char* down_dev = down_dev_.Reserve(down_bytes);
    uint32_t* chunks_dev = reinterpret_cast<uint32_t*>(down_dev);
    float* top_scores_dev = reinterpret_cast<float*>(down_dev + Align(n * 4));
    uint32_t* counts_dev = reinterpret_cast<uint32_t*>(down_dev + 2 * Align(n * 4));
    float* scores_dev = scores_.Reserve(std::max<size_t>(1, M * LH * C));
    uint64_t* cand = cand_.Reserve(M * LH * tiles * top_k);
    uint32_t* cand_count = cand_count_.Reserve(M * LH * tiles);
    uint64_t* scratch = top_keys_.Reserve(M * LH * top_k);
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(up_dev, up, r_bytes + ranges_bytes, cudaMemcpyHostToDevice, compute_));
    const float scale = 1.0f / std::sqrt(float(R));
    profile.Mark(compute_, 0);
    // One query: a warp per landmark row. Batches: tiles of chunks × queries.
    const size_t tile_shared = (kScoreChunks * (store_.landmark_values + 1) + kScoreQueries * R) * sizeof(float);
    if (C > 0 && (M < 4 || tile_shared > 96 * 1024)) {
      const size_t warps = size_t(C) * LH, blocks = (warps * 32 + kThreads - 1) / kThreads;
      WithElement(store_.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        ScoreKernel<T><<<blocks, kThreads, 0, compute_>>>(static_cast<const T*>(static_cast<const void*>(landmarks_.get())),
                                                          uint32_t(LH), uint32_t(store_.landmark_values), uint32_t(R),
                                                          store_.minmax, r_dev, ranges_dev, uint32_t(M), C, scale,
                                                          scores_dev);
      });
      LANDMARK_CUDA_CHECK(cudaGetLastError());
    } else if (C > 0) {
      const dim3 grid((C + kScoreChunks - 1) / kScoreChunks, unsigned(LH));
      WithElement(store_.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if (tile_shared > 48 * 1024) {
          LANDMARK_CUDA_CHECK(cudaFuncSetAttribute(ScoreTileKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                   int(tile_shared)));
        }
        ScoreTileKernel<T><<<grid, 256, tile_shared, compute_>>>(
            static_cast<const T*>(static_cast<const void*>(landmarks_.get())), uint32_t(LH),
            uint32_t(store_.landmark_values), uint32_t(R), store_.minmax, r_dev, ranges_dev, uint32_t(M), C, scale,
            scores_dev);
      });
      LANDMARK_CUDA_CHECK(cudaGetLastError());
    }
    profile.Mark(compute_, 1);
    TopKTileKernel<<<dim3(tiles, unsigned(M * LH)), kThreads, 0, compute_>>>(scores_dev, C, ranges_dev, uint32_t(LH),
                                                                            uint32_t(top_k), tiles, cand, cand_count);
    LANDMARK_CUDA_CHECK(cudaGetLastError());
    TopKMergeKernel<<<unsigned(M * LH), kThreads, 0, compute_>>>(scores_dev, C, ranges_dev, uint32_t(LH), uint32_t(top_k),
                                                                 tiles, cand, cand_count, chunks_dev, top_scores_dev,
                                                                 counts_dev, scratch);
    LANDMARK_CUDA_CHECK(cudaGetLastError());
    profile.Mark(compute_, 2);
    char* down = down_.Reserve(down_bytes);
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(down, down_dev, down_bytes, cudaMemcpyDeviceToHost, compute_));
    LANDMARK_CUDA_CHECK(cudaStreamSynchronize(compute_));
    if (profile.on) {
      std::fprintf(stderr, "cuda-profile select: M %zu, chunks %u, landmark heads %zu: score %.3f ms, top-k %.3f ms, "
                   "whole call %.3f ms\n", M, C, LH, profile.Ms(0, 1), profile.Ms(1, 2), profile.WallMs());
    }
    std::memcpy(chunks, down, n * 4);
    std::memcpy(scores, down + Align(n * 4), n * 4);
    std::memcpy(counts, down + 2 * Align(n * 4), M * LH * 4);
  }

  // Pinned inputs [q | groups | items]: q and groups go up as they are,
  // the items become DeviceItems first.
  backend::AttendInputs AttendBuffers(size_t M, size_t q_heads, size_t item_count) override {
    in_q_bytes_ = Align(M * q_heads * store_.head_dim * 4);
    in_groups_bytes_ = Align(M * store_.kv_heads * sizeof(AttendGroup));
    char* in = in_.Reserve(std::max<size_t>(1, in_q_bytes_ + in_groups_bytes_ + item_count * sizeof(AttendItem)));
    return {reinterpret_cast<float*>(in), reinterpret_cast<AttendItem*>(in + in_q_bytes_ + in_groups_bytes_),
            reinterpret_cast<AttendGroup*>(in + in_q_bytes_)};
  }

  backend::AttendResults Attend(size_t M, size_t q_heads, size_t item_count, bool hsa) override {
    LANDMARK_CUDA_CHECK(cudaSetDevice(options_.gpu));
    const Profile profile;
    const size_t H = store_.kv_heads, G = q_heads / H, d = store_.head_dim, S = store_.chunk_size;
    const AttendGroup* groups = reinterpret_cast<const AttendGroup*>(in_.get() + in_q_bytes_);
    const AttendItem* items = reinterpret_cast<const AttendItem*>(in_.get() + in_q_bytes_ + in_groups_bytes_);
    if (resident_chunks_ * H >= kStaged || S >= kZeroLogit) {
      throw std::runtime_error("cuda: too many records or tokens for the decoder's item format");
    }
    // Splits: each group's items in runs of per_split, so that a batch
    // gives a few blocks per SM slot and one query spreads over the GPU.
    const size_t target_blocks = size_t(2) * multiprocessors_ * (2048 / kAttendThreads);
    const size_t per_split = std::clamp<size_t>((item_count + target_blocks - 1) / std::max<size_t>(1, target_blocks), 1, 32);
    size_t split_count = 0;
    for (size_t gi = 0; gi < M * H; ++gi) split_count += (groups[gi].parts + per_split - 1) / per_split;
    // One upload of [device items | splits | split_begin | weights], written in place.
    const size_t items_bytes = Align(item_count * sizeof(DeviceItem)), splits_bytes = Align(split_count * sizeof(DeviceSplit));
    const size_t begin_bytes = Align((M * H + 1) * 4), weights_bytes = Align(hsa ? item_count * 4 : 0);
    const size_t up_bytes = std::max<size_t>(1, items_bytes + splits_bytes + begin_bytes + weights_bytes);
    char* up = up_.Reserve(up_bytes);
    DeviceItem* device_items = reinterpret_cast<DeviceItem*>(up);
    DeviceSplit* splits = reinterpret_cast<DeviceSplit*>(up + items_bytes);
    uint32_t* split_begin = reinterpret_cast<uint32_t*>(up + items_bytes + splits_bytes);
    float* weights = reinterpret_cast<float*>(up + items_bytes + splits_bytes + begin_bytes);  // joint reads none
    for (size_t gi = 0, n = 0; gi < M * H; ++gi) {
      split_begin[gi] = uint32_t(n);
      const AttendGroup& group = groups[gi];
      for (uint32_t j = 0; j < group.parts; j += uint32_t(per_split)) {
        splits[n++] = {uint32_t(gi), group.first_item + j, std::min<uint32_t>(uint32_t(per_split), group.parts - j)};
      }
    }
    split_begin[M * H] = uint32_t(split_count);
    // Records: resident ones in place, the others numbered in first-use
    // order (deduplicated) and streamed in groups of staging_records, all
    // copied before the one attention launch.
    stream_chunks_.clear();
    stream_heads_.clear();
    slot_of_.clear();
    for (size_t i = 0; i < item_count; ++i) {
      const AttendItem& item = items[i];
      uint32_t record = 0;
      if (item.chunk < resident_chunks_) {
        record = uint32_t(size_t(item.chunk) * H + item.kv_head);
      } else {
        const uint64_t key = (uint64_t(item.chunk) << 32) | item.kv_head;
        auto [it, added] = slot_of_.try_emplace(key, uint32_t(stream_chunks_.size()));
        if (added) {
          stream_chunks_.push_back(item.chunk);
          stream_heads_.push_back(item.kv_head);
        }
        record = it->second | kStaged;
      }
      device_items[i] = {record, item.tokens | (item.zero_logit ? kZeroLogit : 0u)};
      if (hsa) weights[i] = item.weight;
    }
    if (stream_chunks_.size() >= kStaged) {
      throw std::runtime_error("cuda: too many records or tokens for the decoder's item format");
    }
    char* staging = stream_chunks_.empty() ? nullptr : staging_.Reserve(stream_chunks_.size() * record_bytes_);
    char* up_dev = up_dev_.Reserve(up_bytes);
    char* in_dev = in_dev_.Reserve(std::max<size_t>(1, in_q_bytes_ + in_groups_bytes_));
    // One download: out, lse (joint) or local out and lse (hsa), the items' lse.
    const size_t out_bytes = Align(M * q_heads * d * 4), lse_bytes = Align(M * q_heads * 4);
    const size_t item_lse_bytes = Align(item_count * G * 4);
    const size_t down_bytes = std::max<size_t>(1, out_bytes + (hsa ? out_bytes + lse_bytes : lse_bytes) + item_lse_bytes);
    char* down_dev = down_dev_.Reserve(down_bytes);
    float* out_dev = reinterpret_cast<float*>(down_dev);
    float* lse_dev = hsa ? nullptr : reinterpret_cast<float*>(down_dev + out_bytes);
    float* local_out_dev = hsa ? reinterpret_cast<float*>(down_dev + out_bytes) : nullptr;
    float* local_lse_dev = hsa ? reinterpret_cast<float*>(down_dev + 2 * out_bytes) : nullptr;
    float* lses_dev = reinterpret_cast<float*>(down_dev + (hsa ? 2 * out_bytes + lse_bytes : out_bytes + lse_bytes));
    float* part_acc = outs_.Reserve(std::max<size_t>(1, split_count * G * d * (hsa ? 2 : 1)));
    float* part_accw = hsa ? part_acc + split_count * G * d : nullptr;
    float* part_ml = part_ml_.Reserve(std::max<size_t>(1, split_count * G * 2));

    // The streamed records through the pinned double buffer on the copy stream.
    const size_t per_group = std::max<size_t>(1, options_.staging_records);
    const size_t stream_groups = (stream_chunks_.size() + per_group - 1) / per_group;
    for (size_t g = 0; g < stream_groups; ++g) {
      const size_t first = g * per_group, count = std::min(per_group, stream_chunks_.size() - first);
      PinnedBuffer& pinned = pinned_[g % 2];
      // The buffer's previous copy must be done before it is refilled.
      LANDMARK_CUDA_CHECK(cudaEventSynchronize(staged_[g % 2]));
      char* host = pinned.Reserve(per_group * record_bytes_);
      store_.copy_records(&stream_chunks_[first], &stream_heads_[first], count, host, record_bytes_);
      LANDMARK_CUDA_CHECK(cudaMemcpyAsync(staging + first * record_bytes_, host, count * record_bytes_,
                                          cudaMemcpyHostToDevice, copy_));
      LANDMARK_CUDA_CHECK(cudaEventRecord(staged_[g % 2], copy_));
    }
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(in_dev, in_.get(), in_q_bytes_ + in_groups_bytes_, cudaMemcpyHostToDevice, compute_));
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(up_dev, up, up_bytes, cudaMemcpyHostToDevice, compute_));
    if (stream_groups > 0) LANDMARK_CUDA_CHECK(cudaStreamWaitEvent(compute_, staged_[(stream_groups - 1) % 2], 0));
    profile.Mark(compute_, 0);
    const size_t shared = (3 * G * d + G * S + 6 * G) * sizeof(float);
    const float scale = 1.0f / std::sqrt(float(d));
    if (split_count > 0) {
      WithElement(store_.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        const bool vector = d % (2 * Vec<T>::kN) == 0 && record_bytes_ % 16 == 0;
        auto kernel = vector ? SplitAttendKernel<T, true> : SplitAttendKernel<T, false>;
        if (shared > 48 * 1024) {
          LANDMARK_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)));
        }
        kernel<<<unsigned(split_count), kAttendThreads, shared, compute_>>>(
            reinterpret_cast<const DeviceItem*>(up_dev), resident_.get(), staging, record_bytes_,
            reinterpret_cast<const DeviceSplit*>(up_dev + items_bytes),
            reinterpret_cast<const AttendGroup*>(in_dev + in_q_bytes_), reinterpret_cast<const float*>(in_dev),
            reinterpret_cast<const float*>(up_dev + items_bytes + splits_bytes + begin_bytes), uint32_t(q_heads),
            uint32_t(G), uint32_t(d), uint32_t(S), scale, hsa, part_acc, part_accw, part_ml, lses_dev);
      });
      LANDMARK_CUDA_CHECK(cudaGetLastError());
    }
    profile.Mark(compute_, 1);
    if (M * H > 0) {
      MergeSplitsKernel<<<unsigned(M * H), 256, 0, compute_>>>(
          reinterpret_cast<const uint32_t*>(up_dev + items_bytes + splits_bytes), part_acc, part_accw, part_ml,
          uint32_t(G), uint32_t(d), hsa, out_dev, lse_dev, local_out_dev, local_lse_dev);
      LANDMARK_CUDA_CHECK(cudaGetLastError());
    }
    profile.Mark(compute_, 2);
    char* down = down_.Reserve(down_bytes);
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(down, down_dev, down_bytes, cudaMemcpyDeviceToHost, compute_));
    LANDMARK_CUDA_CHECK(cudaStreamSynchronize(compute_));
    auto host = [&](const float* device) -> const float* {
      return device ? reinterpret_cast<const float*>(down + (reinterpret_cast<const char*>(device) - down_dev)) : nullptr;
    };
    if (profile.on) {
      double kv = 0;
      for (size_t i = 0; i < item_count; ++i) kv += 2.0 * items[i].tokens * d * element_;
      const double attend = profile.Ms(0, 1), merge = profile.Ms(1, 2), call = profile.WallMs();
      std::fprintf(stderr, "cuda-profile attend: M %zu, items %zu, splits %zu (%zu items each): attend kernel %.3f ms "
                   "(%.0f GB/s of K/V), merge %.3f ms, whole call %.3f ms\n", M, item_count, split_count, per_split,
                   attend, kv / (attend * 1e6), merge, call);
    }
    return {host(out_dev), host(lse_dev), host(local_out_dev), host(local_lse_dev), host(lses_dev)};
  }

 private:
  // Every complete chunk's records, [chunk][kv head] each record_bytes_,
  // through the same pinned double buffer as streaming.
  void UploadResident() {
    const size_t H = store_.kv_heads, records = store_.chunks * H;
    if (records == 0) return;
    char* device = resident_.Reserve(records * record_bytes_);
    const size_t per_copy = std::max<size_t>(1, (size_t(64) << 20) / record_bytes_);
    std::vector<uint32_t> chunks(per_copy), heads(per_copy);
    for (size_t first = 0, n = 0; first < records; first += per_copy, ++n) {
      const size_t count = std::min(per_copy, records - first);
      for (size_t i = 0; i < count; ++i) {
        chunks[i] = uint32_t((first + i) / H);
        heads[i] = uint32_t((first + i) % H);
      }
      LANDMARK_CUDA_CHECK(cudaEventSynchronize(staged_[n % 2]));
      char* host = pinned_[n % 2].Reserve(per_copy * record_bytes_);
      store_.copy_records(chunks.data(), heads.data(), count, host, record_bytes_);
      LANDMARK_CUDA_CHECK(cudaMemcpyAsync(device + first * record_bytes_, host, count * record_bytes_,
                                          cudaMemcpyHostToDevice, copy_));
      LANDMARK_CUDA_CHECK(cudaEventRecord(staged_[n % 2], copy_));
    }
    LANDMARK_CUDA_CHECK(cudaStreamSynchronize(copy_));
    resident_chunks_ = store_.chunks;
  }

  backend::DecodeStore store_;
  backend::DecodeOptions options_;
  size_t element_ = 0, record_bytes_ = 0, resident_chunks_ = 0, multiprocessors_ = 1;
  // The streamed records of a call: (chunk, kv head) → staging slot.
  std::unordered_map<uint64_t, uint32_t> slot_of_;
  std::vector<uint32_t> stream_chunks_, stream_heads_;
  size_t in_q_bytes_ = 0, in_groups_bytes_ = 0;  // AttendBuffers' layout
  cudaStream_t compute_ = nullptr, copy_ = nullptr;
  cudaEvent_t staged_[2] = {nullptr, nullptr};
  PinnedBuffer pinned_[2];
  DeviceBuffer<char> landmarks_, resident_, staging_;
  // Small per-call transfers, packed: pinned host and device sides.
  PinnedBuffer up_, down_, in_;
  DeviceBuffer<char> up_dev_, down_dev_, in_dev_;
  DeviceBuffer<float> scores_, outs_, part_ml_;
  DeviceBuffer<uint32_t> cand_count_;
  DeviceBuffer<uint64_t> cand_, top_keys_;
};

}  // namespace

std::unique_ptr<backend::Decoder> MakeDecoder(const backend::DecodeStore& store, const backend::DecodeOptions& options) {
  return std::make_unique<Decoder>(store, options);
}

}  // namespace landmark::cuda
