// y = x·Wᵀ: Highway dot products for a few rows (decode reads W once, in its
// own dtype), one oneDNN matmul for many.

#include <cpuid.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

#include <hwy/targets.h>
#include <tbb/parallel_for.h>

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "src/nn/nn.h"

namespace landmark {
namespace {

constexpr size_t kGemvMaxRows = 8;     // up to this many rows: dot products (W read once, rows from L2)
constexpr size_t kGemvGrain = 64;      // output rows per TBB task
constexpr size_t kWidenTileRows = 512; // bf16 (no AVX512_BF16) or f16 rows widened to f32 per matmul

// AVX512_BF16 (CPUID.(EAX=7,ECX=1):EAX bit 5), and only while dispatch is
// allowed AVX-512 (CapKernelTarget lowers it to test the other path).
bool UseNativeBf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  return (a & (1u << 5)) != 0 && (hwy::SupportedTargets() & HWY_AVX3) != 0;
}

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;
using dim = dnnl::memory::dim;

}  // namespace

// Primitives keyed by (rows M, columns N, dtype, accumulate); executing one
// primitive from several threads at once is allowed by oneDNN.
struct Linear::Gemm {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mutex;
  std::map<std::tuple<size_t, size_t, int, bool>, dnnl::matmul> cache;

  // C[M][N] (row stride ldc) (+)= A[M][K] · B[N][K]ᵀ, A and B of `type`.
  dnnl::matmul Get(size_t M, size_t N, size_t K, size_t ldc, dt type, bool accumulate) {
    std::lock_guard<std::mutex> lock(mutex);
    const auto key = std::make_tuple(M, N, int(type), accumulate);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    const dnnl::memory::desc a({dim(M), dim(K)}, type, dims{dim(K), 1});
    const dnnl::memory::desc b({dim(K), dim(N)}, type, dims{1, dim(K)});
    const dnnl::memory::desc c({dim(M), dim(N)}, dt::f32, dims{dim(ldc), 1});
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    dnnl::matmul m(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), attr, engine));
    return cache.emplace(key, m).first->second;
  }

  void Run(const dnnl::matmul& m, size_t M, size_t N, size_t K, size_t ldc, dt type, const void* A,
           const void* B, float* C) {
    const dnnl::memory::desc a({dim(M), dim(K)}, type, dims{dim(K), 1});
    const dnnl::memory::desc b({dim(K), dim(N)}, type, dims{1, dim(K)});
    const dnnl::memory::desc c({dim(M), dim(N)}, dt::f32, dims{dim(ldc), 1});
    dnnl::stream stream(engine);
    dnnl::memory am(a, engine, const_cast<void*>(A)), bm(b, engine, const_cast<void*>(B)), cm(c, engine, C);
    m.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    stream.wait();
  }
};

Linear::Linear(const void* weights, DType dtype, size_t out, size_t in) : out_(out), in_(in), dtype_(dtype) {
  LANDMARK_CHECK_ARG(out > 0 && in > 0, "Linear: empty weight matrix");
  owned_.resize(weight_bytes());
  std::memcpy(owned_.data(), weights, owned_.size());
  data_ = owned_.data();
}

Linear Linear::Borrow(const void* weights, DType dtype, size_t out, size_t in) {
  LANDMARK_CHECK_ARG(out > 0 && in > 0, "Linear: empty weight matrix");
  LANDMARK_CHECK_ARG(weights != nullptr && reinterpret_cast<uintptr_t>(weights) % SizeOf(dtype) == 0,
                     "Linear: borrowed weights must be aligned to their element size");
  Linear linear;
  linear.out_ = out;
  linear.in_ = in;
  linear.dtype_ = dtype;
  linear.data_ = static_cast<const uint8_t*>(weights);
  return linear;
}

Linear::~Linear() { delete gemm_; }
Linear::Linear(Linear&& other) noexcept { *this = std::move(other); }
Linear& Linear::operator=(Linear&& other) noexcept {
  if (this != &other) {
    delete gemm_;
    out_ = other.out_;
    in_ = other.in_;
    dtype_ = other.dtype_;
    owned_ = std::move(other.owned_);  // the buffer moves with its address
    data_ = std::exchange(other.data_, nullptr);
    gemm_ = std::exchange(other.gemm_, nullptr);
  }
  return *this;
}

void Linear::Forward(const float* x, size_t M, float* y, bool accumulate) const {
  LANDMARK_CHECK_ARG(data_ != nullptr, "Linear: no weights");
  if (M == 0) return;
  const size_t element = SizeOf(dtype_);
  if (M <= kGemvMaxRows) {
    tbb::parallel_for(size_t(0), (out_ + kGemvGrain - 1) / kGemvGrain, [&](size_t task) {
      const size_t first = task * kGemvGrain, count = std::min(kGemvGrain, out_ - first);
      const void* rows = data_ + first * in_ * element;
      float dots[kGemvGrain];
      for (size_t m = 0; m < M; ++m) {
        BatchedDot(x + m * in_, rows, dtype_, count, in_, in_, dots);
        float* ym = y + m * out_ + first;
        for (size_t i = 0; i < count; ++i) ym[i] = accumulate ? ym[i] + dots[i] : dots[i];
      }
    });
    return;
  }
  // The primitive cache is created lazily; Forward is const but logically so.
  static std::mutex create_mutex;
  {
    std::lock_guard<std::mutex> lock(create_mutex);
    if (gemm_ == nullptr) const_cast<Linear*>(this)->gemm_ = new Gemm;
  }
  Gemm& g = *gemm_;
  if (dtype_ == DType::kF32) {
    g.Run(g.Get(M, out_, in_, out_, dt::f32, accumulate), M, out_, in_, out_, dt::f32, x, data_, y);
  } else if (dtype_ == DType::kBF16 && UseNativeBf16()) {
    std::vector<bf16> xb(M * in_);
    ConvertFromF32(x, M * in_, DType::kBF16, xb.data());
    g.Run(g.Get(M, out_, in_, out_, dt::bf16, accumulate), M, out_, in_, out_, dt::bf16, xb.data(), data_, y);
  } else {  // bf16 without AVX512_BF16, and f16: f32 tiles of rows
    std::vector<float> tile(std::min(kWidenTileRows, out_) * in_);
    for (size_t first = 0; first < out_; first += kWidenTileRows) {
      const size_t count = std::min(kWidenTileRows, out_ - first);
      ConvertToF32(data_ + first * in_ * element, dtype_, count * in_, tile.data());
      g.Run(g.Get(M, count, in_, out_, dt::f32, accumulate), M, count, in_, out_, dt::f32, x, tile.data(),
            y + first);
    }
  }
}

}  // namespace landmark
