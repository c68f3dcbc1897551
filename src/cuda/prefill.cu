// Block-sparse causal prefill on the GPU (CausalPrefill's contract): one
// thread block per (64-query tile, query head) runs the online softmax over
// the 64-key tiles that hold a selected (query block, key block) pair, most
// expensive tiles first. Masks of any block size B work: a tile is computed
// when any pair in it is selected, and each logit is masked by its own pair
// (block 0 and the diagonal always; causal within the diagonal). f32 on the
// CUDA cores (no tensor cores: results within f32 rounding of the CPU).

#include <cmath>
#include <mutex>

#include "src/cuda/common.cuh"
#include "src/cuda/kernels.h"

namespace landmark::cuda {
namespace {

constexpr int kTile = 64, kPad = 68, kThreads = 256;

struct Mask {
  const uint8_t* bits;  // [kv heads][nb][nb] or nullptr (dense)
  uint32_t nb, block, tokens;
  __device__ bool Allowed(uint32_t head, uint32_t qb, uint32_t kb) const {
    return kb <= qb && (kb == 0 || kb == qb || !bits || bits[(size_t(head) * nb + qb) * nb + kb]);
  }
  // Whether tile (I, J) holds any selected pair (the same answer in every thread).
  __device__ bool TileNeeded(uint32_t head, uint32_t I, uint32_t J) const {
    const uint32_t q_last = min(tokens - 1, I * kTile + kTile - 1), k_last = min(tokens - 1, J * kTile + kTile - 1);
    for (uint32_t qb = I * kTile / block; qb <= q_last / block; ++qb) {
      for (uint32_t kb = J * kTile / block; kb <= k_last / block && kb <= qb; ++kb) {
        if (Allowed(head, qb, kb)) return true;
      }
    }
    return false;
  }
};

// Thread (tr, tc) = (tid / 16, tid % 16) owns logits rows tr*4..+3 × keys
// tc*4..+3, and output rows tr*4..+3 × columns tc + 16u.
template <class T, int kColumns>
__global__ void __launch_bounds__(kThreads) PrefillKernel(const float* q, uint32_t q_heads, const T* k, const T* v,
                                                           uint32_t group, uint32_t d, size_t token_stride,
                                                           size_t head_stride, Mask mask, float scale, float* out,
                                                           float* lse) {
  extern __shared__ float shared[];
  float* Qt = shared;                     // [d][kPad]
  float* Kt = Qt + size_t(d) * kPad;      // [d][kPad]
  float* Vs = Kt + size_t(d) * kPad;      // [kTile][d]
  float* P = Vs + size_t(kTile) * d;      // [kTile][kPad]
  const uint32_t tiles = (mask.tokens + kTile - 1) / kTile;
  const uint32_t I = tiles - 1 - blockIdx.x, hq = blockIdx.y, head = hq / group;
  const uint32_t tid = threadIdx.x, tr = tid / 16, tc = tid % 16;
  const uint32_t L = mask.tokens;
  for (uint32_t i = tid; i < kTile * d; i += kThreads) {
    const uint32_t r = i / d, c = i % d, pos = I * kTile + r;
    Qt[c * kPad + r] = pos < L ? q[(size_t(pos) * q_heads + hq) * d + c] * scale : 0.0f;
  }
  float m[4], l[4], acc[4][kColumns];
  for (int i = 0; i < 4; ++i) {
    m[i] = -INFINITY;
    l[i] = 0;
    for (int u = 0; u < kColumns; ++u) acc[i][u] = 0;
  }
  for (uint32_t J = 0; J <= I; ++J) {
    if (!mask.TileNeeded(head, I, J)) continue;
    __syncthreads();  // the previous tile's Kt, Vs and P are consumed
    for (uint32_t i = tid; i < kTile * d; i += kThreads) {
      const uint32_t r = i / d, c = i % d, pos = J * kTile + r;
      const size_t at = size_t(pos) * token_stride + size_t(head) * head_stride + c;
      Kt[c * kPad + r] = pos < L ? Load(k, at) : 0.0f;
      Vs[r * d + c] = pos < L ? Load(v, at) : 0.0f;
    }
    __syncthreads();
    float s[4][4] = {};
    for (uint32_t c = 0; c < d; ++c) {
      const float4 a = *reinterpret_cast<const float4*>(Qt + c * kPad + tr * 4);
      const float4 b = *reinterpret_cast<const float4*>(Kt + c * kPad + tc * 4);
      const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) s[i][j] = fmaf(av[i], bv[j], s[i][j]);
      }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint32_t qpos = I * kTile + tr * 4 + i;
      float row_max = -INFINITY;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const uint32_t kpos = J * kTile + tc * 4 + j;
        const bool ok = qpos < L && kpos <= qpos && mask.Allowed(head, qpos / mask.block, kpos / mask.block);
        if (!ok) s[i][j] = -INFINITY;
        row_max = fmaxf(row_max, s[i][j]);
      }
      for (int offset = 8; offset > 0; offset >>= 1) row_max = fmaxf(row_max, __shfl_xor_sync(0xffffffffu, row_max, offset));
      const float m_new = fmaxf(m[i], row_max);
      const float alpha = m_new == -INFINITY ? 1.0f : expf(m[i] - m_new);
      float row_sum = 0;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float p = s[i][j] == -INFINITY ? 0.0f : expf(s[i][j] - m_new);
        P[(tr * 4 + i) * kPad + tc * 4 + j] = p;
        row_sum += p;
      }
      for (int offset = 8; offset > 0; offset >>= 1) row_sum += __shfl_xor_sync(0xffffffffu, row_sum, offset);
      l[i] = l[i] * alpha + row_sum;
      m[i] = m_new;
#pragma unroll
      for (int u = 0; u < kColumns; ++u) acc[i][u] *= alpha;
    }
    __syncthreads();
    for (uint32_t c = 0; c < kTile; ++c) {
      float p[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) p[i] = P[(tr * 4 + i) * kPad + c];
#pragma unroll
      for (int u = 0; u < kColumns; ++u) {
        const uint32_t col = tc + 16 * u;
        if (col < d) {
          const float x = Vs[c * d + col];
#pragma unroll
          for (int i = 0; i < 4; ++i) acc[i][u] = fmaf(p[i], x, acc[i][u]);
        }
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const uint32_t pos = I * kTile + tr * 4 + i;
    if (pos >= L) continue;
    const float inv = l[i] > 0 ? 1.0f / l[i] : 0.0f;
#pragma unroll
    for (int u = 0; u < kColumns; ++u) {
      const uint32_t col = tc + 16 * u;
      if (col < d) out[(size_t(pos) * q_heads + hq) * d + col] = acc[i][u] * inv;
    }
    if (lse && tc == 0) lse[size_t(pos) * q_heads + hq] = l[i] > 0 ? m[i] + logf(l[i]) : -INFINITY;
  }
}

template <class T, int kColumns>
void Launch(const backend::PrefillProblem& p, const T* k, const T* v, const uint8_t* mask, const float* q, float* out,
            float* lse, cudaStream_t stream) {
  const size_t shared = (2 * p.d * kPad + kTile * p.d + kTile * kPad) * sizeof(float);
  int device = 0, limit = 0;
  LANDMARK_CUDA_CHECK(cudaGetDevice(&device));
  LANDMARK_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (shared > size_t(limit)) {
    throw std::runtime_error("cuda: prefill with head dim " + std::to_string(p.d) + " needs " +
                             std::to_string(shared) + " bytes of shared memory; this GPU has " + std::to_string(limit));
  }
  LANDMARK_CUDA_CHECK(cudaFuncSetAttribute(PrefillKernel<T, kColumns>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           int(shared)));
  const dim3 grid((unsigned(p.tokens) + kTile - 1) / kTile, unsigned(p.q_heads));
  const Mask m{mask, uint32_t((p.tokens + p.block - 1) / p.block), uint32_t(p.block), uint32_t(p.tokens)};
  PrefillKernel<T, kColumns><<<grid, kThreads, shared, stream>>>(q, uint32_t(p.q_heads), k, v,
                                                                uint32_t(p.q_heads / p.kv_heads), uint32_t(p.d),
                                                                p.token_stride, p.head_stride, m,
                                                                1.0f / std::sqrt(float(p.d)), out, lse);
  LANDMARK_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

backend::PrefillTimings RunPrefill(const backend::PrefillProblem& p, int gpu) {
  backend::PrefillTimings timings;
  if (p.tokens == 0) return timings;
  if (p.d > 256) throw std::runtime_error("cuda: prefill supports head dims up to 256 (got " + std::to_string(p.d) + ")");
  LANDMARK_CUDA_CHECK(cudaSetDevice(gpu));
  const size_t element = SizeOf(p.dtype);
  const size_t kv_elements = (p.tokens - 1) * p.token_stride + (p.kv_heads - 1) * p.head_stride + p.d;
  const size_t nb = (p.tokens + p.block - 1) / p.block;
  const size_t q_elements = p.tokens * p.q_heads * p.d;
  // Buffers kept between calls (a benchmark runs many prefills of one shape).
  static std::mutex busy;
  const std::lock_guard<std::mutex> lock(busy);
  static DeviceBuffer<float> q, out, lse;
  static DeviceBuffer<char> k, v;
  static DeviceBuffer<uint8_t> mask;
  cudaEvent_t events[4];
  for (cudaEvent_t& e : events) LANDMARK_CUDA_CHECK(cudaEventCreate(&e));
  cudaStream_t stream = nullptr;
  LANDMARK_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  LANDMARK_CUDA_CHECK(cudaEventRecord(events[0], stream));
  LANDMARK_CUDA_CHECK(cudaMemcpyAsync(q.Reserve(q_elements), p.q, q_elements * 4, cudaMemcpyHostToDevice, stream));
  LANDMARK_CUDA_CHECK(cudaMemcpyAsync(k.Reserve(kv_elements * element), p.k, kv_elements * element, cudaMemcpyHostToDevice, stream));
  LANDMARK_CUDA_CHECK(cudaMemcpyAsync(v.Reserve(kv_elements * element), p.v, kv_elements * element, cudaMemcpyHostToDevice, stream));
  if (p.mask) {
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(mask.Reserve(p.kv_heads * nb * nb), p.mask, p.kv_heads * nb * nb,
                                        cudaMemcpyHostToDevice, stream));
  }
  LANDMARK_CUDA_CHECK(cudaEventRecord(events[1], stream));
  float* out_dev = out.Reserve(q_elements);
  float* lse_dev = p.lse ? lse.Reserve(p.tokens * p.q_heads) : nullptr;
  WithElement(p.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* kd = reinterpret_cast<const T*>(k.get());
    const T* vd = reinterpret_cast<const T*>(v.get());
    const uint8_t* md = p.mask ? mask.get() : nullptr;
    if (p.d <= 32) Launch<T, 2>(p, kd, vd, md, q.get(), out_dev, lse_dev, stream);
    else if (p.d <= 64) Launch<T, 4>(p, kd, vd, md, q.get(), out_dev, lse_dev, stream);
    else if (p.d <= 128) Launch<T, 8>(p, kd, vd, md, q.get(), out_dev, lse_dev, stream);
    else Launch<T, 16>(p, kd, vd, md, q.get(), out_dev, lse_dev, stream);
  });
  LANDMARK_CUDA_CHECK(cudaEventRecord(events[2], stream));
  LANDMARK_CUDA_CHECK(cudaMemcpyAsync(p.out, out_dev, q_elements * 4, cudaMemcpyDeviceToHost, stream));
  if (p.lse) {
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(p.lse, lse_dev, p.tokens * p.q_heads * 4, cudaMemcpyDeviceToHost, stream));
  }
  LANDMARK_CUDA_CHECK(cudaEventRecord(events[3], stream));
  LANDMARK_CUDA_CHECK(cudaEventSynchronize(events[3]));
  timings.upload = Elapsed(events[0], events[1]);
  timings.kernel = Elapsed(events[1], events[2]);
  timings.download = Elapsed(events[2], events[3]);
  for (cudaEvent_t e : events) cudaEventDestroy(e);
  cudaStreamDestroy(stream);
  return timings;
}

}  // namespace landmark::cuda
