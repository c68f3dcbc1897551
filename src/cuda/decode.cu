// The GPU retriever (RetrieverConfig::device = kCuda): landmarks resident in
// GPU memory, scoring and exact top-k per (query, landmark head), block
// attention of the selected chunks and HSA / joint fusion on the GPU. K/V
// are either resident (uploaded once) or streamed per batch: the selected
// (chunk, kv head) records, deduplicated over the batch, are gathered from
// the mapped store into two pinned staging buffers and copied on a copy
// stream while the compute stream attends the previous group.

#include <algorithm>
#include <cmath>
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
#pragma unroll
    for (uint32_t j = 0; j < kScoreQueries / 8; ++j) {
      const uint32_t m = m0 + mine + 8 * j;
      if (m >= M || c >= C || c < ranges[m].first || c >= ranges[m].end) continue;
      const float* rq = rs + (mine + 8 * j) * R;
      float dot = 0;
      if (minmax) {
        for (uint32_t k = 0; k < R; ++k) dot += fmaxf(rq[k] * lrow[k], rq[k] * lrow[R + k]);
      } else {
        for (uint32_t k = 0; k < R; ++k) dot = fmaf(rq[k], lrow[k], dot);
      }
      scores[(size_t(m) * LH + h) * C + c] = dot * scale;
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
    if (threadIdx.x == 0) {
      unsigned above = 0;
      for (int digit = 255; digit >= 0; --digit) {
        if (above + histogram[digit] >= remaining) {
          prefix |= uint64_t(digit) << shift;
          remaining -= above;
          break;
        }
        above += histogram[digit];
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
  auto key_at = [&](uint32_t i) { return RankKey(s[begin + i], begin + i); };
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

struct DeviceItem {
  const void* record;  // K [S][d], then V [S][d], store dtype
  uint32_t index;      // canonical item index (outputs, fusion)
  uint32_t query, kv_head, tokens, zero_logit;
};

// One block per item: the G query heads of its kv head attend `tokens` keys.
// Shared memory: q [G][d] (scaled), p [G][S], factor [G].
template <class T>
__global__ void AttendKernel(const DeviceItem* items, const float* q, uint32_t q_heads, uint32_t G, uint32_t d,
                             uint32_t S, float scale, float* outs, float* lses) {
  extern __shared__ float shared[];
  const DeviceItem item = items[blockIdx.x];
  float* qs = shared;
  float* p = qs + G * d;
  float* factor = p + G * S;
  const float* qsrc = q + (size_t(item.query) * q_heads + size_t(item.kv_head) * G) * d;
  for (uint32_t i = threadIdx.x; i < G * d; i += blockDim.x) qs[i] = qsrc[i] * scale;
  __syncthreads();
  const T* K = static_cast<const T*>(item.record);
  const T* V = K + size_t(S) * d;
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  const uint32_t tokens = item.tokens;
  for (uint32_t pair = warp; pair < G * tokens; pair += warps) {
    const uint32_t g = pair / tokens, t = pair % tokens;
    float dot = 0;
    for (uint32_t k = lane; k < d; k += 32) dot += qs[g * d + k] * Load(K, size_t(t) * d + k);
    dot = WarpSum(dot);
    if (lane == 0) p[g * S + t] = dot;
  }
  __syncthreads();
  for (uint32_t g = warp; g < G; g += warps) {
    float max = kNegInf;
    for (uint32_t t = lane; t < tokens; t += 32) max = fmaxf(max, p[g * S + t]);
    max = WarpMax(max);
    float sum = 0;
    for (uint32_t t = lane; t < tokens; t += 32) {
      const float e = expf(p[g * S + t] - max);
      p[g * S + t] = e;
      sum += e;
    }
    sum = WarpSum(sum);
    if (lane == 0) {
      // As SoftmaxAccumulator::Finish: an implicit zero logit joins the denominator.
      float row_max = max, row_sum = sum, rescale = 1.0f;
      if (item.zero_logit) {
        const float new_max = fmaxf(row_max, 0.0f);
        rescale = row_max == kNegInf ? 0.0f : expf(row_max - new_max);
        row_sum = row_sum * rescale + expf(-new_max);
        row_max = new_max;
      }
      factor[g] = row_sum > 0.0f ? rescale / row_sum : 0.0f;
      lses[size_t(item.index) * G + g] = row_sum > 0.0f ? row_max + logf(row_sum) : kNegInf;
    }
  }
  __syncthreads();
  for (uint32_t i = threadIdx.x; i < G * d; i += blockDim.x) {
    const uint32_t g = i / d, k = i % d;
    float acc = 0;
    for (uint32_t t = 0; t < tokens; ++t) acc += p[g * S + t] * Load(V, size_t(t) * d + k);
    outs[(size_t(item.index) * G + g) * d + k] = acc * factor[g];
  }
}

// LSE merge of parts [first, first + parts) for row g (MergeByLse's rules:
// -inf parts add nothing; all -inf gives zeros and -inf).
__device__ void MergeRow(const float* outs, const float* lses, uint32_t first, uint32_t parts, uint32_t G, uint32_t d,
                         uint32_t g, uint32_t k, float* out, float* lse) {
  float max = kNegInf;
  for (uint32_t i = 0; i < parts; ++i) max = fmaxf(max, lses[size_t(first + i) * G + g]);
  float total = 0, acc = 0;
  for (uint32_t i = 0; i < parts; ++i) {
    const float w = max == kNegInf ? 0.0f : expf(lses[size_t(first + i) * G + g] - max);
    total += w;
    acc += w * outs[(size_t(first + i) * G + g) * d + k];
  }
  *out = total > 0.0f ? acc / total : 0.0f;
  if (lse && k == 0) *lse = total > 0.0f ? max + logf(total) : kNegInf;
}

// One block per (query, kv head) group.
__global__ void FuseKernel(const AttendGroup* groups, const float* weights, const float* outs, const float* lses,
                           uint32_t H, uint32_t G, uint32_t d, bool hsa, float* out, float* lse, float* local_out,
                           float* local_lse) {
  const AttendGroup group = groups[blockIdx.x];
  const size_t row0 = size_t(blockIdx.x) * G;  // = (m * H + h) * G = m * q_heads + h * G
  for (uint32_t i = threadIdx.x; i < G * d; i += blockDim.x) {
    const uint32_t g = i / d, k = i % d;
    const size_t at = (row0 + g) * d + k;
    if (!hsa) {
      MergeRow(outs, lses, group.first_item, group.parts, G, d, g, k, out + at, lse + row0 + g);
      continue;
    }
    MergeRow(outs, lses, group.first_item + group.retrieval, group.parts - group.retrieval, G, d, g, k,
             local_out + at, local_lse + row0 + g);
    float acc = 0;
    for (uint32_t j = 0; j < group.retrieval; ++j) {
      acc += weights[group.first_item + j] * outs[(size_t(group.first_item + j) * G + g) * d + k];
    }
    out[at] = acc;
  }
}

// ------------------------------------------------------------------ decoder

class Decoder final : public backend::Decoder {
 public:
  Decoder(const backend::DecodeStore& store, const backend::DecodeOptions& options)
      : store_(store), options_(options) {
    LANDMARK_CUDA_CHECK(cudaSetDevice(options.gpu));
    LANDMARK_CUDA_CHECK(cudaStreamCreateWithFlags(&compute_, cudaStreamNonBlocking));
    LANDMARK_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking));
    for (cudaEvent_t& e : staged_) LANDMARK_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
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
    TopKTileKernel<<<dim3(tiles, unsigned(M * LH)), kThreads, 0, compute_>>>(scores_dev, C, ranges_dev, uint32_t(LH),
                                                                            uint32_t(top_k), tiles, cand, cand_count);
    LANDMARK_CUDA_CHECK(cudaGetLastError());
    TopKMergeKernel<<<unsigned(M * LH), kThreads, 0, compute_>>>(scores_dev, C, ranges_dev, uint32_t(LH), uint32_t(top_k),
                                                                 tiles, cand, cand_count, chunks_dev, top_scores_dev,
                                                                 counts_dev, scratch);
    LANDMARK_CUDA_CHECK(cudaGetLastError());
    char* down = down_.Reserve(down_bytes);
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(down, down_dev, down_bytes, cudaMemcpyDeviceToHost, compute_));
    LANDMARK_CUDA_CHECK(cudaStreamSynchronize(compute_));
    std::memcpy(chunks, down, n * 4);
    std::memcpy(scores, down + Align(n * 4), n * 4);
    std::memcpy(counts, down + 2 * Align(n * 4), M * LH * 4);
  }

  void Attend(const float* q, size_t M, size_t q_heads, const AttendItem* items, size_t item_count,
              const AttendGroup* groups, bool hsa, const backend::AttendOutput& output) override {
    LANDMARK_CUDA_CHECK(cudaSetDevice(options_.gpu));
    const size_t H = store_.kv_heads, G = q_heads / H, d = store_.head_dim, S = store_.chunk_size;
    // Records: resident ones in place, the others numbered in first-use
    // order (deduplicated) and streamed in groups of staging_records.
    std::unordered_map<uint64_t, uint32_t> slot_of;
    std::vector<uint32_t> stream_chunks, stream_heads;
    std::vector<int64_t> slot(item_count, -1);
    for (size_t i = 0; i < item_count; ++i) {
      if (items[i].chunk < resident_chunks_) continue;
      const uint64_t key = (uint64_t(items[i].chunk) << 32) | items[i].kv_head;
      auto [it, added] = slot_of.try_emplace(key, uint32_t(stream_chunks.size()));
      if (added) {
        stream_chunks.push_back(items[i].chunk);
        stream_heads.push_back(items[i].kv_head);
      }
      slot[i] = it->second;
    }
    const size_t per_group = std::max<size_t>(1, options_.staging_records);
    const size_t stream_groups = (stream_chunks.size() + per_group - 1) / per_group;
    char* staging = stream_chunks.empty() ? nullptr : staging_.Reserve(stream_chunks.size() * record_bytes_);
    // Device items ordered by launch: resident first, then per staging group.
    std::vector<size_t> launch_begin(stream_groups + 2, 0);  // counting sort by launch
    auto launch_of = [&](size_t i) { return slot[i] < 0 ? 0 : 1 + size_t(slot[i]) / per_group; };
    for (size_t i = 0; i < item_count; ++i) ++launch_begin[launch_of(i) + 1];
    for (size_t g = 1; g < launch_begin.size(); ++g) launch_begin[g] += launch_begin[g - 1];
    std::vector<DeviceItem> ordered(item_count);
    std::vector<size_t> next(launch_begin.begin(), launch_begin.end() - 1);
    for (size_t i = 0; i < item_count; ++i) {
      const char* record = slot[i] < 0
          ? resident_.get() + (size_t(items[i].chunk) * H + items[i].kv_head) * record_bytes_
          : staging + size_t(slot[i]) * record_bytes_;
      ordered[next[launch_of(i)]++] = {record, uint32_t(i), items[i].query, items[i].kv_head, items[i].tokens,
                                       items[i].zero_logit};
    }
    std::vector<float> weights(item_count);
    for (size_t i = 0; i < item_count; ++i) weights[i] = items[i].weight;

    // One upload (items, groups, q, weights) through pinned memory.
    const size_t items_bytes = Align(item_count * sizeof(DeviceItem)), groups_bytes = Align(M * H * sizeof(AttendGroup));
    const size_t q_bytes = Align(M * q_heads * d * 4), weights_bytes = Align(item_count * 4);
    char* up = up_.Reserve(items_bytes + groups_bytes + q_bytes + weights_bytes);
    std::memcpy(up, ordered.data(), item_count * sizeof(DeviceItem));
    std::memcpy(up + items_bytes, groups, M * H * sizeof(AttendGroup));
    std::memcpy(up + items_bytes + groups_bytes, q, M * q_heads * d * 4);
    std::memcpy(up + items_bytes + groups_bytes + q_bytes, weights.data(), item_count * 4);
    char* up_dev = up_dev_.Reserve(items_bytes + groups_bytes + q_bytes + weights_bytes);
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(up_dev, up, items_bytes + groups_bytes + q_bytes + weights_bytes,
                                        cudaMemcpyHostToDevice, compute_));
    const DeviceItem* items_dev = reinterpret_cast<const DeviceItem*>(up_dev);
    const AttendGroup* groups_dev = reinterpret_cast<const AttendGroup*>(up_dev + items_bytes);
    const float* q_dev = reinterpret_cast<const float*>(up_dev + items_bytes + groups_bytes);
    const float* weights_dev = reinterpret_cast<const float*>(up_dev + items_bytes + groups_bytes + q_bytes);
    float* outs_dev = outs_.Reserve(std::max<size_t>(1, item_count * G * d));
    // One download: out, lse (joint) or local out and lse (hsa), the items' lse.
    const size_t out_bytes = Align(M * q_heads * d * 4), lse_bytes = Align(M * q_heads * 4);
    const size_t item_lse_bytes = Align(item_count * G * 4);
    const size_t down_bytes = out_bytes + (hsa ? out_bytes + lse_bytes : lse_bytes) + item_lse_bytes;
    char* down_dev = down_dev_.Reserve(down_bytes);
    float* out_dev = reinterpret_cast<float*>(down_dev);
    float* lse_dev = hsa ? nullptr : reinterpret_cast<float*>(down_dev + out_bytes);
    float* local_out_dev = hsa ? reinterpret_cast<float*>(down_dev + out_bytes) : nullptr;
    float* local_lse_dev = hsa ? reinterpret_cast<float*>(down_dev + 2 * out_bytes) : nullptr;
    float* lses_dev = reinterpret_cast<float*>(down_dev + down_bytes - item_lse_bytes);
    const size_t shared = (G * d + G * S + G) * sizeof(float);
    const float scale = 1.0f / std::sqrt(float(d));
    auto launch = [&](size_t begin, size_t end) {
      if (begin == end) return;
      WithElement(store_.dtype, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        if (shared > 48 * 1024) {
          LANDMARK_CUDA_CHECK(cudaFuncSetAttribute(AttendKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                   int(shared)));
        }
        AttendKernel<T><<<end - begin, 128, shared, compute_>>>(items_dev + begin, q_dev, uint32_t(q_heads), uint32_t(G),
                                                                uint32_t(d), uint32_t(S), scale, outs_dev, lses_dev);
      });
      LANDMARK_CUDA_CHECK(cudaGetLastError());
    };
    launch(launch_begin[0], launch_begin[1]);  // resident records: no copy to wait for
    for (size_t g = 0; g < stream_groups; ++g) {
      const size_t first = g * per_group, count = std::min(per_group, stream_chunks.size() - first);
      PinnedBuffer& pinned = pinned_[g % 2];
      // The buffer's previous copy must be done before it is refilled.
      LANDMARK_CUDA_CHECK(cudaEventSynchronize(staged_[g % 2]));
      char* host = pinned.Reserve(per_group * record_bytes_);
      store_.copy_records(&stream_chunks[first], &stream_heads[first], count, host, record_bytes_);
      LANDMARK_CUDA_CHECK(cudaMemcpyAsync(staging + first * record_bytes_, host, count * record_bytes_,
                                          cudaMemcpyHostToDevice, copy_));
      LANDMARK_CUDA_CHECK(cudaEventRecord(staged_[g % 2], copy_));
      LANDMARK_CUDA_CHECK(cudaStreamWaitEvent(compute_, staged_[g % 2], 0));
      launch(launch_begin[g + 1], launch_begin[g + 2]);
    }
    FuseKernel<<<M * H, 128, 0, compute_>>>(groups_dev, weights_dev, outs_dev, lses_dev, uint32_t(H), uint32_t(G),
                                            uint32_t(d), hsa, out_dev, lse_dev, local_out_dev, local_lse_dev);
    LANDMARK_CUDA_CHECK(cudaGetLastError());
    char* down = down_.Reserve(down_bytes);
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(down, down_dev, down_bytes, cudaMemcpyDeviceToHost, compute_));
    LANDMARK_CUDA_CHECK(cudaStreamSynchronize(compute_));
    auto copy_out = [&](float* host, const float* device, size_t count) {
      if (host && count) std::memcpy(host, down + (reinterpret_cast<const char*>(device) - down_dev), count * 4);
    };
    copy_out(output.out, out_dev, M * q_heads * d);
    if (!hsa) copy_out(output.lse, lse_dev, M * q_heads);
    if (hsa) copy_out(output.local_out, local_out_dev, M * q_heads * d);
    if (hsa) copy_out(output.local_lse, local_lse_dev, M * q_heads);
    copy_out(output.item_lse, lses_dev, item_count * G);
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
  size_t element_ = 0, record_bytes_ = 0, resident_chunks_ = 0;
  cudaStream_t compute_ = nullptr, copy_ = nullptr;
  cudaEvent_t staged_[2] = {nullptr, nullptr};
  PinnedBuffer pinned_[2];
  DeviceBuffer<char> landmarks_, resident_, staging_;
  // Small per-call transfers, packed: pinned host and device sides.
  PinnedBuffer up_, down_;
  DeviceBuffer<char> up_dev_, down_dev_;
  DeviceBuffer<float> scores_, outs_;
  DeviceBuffer<uint32_t> cand_count_;
  DeviceBuffer<uint64_t> cand_, top_keys_;
};

}  // namespace

std::unique_ptr<backend::Decoder> MakeDecoder(const backend::DecodeStore& store, const backend::DecodeOptions& options) {
  return std::make_unique<Decoder>(store, options);
}

}  // namespace landmark::cuda
