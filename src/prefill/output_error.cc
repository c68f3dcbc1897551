#include "src/prefill/output_error.h"

#include <algorithm>
#include <cmath>

namespace landmark::prefill {

void OutputError::Add(const float* got, const float* expected, size_t rows, size_t d) {
  for (size_t r = 0; r < rows; ++r) {
    const float* a = got + r * d;
    const float* b = expected + r * d;
    double dot = 0, aa = 0, bb = 0;
    for (size_t x = 0; x < d; ++x) {
      const double diff = double(a[x]) - b[x];
      error_ += diff * diff;
      dot += double(a[x]) * b[x];
      aa += double(a[x]) * a[x];
      bb += double(b[x]) * b[x];
    }
    norm_ += bb;
    if (aa > 0 && bb > 0) min_cosine_ = std::min(min_cosine_, dot / std::sqrt(aa * bb));
  }
}

double OutputError::relative_l2() const { return norm_ > 0 ? std::sqrt(error_ / norm_) : 0.0; }

}  // namespace landmark::prefill
