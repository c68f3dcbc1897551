// Rotary position embeddings as Hugging Face models apply them
// (rotate_half layout: dimension i is paired with i + d/2), with the
// inverse frequencies of the config's rope type: default, linear, llama3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace landmark::llm {

struct LlmConfig;

class Rope {
 public:
  explicit Rope(const LlmConfig& config);
  Rope(std::vector<float> inv_freq, float attention_scaling = 1.0f);

  size_t head_dim() const { return 2 * inv_freq_.size(); }
  const std::vector<float>& inv_freq() const { return inv_freq_; }  // [d/2], as transformers computes them (f32)

  // Rotates `rows` rows of `heads` vectors of head_dim values in place:
  // row r (at x + r*row_stride, heads head_dim apart) at position positions[r].
  // Angles are computed in double (pos · inv_freq), cos/sin scaled by
  // attention_scaling.
  void Apply(float* x, size_t rows, size_t heads, size_t row_stride, const int64_t* positions) const;
  // The same with positions first, first + 1, ...
  void Apply(float* x, size_t rows, size_t heads, size_t row_stride, int64_t first) const;

 private:
  std::vector<float> inv_freq_;
  float attention_scaling_ = 1.0f;
};

}  // namespace landmark::llm
