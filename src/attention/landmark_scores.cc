#include "src/attention/landmark_scores.h"

#include <cmath>
#include <dnnl.hpp>
#include <mutex>
#include <vector>

#include "landmark/error.h"
#include "landmark/kernels.h"

namespace landmark {
namespace {

constexpr size_t kGemmTile = 4096;  // landmark rows per matmul

}  // namespace

struct LandmarkScorer::Gemm {
  std::once_flag once;
  dnnl::engine engine;
  dnnl::stream stream;
};

LandmarkScorer::LandmarkScorer(const StoreReader& store) : store_(store), gemm_(std::make_unique<Gemm>()) {}
LandmarkScorer::~LandmarkScorer() = default;
LandmarkScorer::LandmarkScorer(LandmarkScorer&&) noexcept = default;

void LandmarkScorer::Score(const float* r, size_t head, size_t first, size_t count, float* scores) const {
  const StoreShape& s = store_.shape();
  const size_t values = s.landmark_values(), stride = s.landmark_heads * values;
  const void* rows = static_cast<const char*>(store_.landmarks()) +
                     (first * stride + head * values) * SizeOf(s.dtype);
  if (s.landmark == LandmarkKind::kMinMax) {
    BatchedQuestBound(r, rows, s.dtype, count, s.landmark_dim, stride, scores);
  } else {
    BatchedDot(r, rows, s.dtype, count, s.landmark_dim, stride, scores);
  }
  const float scale = 1.0f / std::sqrt(float(s.landmark_dim));
  for (size_t i = 0; i < count; ++i) scores[i] *= scale;
}

bool LandmarkScorer::SupportsGemm() const { return store_.shape().landmark != LandmarkKind::kMinMax; }

void LandmarkScorer::ScoreBatch(const float* rm, size_t M, size_t head, size_t rows,
                                const std::function<void(size_t, size_t, const float*)>& consume) const {
  LANDMARK_ASSERT(SupportsGemm());
  const StoreShape& s = store_.shape();
  const size_t R = s.landmark_dim, values = s.landmark_values(), stride = s.landmark_heads * values;
  std::call_once(gemm_->once, [&] {
    gemm_->engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
    gemm_->stream = dnnl::stream(gemm_->engine);
  });
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  const float scale = 1.0f / std::sqrt(float(R));
  std::vector<float> tile(kGemmTile * R), scores(M * kGemmTile);
  for (size_t first = 0; first < rows; first += kGemmTile) {
    const size_t count = std::min(kGemmTile, rows - first);
    // Widen this head's rows to a contiguous f32 tile [count][R].
    for (size_t i = 0; i < count; ++i) {
      const void* row = static_cast<const char*>(store_.landmarks()) +
                        ((first + i) * stride + head * values) * SizeOf(s.dtype);
      ConvertToF32(row, s.dtype, R, &tile[i * R]);
    }
    // scores [M][count] = rm [M][R] · tileᵀ [R][count]
    const dnnl::memory::desc a({dnnl::memory::dim(M), dnnl::memory::dim(R)}, dt::f32, dims{dnnl::memory::dim(R), 1});
    const dnnl::memory::desc b({dnnl::memory::dim(R), dnnl::memory::dim(count)}, dt::f32, dims{1, dnnl::memory::dim(R)});
    const dnnl::memory::desc c({dnnl::memory::dim(M), dnnl::memory::dim(count)}, dt::f32,
                               dims{dnnl::memory::dim(count), 1});
    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {scale});
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, gemm_->engine);
    dnnl::memory am(a, gemm_->engine, const_cast<float*>(rm)), bm(b, gemm_->engine, tile.data()),
        cm(c, gemm_->engine, scores.data());
    dnnl::matmul(pd).execute(gemm_->stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    gemm_->stream.wait();
    consume(first, count, scores.data());
  }
}

}  // namespace landmark
