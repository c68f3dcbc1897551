// Block-sparse causal prefill on the GPU (CausalPrefill's contract): one
// thread block per (64-query tile, query head) runs the online softmax over
// the 64-key tiles that hold a selected (query block, key block) pair, most
// expensive tiles first. Masks of any block size B work: a tile is computed
// when any pair in it is selected, and each logit is masked by its own pair
// (block 0 and the diagonal always; causal within the diagonal). f32 on the
// CUDA cores (results within f32 rounding of the CPU). PrefillProblem::
// tensor_cores runs TensorPrefillKernel instead (bf16, below).

#include <cmath>
#include <mutex>

#include "src/cuda/common.cuh"
#include "src/cuda/flashprefill_mask.cuh"
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


// ------------------------------------------------------- bf16 tensor cores
//
// PrefillProblem::tensor_cores: Q, K, V rounded to bf16 (Q scaled by
// 1/sqrt(d)·log2 e first), logits and P·V on the tensor cores
// (mma.sync.m16n8k16, f32 accumulate), the online softmax in f32 with exp2,
// P rounded to bf16 for P·V (FlashAttention-2's scheme). A block of 4 warps
// takes 64 queries of one head, each warp 16 rows with its Q fragments in
// registers; K [64][d] and V^T [d][64] tiles are double-buffered in shared
// memory through cp.async (rows padded by 16 bytes: conflict-free fragment
// loads). Tiles skipped and logits masked as in PrefillKernel.

using bf16 = __nv_bfloat16;
constexpr int kTcThreads = 128;

__device__ __forceinline__ void MmaBf16(float* c, const uint32_t* a, const uint32_t* b) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void CpAsync16(void* shared_dst, const void* global_src) {
  const uint32_t s = static_cast<uint32_t>(__cvta_generic_to_shared(shared_dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(global_src));
}
__device__ __forceinline__ void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void CpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
__device__ __forceinline__ uint32_t PackBf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}
__device__ __forceinline__ uint32_t Word(const bf16* p) { return *reinterpret_cast<const uint32_t*>(p); }

// bf16 copies, rows padded to Lp (a multiple of 64) with zeros:
// qb [Hq][Lp][d] (scaled), kb [Hkv][Lp][d], vt [Hkv][d][Lp].
template <class T>
__global__ void ToBf16Kernel(const float* q, const T* k, const T* v, uint32_t L, uint32_t Lp, uint32_t Hq,
                             uint32_t Hkv, uint32_t d, size_t token_stride, size_t head_stride, float q_scale,
                             bf16* qb, bf16* kb, bf16* vt) {
  const size_t nq = size_t(Hq) * Lp * d, nkv = size_t(Hkv) * Lp * d;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < nq + 2 * nkv; i += size_t(gridDim.x) * blockDim.x) {
    if (i < nq) {
      const size_t h = i / (size_t(Lp) * d), pos = i / d % Lp, c = i % d;
      qb[i] = __float2bfloat16_rn(pos < L ? q[(pos * Hq + h) * d + c] * q_scale : 0.0f);
    } else if (i < nq + nkv) {
      const size_t j = i - nq, h = j / (size_t(Lp) * d), pos = j / d % Lp, c = j % d;
      kb[j] = __float2bfloat16_rn(pos < L ? Load(k, pos * token_stride + h * head_stride + c) : 0.0f);
    } else {
      const size_t j = i - nq - nkv, h = j / (size_t(d) * Lp), c = j / Lp % d, pos = j % Lp;
      vt[j] = __float2bfloat16_rn(pos < L ? Load(v, pos * token_stride + h * head_stride + c) : 0.0f);
    }
  }
}

template <int D>
__global__ void __launch_bounds__(kTcThreads) TensorPrefillKernel(const bf16* qb, const bf16* kb, const bf16* vt,
                                                                   uint32_t Lp, uint32_t q_heads, uint32_t group,
                                                                   Mask mask, float* out, float* lse) {
  constexpr int kKld = D + 8, kVld = kTile + 8;
  extern __shared__ __align__(16) unsigned char tc_shared[];
  bf16* Ks = reinterpret_cast<bf16*>(tc_shared);  // [2][kTile][kKld]
  bf16* Vs = Ks + 2 * kTile * kKld;               // [2][D][kVld]
  const uint32_t tiles = (mask.tokens + kTile - 1) / kTile;
  const uint32_t I = tiles - 1 - blockIdx.x, hq = blockIdx.y, head = hq / group;
  const uint32_t tid = threadIdx.x, warp = tid / 32, lane = tid % 32, r = lane / 4, c2 = (lane % 4) * 2;
  uint32_t qf[D / 16][4];
  {
    const bf16* q0 = qb + (size_t(hq) * Lp + I * kTile + warp * 16 + r) * D;
    const bf16* q8 = q0 + 8 * D;
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {
      qf[ks][0] = Word(q0 + ks * 16 + c2);
      qf[ks][1] = Word(q8 + ks * 16 + c2);
      qf[ks][2] = Word(q0 + ks * 16 + 8 + c2);
      qf[ks][3] = Word(q8 + ks * 16 + 8 + c2);
    }
  }
  float o[D / 8][4];
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const bf16* kh = kb + size_t(head) * Lp * D;
  const bf16* vh = vt + size_t(head) * D * Lp;
  auto load = [&](uint32_t J, int buf) {
    bf16* ks = Ks + buf * kTile * kKld;
    bf16* vs = Vs + buf * D * kVld;
    for (int i = tid; i < kTile * D / 8; i += kTcThreads) {
      const int row = i / (D / 8), chunk = i % (D / 8);
      CpAsync16(ks + row * kKld + chunk * 8, kh + size_t(J * kTile + row) * D + chunk * 8);
    }
    for (int i = tid; i < D * kTile / 8; i += kTcThreads) {
      const int row = i / (kTile / 8), chunk = i % (kTile / 8);
      CpAsync16(vs + row * kVld + chunk * 8, vh + size_t(row) * Lp + J * kTile + chunk * 8);
    }
    CpAsyncCommit();
  };
  auto next = [&](int J) {
    for (int j = J + 1; j <= int(I); ++j) {
      if (mask.TileNeeded(head, I, uint32_t(j))) return j;
    }
    return -1;
  };
  int J = next(-1), buf = 0;
  if (J >= 0) load(uint32_t(J), 0);
  const uint32_t qpos0 = I * kTile + warp * 16 + r;
  while (J >= 0) {
    const int Jn = next(J);
    if (Jn >= 0) {
      load(uint32_t(Jn), buf ^ 1);
      CpAsyncWait<1>();
    } else {
      CpAsyncWait<0>();
    }
    __syncthreads();
    const bf16* ks = Ks + buf * kTile * kKld;
    const bf16* vs = Vs + buf * D * kVld;
    float s[kTile / 8][4];
#pragma unroll
    for (int nt = 0; nt < kTile / 8; ++nt) {
      s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const bf16* row = ks + (nt * 8 + r) * kKld + kk * 16 + c2;
        const uint32_t b[2] = {Word(row), Word(row + 8)};
        MmaBf16(s[nt], qf[kk], b);
      }
    }
    // Tiles inside the mask's blocks and below the diagonal need no per-logit mask.
    const bool full = mask.block % kTile == 0 && uint32_t(J) < I;
    if (!full) {
#pragma unroll
      for (int nt = 0; nt < kTile / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const uint32_t qpos = qpos0 + (e >= 2 ? 8 : 0), kpos = uint32_t(J) * kTile + nt * 8 + c2 + (e & 1);
          const bool ok = qpos < mask.tokens && kpos <= qpos &&
                          mask.Allowed(head, qpos / mask.block, kpos / mask.block);
          if (!ok) s[nt][e] = -INFINITY;
        }
      }
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < kTile / 8; ++nt) mx = fmaxf(mx, fmaxf(s[nt][2 * i], s[nt][2 * i + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_new = fmaxf(m[i], mx);
      const float alpha = m_new == -INFINITY ? 1.0f : exp2f(m[i] - m_new);
      const float base = m_new == -INFINITY ? 0.0f : m_new;
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < kTile / 8; ++nt) {
        s[nt][2 * i] = exp2f(s[nt][2 * i] - base);
        s[nt][2 * i + 1] = exp2f(s[nt][2 * i + 1] - base);
        sum += s[nt][2 * i] + s[nt][2 * i + 1];
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      l[i] = l[i] * alpha + sum;
      m[i] = m_new;
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        o[dt][2 * i] *= alpha;
        o[dt][2 * i + 1] *= alpha;
      }
    }
#pragma unroll
    for (int kk = 0; kk < kTile / 16; ++kk) {
      const uint32_t a[4] = {PackBf16(s[2 * kk][0], s[2 * kk][1]), PackBf16(s[2 * kk][2], s[2 * kk][3]),
                             PackBf16(s[2 * kk + 1][0], s[2 * kk + 1][1]), PackBf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        const bf16* row = vs + (dt * 8 + r) * kVld + kk * 16 + c2;
        const uint32_t b[2] = {Word(row), Word(row + 8)};
        MmaBf16(o[dt], a, b);
      }
    }
    __syncthreads();  // this buffer is refilled two tiles on
    buf ^= 1;
    J = Jn;
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const uint32_t pos = qpos0 + 8 * i;
    if (pos >= mask.tokens) continue;
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    float* dst = out + (size_t(pos) * q_heads + hq) * D + c2;
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      *reinterpret_cast<float2*>(dst + dt * 8) = make_float2(o[dt][2 * i] * inv, o[dt][2 * i + 1] * inv);
    }
    if (lse && c2 == 0) lse[size_t(pos) * q_heads + hq] = l[i] > 0.0f ? (m[i] + log2f(l[i])) * 0.69314718f : -INFINITY;
  }
}

template <int D>
void LaunchTensor(const backend::PrefillProblem& p, const uint8_t* mask, const bf16* qb, const bf16* kb, const bf16* vt,
                  uint32_t Lp, float* out, float* lse, cudaStream_t stream) {
  const size_t shared = (2 * kTile * (D + 8) + 2 * D * (kTile + 8)) * sizeof(bf16);
  LANDMARK_CUDA_CHECK(cudaFuncSetAttribute(TensorPrefillKernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)));
  const dim3 grid((unsigned(p.tokens) + kTile - 1) / kTile, unsigned(p.q_heads));
  const Mask m{mask, uint32_t((p.tokens + p.block - 1) / p.block), uint32_t(p.block), uint32_t(p.tokens)};
  TensorPrefillKernel<D><<<grid, kTcThreads, shared, stream>>>(qb, kb, vt, Lp, uint32_t(p.q_heads),
                                                             uint32_t(p.q_heads / p.kv_heads), m, out, lse);
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
  if (p.tensor_cores && p.d != 64 && p.d != 128) {
    throw std::runtime_error("cuda: the tensor-core prefill takes head dims 64 and 128 (got " + std::to_string(p.d) + ")");
  }
  if (p.flashprefill && p.mask) throw std::runtime_error("cuda: prefill with both a mask and flashprefill rules");
  cudaEvent_t events[6];  // start, uploaded, computed, downloaded, converted, mask found
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
  // The mask: none (dense), uploaded, or found here (flashprefill rules).
  const bool gpu_mask = p.flashprefill != nullptr;
  if (gpu_mask) {
    FlashPrefillMaskOnGpu(p, q.get(), k.get(), mask.Reserve(p.kv_heads * nb * nb), stream);
    LANDMARK_CUDA_CHECK(cudaEventRecord(events[5], stream));
  }
  const uint8_t* md = p.mask || gpu_mask ? mask.get() : nullptr;
  float* out_dev = out.Reserve(q_elements);
  float* lse_dev = p.lse ? lse.Reserve(p.tokens * p.q_heads) : nullptr;
  if (p.tensor_cores) {
    static DeviceBuffer<bf16> qb, kb, vt;
    const size_t Lp = (p.tokens + kTile - 1) / kTile * kTile;
    bf16* qb_dev = qb.Reserve(p.q_heads * Lp * p.d);
    bf16* kb_dev = kb.Reserve(p.kv_heads * Lp * p.d);
    bf16* vt_dev = vt.Reserve(p.kv_heads * Lp * p.d);
    const float q_scale = 1.4426950408889634f / std::sqrt(float(p.d));  // log2 e / sqrt(d): exp2 in the kernel
    WithElement(p.dtype, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      ToBf16Kernel<T><<<1024, 256, 0, stream>>>(q.get(), reinterpret_cast<const T*>(k.get()),
                                                reinterpret_cast<const T*>(v.get()), uint32_t(p.tokens), uint32_t(Lp),
                                                uint32_t(p.q_heads), uint32_t(p.kv_heads), uint32_t(p.d), p.token_stride,
                                                p.head_stride, q_scale, qb_dev, kb_dev, vt_dev);
    });
    LANDMARK_CUDA_CHECK(cudaGetLastError());
    LANDMARK_CUDA_CHECK(cudaEventRecord(events[4], stream));
    if (p.d == 64) LaunchTensor<64>(p, md, qb_dev, kb_dev, vt_dev, uint32_t(Lp), out_dev, lse_dev, stream);
    else LaunchTensor<128>(p, md, qb_dev, kb_dev, vt_dev, uint32_t(Lp), out_dev, lse_dev, stream);
  } else WithElement(p.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* kd = reinterpret_cast<const T*>(k.get());
    const T* vd = reinterpret_cast<const T*>(v.get());
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
  if (gpu_mask && p.mask_out) {
    LANDMARK_CUDA_CHECK(cudaMemcpyAsync(p.mask_out, mask.get(), p.kv_heads * nb * nb, cudaMemcpyDeviceToHost, stream));
  }
  LANDMARK_CUDA_CHECK(cudaEventRecord(events[3], stream));
  LANDMARK_CUDA_CHECK(cudaEventSynchronize(events[3]));
  timings.upload = Elapsed(events[0], events[1]);
  timings.kernel = Elapsed(events[1], events[2]);
  timings.download = Elapsed(events[2], events[3]);
  if (p.tensor_cores) timings.convert = Elapsed(gpu_mask ? events[5] : events[1], events[4]);
  if (gpu_mask) timings.mask = Elapsed(events[1], events[5]);
  for (cudaEvent_t e : events) cudaEventDestroy(e);
  cudaStreamDestroy(stream);
  return timings;
}

}  // namespace landmark::cuda
