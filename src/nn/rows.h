// Element-wise work between matmuls over row-major [rows][d] activations,
// on oneTBB: norms, activations and copies run on every core too (matmuls
// thread themselves). Called outside TBB parallel regions.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "src/nn/nn.h"

namespace landmark {

// f(begin, end) over ranges of `rows` rows in parallel.
template <typename F>
void ForRows(size_t rows, F&& f, size_t grain = 64) {
  tbb::parallel_for(tbb::blocked_range<size_t>(0, rows, grain),
                    [&](const tbb::blocked_range<size_t>& r) { f(r.begin(), r.end()); });
}

// RmsNorm (nn.h) of `rows` rows of d values in parallel: group = d, an
// ordinary RMSNorm; group = head_dim, per head (weight still [d]). y may equal x.
inline void RmsNormRows(const float* x, const std::vector<float>& weight, size_t rows, size_t d, size_t group,
                        float eps, float* y) {
  ForRows(
      rows,
      [&](size_t begin, size_t end) { RmsNorm(x + begin * d, weight.data(), end - begin, d, group, eps, y + begin * d); },
      std::max<size_t>(1, 4096 / std::max<size_t>(d, 1)));
}

}  // namespace landmark
