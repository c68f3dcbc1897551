// Landmark scores s_c = r·L_c / sqrt(R) (mean, learned) or the Quest bound
// Σ_j max(r_j·min_j, r_j·max_j) / sqrt(R) (minmax), for one selection head.
// One query: Highway kernels over the mapped landmark rows. Many queries:
// one oneDNN f32 matmul per tile of landmark rows (widened from f16/bf16 by
// Highway first: oneDNN 2.6 has no f16 matmul and bf16 only with AVX512_BF16).
// Both paths scale the dot products the same way afterwards (one rounding of
// dot × 1/√R), so where the dot products agree (exact ones: tied inputs)
// the scores agree bit for bit and ties go to the lower chunk id in both.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "landmark/store.h"

namespace landmark {

class LandmarkScorer {
 public:
  explicit LandmarkScorer(const StoreReader& store);
  ~LandmarkScorer();
  LandmarkScorer(LandmarkScorer&&) noexcept;

  // scores[i] = s of chunk first + i for landmark head `head`.
  void Score(const float* r, size_t head, size_t first, size_t count, float* scores) const;
  // Every landmark head at once, r [landmark heads][R]:
  // scores[head * scores_stride + i] = s of chunk first + i for that head,
  // the same bits as Score's; the landmark rows are read once, in order.
  void ScoreHeads(const float* r, size_t first, size_t count, float* scores, size_t scores_stride) const;

  bool SupportsGemm() const;  // mean and learned landmarks (not minmax)
  // Scores chunks [0, rows) of every landmark head for M queries
  // rm [landmark heads][M][R], tile by tile: consume(head, first, count,
  // scores [M][count]). Each tile is widened to f32 once for all heads. Call
  // outside TBB parallel work (oneDNN runs on its own OpenMP threads).
  void ScoreBatch(const float* rm, size_t M, size_t rows,
                  const std::function<void(size_t head, size_t first, size_t count, const float* scores)>& consume) const;

 private:
  void Scale(float* scores, size_t count) const;  // × 1/√R

  const StoreReader& store_;
  struct Gemm;
  std::unique_ptr<Gemm> gemm_;
};

}  // namespace landmark
