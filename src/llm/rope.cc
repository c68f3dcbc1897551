// RoPE tables and rotation (the arithmetic is RotateHalf in src/kernels/rotary.cc).
#include "src/llm/rope.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "landmark/error.h"
#include "src/kernels/kernels.h"

namespace landmark::llm {

Rope::Rope(std::vector<float> inv_freq, float attention_scaling)
    : inv_freq_(std::move(inv_freq)), attention_scaling_(attention_scaling) {
  LANDMARK_CHECK_ARG(!inv_freq_.empty(), "rope: no frequencies");
}

void Rope::Reserve(size_t positions) {
  const size_t half = inv_freq_.size(), have = reserved();
  if (positions <= have) return;
  positions = std::max(positions, 2 * have);  // amortised growth
  cos_.resize(positions * half);
  sin_.resize(positions * half);
  for (size_t p = have; p < positions; ++p) {
    for (size_t i = 0; i < half; ++i) {
      const double angle = double(p) * double(inv_freq_[i]);
      cos_[p * half + i] = float(std::cos(angle) * attention_scaling_);
      sin_[p * half + i] = float(std::sin(angle) * attention_scaling_);
    }
  }
}

void Rope::Rotate(const void* src, DType src_type, size_t rows, size_t src_stride, const int64_t* positions,
                  float* dst, size_t dst_stride) const {
  for (size_t r = 0; r < rows; ++r) {
    LANDMARK_ASSERT(positions[r] >= 0 && size_t(positions[r]) < reserved());
  }
  RotateHalf(src, src_type, rows, head_dim(), src_stride, cos_.data(), sin_.data(), positions, dst, dst_stride);
}

void Rope::Apply(float* x, size_t rows, size_t heads, size_t row_stride, int64_t first) {
  LANDMARK_CHECK_ARG(first >= 0, "rope: negative position " + std::to_string(first));
  Reserve(size_t(first) + rows);
  const size_t d = head_dim();
  std::vector<int64_t> positions(heads);
  for (size_t r = 0; r < rows; ++r) {
    positions.assign(heads, first + int64_t(r));
    RotateHalf(x + r * row_stride, DType::kF32, heads, d, d, cos_.data(), sin_.data(), positions.data(),
               x + r * row_stride, d);
  }
}

}  // namespace landmark::llm
