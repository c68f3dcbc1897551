// Rotary position embeddings as Hugging Face models apply them
// (rotate_half layout: dimension i is paired with i + d/2), with the
// inverse frequencies of the config's rope type: default, linear, llama3.
// cos/sin come from a table of positions [0, P) grown by Reserve (angles in
// double, rounded to f32 once), so rotating a row costs d multiply-adds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "landmark/dtype.h"

namespace landmark {
struct LlmConfig;
}

namespace landmark::llm {

class Rope {
 public:
  explicit Rope(const LlmConfig& config);
  explicit Rope(std::vector<float> inv_freq, float attention_scaling = 1.0f);

  size_t head_dim() const { return 2 * inv_freq_.size(); }
  const std::vector<float>& inv_freq() const { return inv_freq_; }  // [d/2], as transformers computes them (f32)
  float attention_scaling() const { return attention_scaling_; }

  // Makes positions [0, positions) available. Not thread-safe: call before
  // parallel work; Rotate/Apply only read the table.
  void Reserve(size_t positions);
  size_t reserved() const { return cos_.size() / inv_freq_.size(); }

  // `rows` rows of d values (src of `src_type`, src_stride elements apart),
  // row r at position positions[r] < reserved(), rotated into f32 dst
  // (dst_stride apart; dst may be src for f32 rows).
  void Rotate(const void* src, DType src_type, size_t rows, size_t src_stride, const int64_t* positions, float* dst,
              size_t dst_stride) const;
  // In place, `rows` rows of `heads` vectors (row r at x + r*row_stride, its
  // heads head_dim apart) at positions first, first + 1, ...; reserves as needed.
  void Apply(float* x, size_t rows, size_t heads, size_t row_stride, int64_t first);

 private:
  std::vector<float> inv_freq_;
  float attention_scaling_ = 1.0f;
  std::vector<float> cos_, sin_;  // [reserved][d/2]
};

}  // namespace landmark::llm
