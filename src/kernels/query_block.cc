// QueryBlock and SoftmaxAccumulator: buffers and the once-per-attention
// steps around the per-block kernel (query preparation, final normalisation).

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "hwy/aligned_allocator.h"
#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "src/kernels/block_layout.h"

namespace landmark {
namespace {

using block_layout::kRowPad;
using block_layout::kTransposeMinRows;
using block_layout::RoundUp;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// (Re)allocates `buffer` to hold at least `floats`, 64-byte aligned.
template <class Ptr>
float* Reserve(Ptr& buffer, size_t& capacity, size_t floats) {
  if (floats > capacity || !buffer) {
    const size_t grown = std::max(floats, capacity + capacity / 2);
    float* p = static_cast<float*>(hwy::AllocateAlignedBytes(
        std::max<size_t>(grown, 1) * sizeof(float), nullptr, nullptr));
    LANDMARK_CHECK_ARG(p != nullptr, "out of memory allocating attention buffers");
    buffer.reset(p);
    capacity = grown;
  }
  return buffer.get();
}

}  // namespace

void QueryBlock::Free::operator()(float* p) const {
  hwy::FreeAlignedBytes(p, nullptr, nullptr);
}
void SoftmaxAccumulator::Free::operator()(float* p) const {
  hwy::FreeAlignedBytes(p, nullptr, nullptr);
}

QueryBlock::QueryBlock() = default;
QueryBlock::~QueryBlock() = default;
QueryBlock::QueryBlock(QueryBlock&&) noexcept = default;
QueryBlock& QueryBlock::operator=(QueryBlock&&) noexcept = default;

void QueryBlock::Prepare(const float* q, size_t positions, size_t heads,
                         size_t position_stride, size_t d, float scale) {
  positions_ = positions;
  heads_ = heads;
  d_ = d;
  rows_ = positions * heads;
  transposed_ = rows_ >= kTransposeMinRows;
  padded_rows_ = RoundUp(rows_, kRowPad);
  float* out = Reserve(data_, capacity_, std::max<size_t>(padded_rows_ * d, 1));
  auto row = [&](size_t r) { return q + (r / heads) * position_stride + (r % heads) * d; };
  if (!transposed_) {
    for (size_t r = 0; r < rows_; ++r) {
      for (size_t k = 0; k < d; ++k) out[r * d + k] = row(r)[k] * scale;
    }
    return;
  }
  // Transposed [d][padded_rows]: lanes of one kernel vector are query rows.
  // kRowPad rows at a time, so each k writes one contiguous run (whole cache
  // lines) while the rows being read stay in L1; writing one row at a time
  // would touch a new line of a 4 KiB-aliased column per element.
  for (size_t first = 0; first < padded_rows_; first += kRowPad) {
    const float* rows[kRowPad];
    const size_t n = first < rows_ ? std::min(kRowPad, rows_ - first) : 0;
    for (size_t i = 0; i < n; ++i) rows[i] = row(first + i);
    for (size_t k = 0; k < d; ++k) {
      float* column = out + k * padded_rows_ + first;
      for (size_t i = 0; i < n; ++i) column[i] = rows[i][k] * scale;
      for (size_t i = n; i < kRowPad; ++i) column[i] = 0.0f;
    }
  }
}

SoftmaxAccumulator::SoftmaxAccumulator() = default;
SoftmaxAccumulator::~SoftmaxAccumulator() = default;
SoftmaxAccumulator::SoftmaxAccumulator(SoftmaxAccumulator&&) noexcept = default;
SoftmaxAccumulator& SoftmaxAccumulator::operator=(SoftmaxAccumulator&&) noexcept = default;

void SoftmaxAccumulator::Reset(const QueryBlock& queries) {
  rows_ = queries.rows();
  heads_ = queries.heads();
  d_ = queries.dim();
  const size_t padded = RoundUp(rows_, kRowPad);
  float* state = Reserve(state_, state_capacity_, 2 * padded + rows_ * d_);
  max_ = state;
  sum_ = state + padded;
  acc_ = state + 2 * padded;
  std::fill(max_, max_ + padded, kNegInf);
  std::fill(sum_, sum_ + padded, 0.0f);
  std::fill(acc_, acc_ + rows_ * d_, 0.0f);
}

float* SoftmaxAccumulator::scratch(size_t floats) {
  return Reserve(scratch_, scratch_capacity_, floats);
}

void SoftmaxAccumulator::Finish(float* out, size_t out_position_stride, float* lse,
                                size_t lse_position_stride, bool zero_logit) const {
  for (size_t r = 0; r < rows_; ++r) {
    const size_t p = r / heads_, h = r % heads_;
    float* out_row = out + p * out_position_stride + h * d_;
    float row_max = max_[r], row_sum = sum_[r];
    float rescale = 1.0f;
    if (zero_logit) {
      // An implicit extra logit 0: the denominator gains exp(0 - max').
      const float new_max = std::max(row_max, 0.0f);
      rescale = row_max == kNegInf ? 0.0f : std::exp(row_max - new_max);
      row_sum = row_sum * rescale + std::exp(-new_max);
      row_max = new_max;
    }
    const float* acc_row = acc_ + r * d_;
    if (row_sum > 0.0f) {
      const float factor = rescale / row_sum;
      for (size_t k = 0; k < d_; ++k) out_row[k] = acc_row[k] * factor;
    } else {
      std::fill(out_row, out_row + d_, 0.0f);
    }
    if (lse) lse[p * lse_position_stride + h] = row_sum > 0.0f ? row_max + std::log(row_sum) : kNegInf;
  }
}

}  // namespace landmark
