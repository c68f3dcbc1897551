// FlashPrefill's mask on the GPU, step for step as src/prefill/flashprefill.cc
// and pooled_logits.cc compute it, so that the mask is the CPU's wherever
// the pooled logits agree bit for bit:
//   1. pool: Qb = (Σ rows in order) × 1/n × 1/√d, Kb = (Σ rows) × 1/n per
//      block (ColumnMean's order and roundings);
//   2. rows: A_ij = max over the group of Qb_i·Kb_j (j < i), stored
//      [kv heads][nb][nb]; the row's threshold rule, block 0 and the
//      diagonal written into the mask row;
//   3. means: each column's and diagonal's sum over rows i > x in the CPU's
//      fixed row chunks (f32 within a chunk in increasing i, f64 across
//      chunks in order), divided in f64;
//   4. select: the top `vertical` columns and `slash` diagonals by mean
//      (NaN last, ties to the lower index: prefill::TopK) set their blocks.
// The dot products are the only sums whose order differs from the CPU's.

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "src/cuda/common.cuh"
#include "src/cuda/flashprefill_mask.cuh"

namespace landmark::cuda {
namespace {

constexpr int kThreads = 256;
constexpr uint32_t kSumChunks = 64;  // flashprefill.cc's kSumChunks

template <class T>
__global__ void __launch_bounds__(kThreads) PoolKernel(const float* q, const T* k, uint32_t L, uint32_t block,
                                                       uint32_t nb, uint32_t q_heads, uint32_t kv_heads, uint32_t d,
                                                       size_t token_stride, size_t head_stride, float scale,
                                                       float* pooled_q, float* pooled_k) {
  const uint32_t i = blockIdx.x, first = i * block, n = min(block, L - first);
  const float inv_n = __fdiv_rn(1.0f, float(n));
  const uint32_t width = q_heads * d;
  for (uint32_t c = threadIdx.x; c < width; c += blockDim.x) {
    float sum = 0.0f;
    for (uint32_t t = 0; t < n; ++t) sum = __fadd_rn(sum, q[size_t(first + t) * width + c]);
    pooled_q[size_t(i) * width + c] = __fmul_rn(__fmul_rn(sum, inv_n), scale);
  }
  for (uint32_t c = threadIdx.x; c < kv_heads * d; c += blockDim.x) {
    const uint32_t h = c / d, col = c % d;
    float sum = 0.0f;
    for (uint32_t t = 0; t < n; ++t) sum = __fadd_rn(sum, Load(k, size_t(first + t) * token_stride + size_t(h) * head_stride + col));
    pooled_k[(size_t(h) * nb + i) * d + col] = __fmul_rn(sum, inv_n);
  }
}

// One block per (row i, kv head h): A_ij for j < i (a warp per j, the
// group's pooled queries in shared memory), the row's max and min, and the
// mask row: block 0, the diagonal and the blocks that pass the threshold.
__global__ void __launch_bounds__(kThreads) RowKernel(const float* pooled_q, const float* pooled_k, uint32_t nb,
                                                      uint32_t q_heads, uint32_t kv_heads, uint32_t d,
                                                      backend::FlashPrefillRules rules, float* a, uint8_t* mask) {
  extern __shared__ float qs[];  // [G][d]
  __shared__ float warp_max[kThreads / 32], warp_min[kThreads / 32];
  const uint32_t i = blockIdx.x, h = blockIdx.y, G = q_heads / kv_heads;
  const uint32_t tid = threadIdx.x, lane = tid % 32, warp = tid / 32, warps = blockDim.x / 32;
  for (uint32_t x = tid; x < G * d; x += blockDim.x) qs[x] = pooled_q[(size_t(i) * q_heads + h * G) * d + x];
  __syncthreads();
  float* row = a + (size_t(h) * nb + i) * nb;
  const float* keys = pooled_k + size_t(h) * nb * d;
  for (uint32_t j = warp; j < i; j += warps) {
    float best = 0.0f;
    for (uint32_t g = 0; g < G; ++g) {
      float dot = 0.0f;
      for (uint32_t c = lane; c < d; c += 32) dot = fmaf(qs[g * d + c], keys[size_t(j) * d + c], dot);
      dot = WarpSum(dot);
      best = g == 0 ? dot : fmaxf(best, dot);
    }
    if (lane == 0) row[j] = best;
  }
  __syncthreads();  // the row, written by this block, is visible to it
  float hi = -INFINITY, lo = INFINITY;
  for (uint32_t j = tid; j < i; j += blockDim.x) {
    hi = fmaxf(hi, row[j]);
    lo = fminf(lo, row[j]);
  }
  hi = WarpMax(hi);
  for (int offset = 16; offset > 0; offset >>= 1) lo = fminf(lo, __shfl_xor_sync(0xffffffffu, lo, offset));
  if (lane == 0) {
    warp_max[warp] = hi;
    warp_min[warp] = lo;
  }
  __syncthreads();
  hi = warp_max[0];
  lo = warp_min[0];
  for (uint32_t w = 1; w < warps; ++w) {
    hi = fmaxf(hi, warp_max[w]);
    lo = fminf(lo, warp_min[w]);
  }
  // flashprefill.cc: max - delta (>=), or alpha·max + (1 - alpha)·min (>), each operation rounded once.
  const float threshold = rules.delta ? __fsub_rn(hi, rules.delta_value)
                                      : __fadd_rn(__fmul_rn(rules.alpha, hi), __fmul_rn(__fsub_rn(1.0f, rules.alpha), lo));
  uint8_t* bits = mask + (size_t(h) * nb + i) * nb;
  for (uint32_t j = tid; j < nb; j += blockDim.x) {
    bool kept = j == 0 || j == i;
    if (j < i) kept = kept || (rules.delta ? row[j] >= threshold : row[j] > threshold);
    bits[j] = uint8_t(kept);
  }
}

// Thread per candidate x in 1..nb-2 of kv head h: the mean of column x and
// of diagonal offset x over the rows i > x.
__global__ void __launch_bounds__(kThreads) MeansKernel(const float* a, uint32_t nb, uint32_t chunks,
                                                        float* column_mean, float* diagonal_mean) {
  const uint32_t h = blockIdx.y, x = blockIdx.x * blockDim.x + threadIdx.x + 1;
  if (x + 2 > nb) return;
  const float* A = a + size_t(h) * nb * nb;
  double column = 0.0, diagonal = 0.0;
  for (uint32_t c = 0; c < chunks; ++c) {
    const uint32_t begin = max(uint32_t(size_t(c) * nb / chunks), x + 1), end = uint32_t(size_t(c + 1) * nb / chunks);
    float column_part = 0.0f, diagonal_part = 0.0f;
    for (uint32_t i = begin; i < end; ++i) {
      column_part = __fadd_rn(column_part, A[size_t(i) * nb + x]);
      diagonal_part = __fadd_rn(diagonal_part, A[size_t(i) * nb + (i - x)]);
    }
    column = __dadd_rn(column, double(column_part));
    diagonal = __dadd_rn(diagonal, double(diagonal_part));
  }
  column_mean[size_t(h) * nb + x - 1] = float(__ddiv_rn(column, double(nb - 1 - x)));
  diagonal_mean[size_t(h) * nb + x - 1] = float(__ddiv_rn(diagonal, double(nb - 1 - x)));
}

__device__ float RankKey(float s) { return isnan(s) ? -INFINITY : s; }

// Candidate x's rank among n means: those above it, and those equal to it at a lower index.
__device__ uint32_t Rank(const float* mean, uint32_t n, uint32_t x) {
  const float key = RankKey(mean[x]);
  uint32_t rank = 0;
  for (uint32_t y = 0; y < n; ++y) {
    const float other = RankKey(mean[y]);
    rank += other > key || (other == key && y < x);
  }
  return rank;
}

// Thread per candidate: a kept column j = x + 1 sets rows i > j; a kept
// diagonal offset o = x + 1 sets (i, i - o) for i >= o.
__global__ void __launch_bounds__(kThreads) SelectKernel(const float* column_mean, const float* diagonal_mean,
                                                         uint32_t nb, uint32_t vertical, uint32_t slash,
                                                         uint8_t* mask) {
  const uint32_t h = blockIdx.y, n = nb - 2, x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= n) return;
  uint8_t* bits = mask + size_t(h) * nb * nb;
  if (vertical > 0 && Rank(column_mean + size_t(h) * nb, n, x) < vertical) {
    const uint32_t j = x + 1;
    for (uint32_t i = j + 1; i < nb; ++i) bits[size_t(i) * nb + j] = 1;
  }
  if (slash > 0 && Rank(diagonal_mean + size_t(h) * nb, n, x) < slash) {
    const uint32_t offset = x + 1;
    for (uint32_t i = offset; i < nb; ++i) bits[size_t(i) * nb + i - offset] = 1;
  }
}

}  // namespace

void FlashPrefillMaskOnGpu(const backend::PrefillProblem& p, const float* q, const void* k, uint8_t* mask,
                           cudaStream_t stream) {
  const size_t nb = (p.tokens + p.block - 1) / p.block, G = p.q_heads / p.kv_heads;
  const backend::FlashPrefillRules& rules = *p.flashprefill;
  if (nb >= (size_t(1) << 31) / std::max<size_t>(1, nb) || G * p.d * sizeof(float) > 48 * 1024) {
    throw std::runtime_error("cuda: flashprefill mask on the GPU: " + std::to_string(nb) + " blocks of " +
                             std::to_string(G) + " query heads of dim " + std::to_string(p.d) + " is too large");
  }
  // Scratch kept between calls (RunPrefill holds its lock).
  static DeviceBuffer<float> pooled_q, pooled_k, logits, means;
  float* pq = pooled_q.Reserve(nb * p.q_heads * p.d);
  float* pk = pooled_k.Reserve(p.kv_heads * nb * p.d);
  float* a = logits.Reserve(std::max<size_t>(1, p.kv_heads * nb * nb));
  float* m = means.Reserve(2 * p.kv_heads * nb);
  const float scale = 1.0f / std::sqrt(float(p.d));  // as PooledLogits
  WithElement(p.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    PoolKernel<T><<<unsigned(nb), kThreads, 0, stream>>>(q, static_cast<const T*>(k), uint32_t(p.tokens),
                                                         uint32_t(p.block), uint32_t(nb), uint32_t(p.q_heads),
                                                         uint32_t(p.kv_heads), uint32_t(p.d), p.token_stride,
                                                         p.head_stride, scale, pq, pk);
  });
  LANDMARK_CUDA_CHECK(cudaGetLastError());
  RowKernel<<<dim3(unsigned(nb), unsigned(p.kv_heads)), kThreads, G * p.d * sizeof(float), stream>>>(
      pq, pk, uint32_t(nb), uint32_t(p.q_heads), uint32_t(p.kv_heads), uint32_t(p.d), rules, a, mask);
  LANDMARK_CUDA_CHECK(cudaGetLastError());
  if (nb < 3 || (rules.vertical == 0 && rules.slash == 0)) return;  // no block j >= 1 is seen by a later row
  const dim3 grid(unsigned((nb - 2 + kThreads - 1) / kThreads), unsigned(p.kv_heads));
  const uint32_t chunks = uint32_t(std::min<size_t>(kSumChunks, nb));
  MeansKernel<<<grid, kThreads, 0, stream>>>(a, uint32_t(nb), chunks, m, m + p.kv_heads * nb);
  LANDMARK_CUDA_CHECK(cudaGetLastError());
  SelectKernel<<<grid, kThreads, 0, stream>>>(m, m + p.kv_heads * nb, uint32_t(nb), rules.vertical, rules.slash, mask);
  LANDMARK_CUDA_CHECK(cudaGetLastError());
}

}  // namespace landmark::cuda
