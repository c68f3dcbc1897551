#include "src/attention/landmark_scores.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <dnnl.hpp>
#include <mutex>
#include <vector>

#include "landmark/error.h"
#include "src/kernels/kernels.h"

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
  Scale(scores, count);
}

void LandmarkScorer::ScoreHeads(const float* r, size_t first, size_t count, float* scores,
                                size_t scores_stride) const {
  const StoreShape& s = store_.shape();
  const size_t LH = s.landmark_heads, R = s.landmark_dim, values = s.landmark_values();
  if (s.landmark == LandmarkKind::kMinMax) {  // the bound reads 2R values a head: one head at a time
    for (size_t h = 0; h < LH; ++h) Score(r + h * R, h, first, count, scores + h * scores_stride);
    return;
  }
  const size_t stride = LH * values;
  const void* rows = static_cast<const char*>(store_.landmarks()) + first * stride * SizeOf(s.dtype);
  BatchedDotHeads(r, rows, s.dtype, count, LH, R, values, stride, scores, scores_stride);
  for (size_t h = 0; h < LH; ++h) Scale(scores + h * scores_stride, count);
}

// s_c = (r·L_c) · (1/√R), the product rounded once, the same way for a
// single query and a batch: exact ties stay ties in both, and a batch
// selects what its queries select one by one.
void LandmarkScorer::Scale(float* scores, size_t count) const {
  const float scale = 1.0f / std::sqrt(float(store_.shape().landmark_dim));
  for (size_t i = 0; i < count; ++i) scores[i] *= scale;
}

bool LandmarkScorer::SupportsGemm() const { return store_.shape().landmark != LandmarkKind::kMinMax; }

void LandmarkScorer::ScoreBatch(const float* rm, size_t M, size_t rows,
                                const std::function<void(size_t, size_t, size_t, const float*)>& consume) const {
  LANDMARK_ASSERT(SupportsGemm());
  const StoreShape& s = store_.shape();
  const size_t R = s.landmark_dim, LH = s.landmark_heads, stride = LH * s.landmark_values();
  std::call_once(gemm_->once, [&] {
    gemm_->engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
    gemm_->stream = dnnl::stream(gemm_->engine);
  });
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  using dim = dnnl::memory::dim;
  std::vector<float> tile(kGemmTile * stride), scores(M * kGemmTile);
  for (size_t first = 0; first < rows; first += kGemmTile) {
    const size_t count = std::min(kGemmTile, rows - first);
    // Widen the tile's rows of every head to f32 [count][LH][R]: one
    // contiguous conversion, on every core (this runs outside TBB work).
    const char* base = static_cast<const char*>(store_.landmarks()) + first * stride * SizeOf(s.dtype);
    tbb::parallel_for(tbb::blocked_range<size_t>(0, count, 512), [&](const tbb::blocked_range<size_t>& range) {
      ConvertToF32(base + range.begin() * stride * SizeOf(s.dtype), s.dtype, (range.end() - range.begin()) * stride,
                   &tile[range.begin() * stride]);
    });
    for (size_t head = 0; head < LH; ++head) {
      // scores [M][count] = rm[head] [M][R] · tile[:, head]ᵀ [R][count]
      const dnnl::memory::desc a({dim(M), dim(R)}, dt::f32, dims{dim(R), 1});
      const dnnl::memory::desc b({dim(R), dim(count)}, dt::f32, dims{1, dim(stride)});
      const dnnl::memory::desc c({dim(M), dim(count)}, dt::f32, dims{dim(count), 1});
      // Unscaled: oneDNN's output scales round differently from Score's
      // (1-8 ulp with several landmark heads), breaking exact ties.
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), gemm_->engine);
      dnnl::memory am(a, gemm_->engine, const_cast<float*>(rm + head * M * R)),
          bm(b, gemm_->engine, tile.data() + head * R), cm(c, gemm_->engine, scores.data());
      dnnl::matmul(pd).execute(gemm_->stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
      gemm_->stream.wait();
      Scale(scores.data(), M * count);
      consume(head, first, count, scores.data());
    }
  }
}

}  // namespace landmark
