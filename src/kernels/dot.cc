// Dot products of an f32 query with f32/f16/bf16 rows (landmark scoring).

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/dot.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/kernels/load-inl.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {

template <typename T>
float DotT(const float* HWY_RESTRICT a, const T* HWY_RESTRICT b, size_t d) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  // Four independent chains hide the FMA latency.
  auto sum0 = hn::Zero(df), sum1 = hn::Zero(df), sum2 = hn::Zero(df), sum3 = hn::Zero(df);
  size_t i = 0;
  for (; i + 4 * N <= d; i += 4 * N) {
    sum0 = hn::MulAdd(hn::LoadU(df, a + i), LoadF32(df, b + i), sum0);
    sum1 = hn::MulAdd(hn::LoadU(df, a + i + N), LoadF32(df, b + i + N), sum1);
    sum2 = hn::MulAdd(hn::LoadU(df, a + i + 2 * N), LoadF32(df, b + i + 2 * N), sum2);
    sum3 = hn::MulAdd(hn::LoadU(df, a + i + 3 * N), LoadF32(df, b + i + 3 * N), sum3);
  }
  for (; i + N <= d; i += N) sum0 = hn::MulAdd(hn::LoadU(df, a + i), LoadF32(df, b + i), sum0);
  sum0 = hn::Add(hn::Add(sum0, sum1), hn::Add(sum2, sum3));
  float sum = hn::GetLane(hn::SumOfLanes(df, sum0));
  for (; i < d; ++i) sum += a[i] * ScalarF32(b + i);
  return sum;
}

// Rows are prefetched about kPrefetchBytes ahead: four interleaved row
// streams defeat the hardware prefetchers, each stream ending after one row.
constexpr size_t kPrefetchBytes = 4096;
template <typename T>
size_t PrefetchAhead(size_t row_stride) {
  return std::max<size_t>(1, kPrefetchBytes / std::max<size_t>(1, row_stride * sizeof(T)));
}

// s[j] = q[j]·row[j] over d elements for four (query, row) pairs at once:
// four independent FMA chains. Each pair sums in the same order as one
// alone (one vector accumulator, then its lanes, then the scalar tail), so
// a score never depends on which other pairs shared the pass.
template <typename T>
HWY_INLINE void Dot4(const float* const* HWY_RESTRICT q, const T* const* HWY_RESTRICT row, size_t d, float* s) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t d_vec = d - d % N;
  auto sum0 = hn::Zero(df), sum1 = hn::Zero(df), sum2 = hn::Zero(df), sum3 = hn::Zero(df);
  for (size_t i = 0; i < d_vec; i += N) {
    sum0 = hn::MulAdd(hn::LoadU(df, q[0] + i), LoadF32(df, row[0] + i), sum0);
    sum1 = hn::MulAdd(hn::LoadU(df, q[1] + i), LoadF32(df, row[1] + i), sum1);
    sum2 = hn::MulAdd(hn::LoadU(df, q[2] + i), LoadF32(df, row[2] + i), sum2);
    sum3 = hn::MulAdd(hn::LoadU(df, q[3] + i), LoadF32(df, row[3] + i), sum3);
  }
  s[0] = hn::GetLane(hn::SumOfLanes(df, sum0));
  s[1] = hn::GetLane(hn::SumOfLanes(df, sum1));
  s[2] = hn::GetLane(hn::SumOfLanes(df, sum2));
  s[3] = hn::GetLane(hn::SumOfLanes(df, sum3));
  for (size_t i = d_vec; i < d; ++i) {
    for (size_t j = 0; j < 4; ++j) s[j] += q[j][i] * ScalarF32(row[j] + i);
  }
}

// The (row, head) pairs in order, four per pass (a last group of fewer
// repeats its last pair): with one head, four rows share each load of q;
// with many, a row's heads go together and the rows are read front to back
// once, where one head at a time would read a slice of each row and skip
// the rest. One code path for every pair: a score does not depend on where
// a range starts, so a shard of a store scores its chunks exactly as the
// whole store does.
template <typename T>
void BatchedDotHeadsT(const float* HWY_RESTRICT q, const T* HWY_RESTRICT rows, size_t n, size_t heads, size_t d,
                      size_t head_stride, size_t row_stride, float* HWY_RESTRICT out, size_t out_stride) {
  const size_t pairs = n * heads, row_span = (heads - 1) * head_stride + d;
  const size_t ahead = PrefetchAhead<T>(row_stride);
  size_t r = 0, h = 0;  // the next pair's row and head (no divisions in the loop)
  for (size_t p = 0; p < pairs; p += 4) {
    const float* qs[4];
    const T* segment[4];
    size_t dst[4];
    for (size_t k = 0; k < 4; ++k) {
      if (p + k >= pairs) {  // repeat the last pair
        qs[k] = qs[k - 1];
        segment[k] = segment[k - 1];
        continue;
      }
      qs[k] = q + h * d;
      segment[k] = rows + r * row_stride + h * head_stride;
      dst[k] = h * out_stride + r;
      if (h == 0) PrefetchRow(rows + (r + ahead) * row_stride, row_span);  // never faults
      if (++h == heads) h = 0, ++r;
    }
    float s[4];
    Dot4(qs, segment, d, s);
    for (size_t k = 0; k < 4 && p + k < pairs; ++k) out[dst[k]] = s[k];
  }
}

template <typename T>
void BatchedQuestBoundT(const float* HWY_RESTRICT r, const T* HWY_RESTRICT rows, size_t n, size_t R,
                        size_t row_stride, float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t R_vec = R - R % N;
  const size_t ahead = PrefetchAhead<T>(row_stride);
  for (size_t i = 0; i < n; ++i) {
    const T* lo = rows + i * row_stride;
    const T* hi = lo + R;
    PrefetchRow(rows + (i + ahead) * row_stride, 2 * R);
    auto sum = hn::Zero(df);
    for (size_t j = 0; j < R_vec; j += N) {
      const auto rv = hn::LoadU(df, r + j);
      sum = hn::Add(sum, hn::Max(hn::Mul(rv, LoadF32(df, lo + j)), hn::Mul(rv, LoadF32(df, hi + j))));
    }
    float total = hn::GetLane(hn::SumOfLanes(df, sum));
    for (size_t j = R_vec; j < R; ++j) total += std::max(r[j] * ScalarF32(lo + j), r[j] * ScalarF32(hi + j));
    out[i] = total;
  }
}

float Dot(const float* a, const void* b, DType b_type, size_t d) {
  return VisitStorage(b_type, [&](auto* type) {
    return DotT(a, static_cast<decltype(type)>(b), d);
  });
}

void BatchedDot(const float* q, const void* rows, DType rows_type, size_t n, size_t d,
                size_t row_stride, float* out) {
  VisitStorage(rows_type, [&](auto* type) {
    BatchedDotHeadsT(q, static_cast<decltype(type)>(rows), n, /*heads=*/1, d, d, row_stride, out, n);
  });
}

void BatchedDotHeads(const float* q, const void* rows, DType rows_type, size_t n, size_t heads, size_t d,
                     size_t head_stride, size_t row_stride, float* out, size_t out_stride) {
  if (heads == 0) return;
  VisitStorage(rows_type, [&](auto* type) {
    BatchedDotHeadsT(q, static_cast<decltype(type)>(rows), n, heads, d, head_stride, row_stride, out, out_stride);
  });
}

void BatchedQuestBound(const float* r, const void* rows, DType rows_type, size_t n, size_t R,
                       size_t row_stride, float* out) {
  VisitStorage(rows_type, [&](auto* type) {
    BatchedQuestBoundT(r, static_cast<decltype(type)>(rows), n, R, row_stride, out);
  });
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace landmark {

HWY_EXPORT(Dot);
HWY_EXPORT(BatchedDot);
HWY_EXPORT(BatchedDotHeads);
HWY_EXPORT(BatchedQuestBound);
HWY_EXPORT(TargetName);

float Dot(const float* a, const void* b, DType b_type, size_t d) {
  return HWY_DYNAMIC_DISPATCH(Dot)(a, b, b_type, d);
}

void BatchedDot(const float* q, const void* rows, DType rows_type, size_t n, size_t d,
                size_t row_stride, float* out) {
  HWY_DYNAMIC_DISPATCH(BatchedDot)(q, rows, rows_type, n, d, row_stride, out);
}

void BatchedDotHeads(const float* q, const void* rows, DType rows_type, size_t n, size_t heads, size_t d,
                     size_t head_stride, size_t row_stride, float* out, size_t out_stride) {
  HWY_DYNAMIC_DISPATCH(BatchedDotHeads)(q, rows, rows_type, n, heads, d, head_stride, row_stride, out, out_stride);
}

void BatchedQuestBound(const float* r, const void* rows, DType rows_type, size_t n, size_t R,
                       size_t row_stride, float* out) {
  HWY_DYNAMIC_DISPATCH(BatchedQuestBound)(r, rows, rows_type, n, R, row_stride, out);
}

const char* KernelTarget() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

const char* CapKernelTarget(std::string_view name) {
  std::string wanted(name);
  for (char& c : wanted) c = char(std::toupper(static_cast<unsigned char>(c)));
  for (int64_t target : {HWY_AVX3_DL, HWY_AVX3, HWY_AVX2, HWY_SSE4, HWY_SSSE3, HWY_EMU128, HWY_SCALAR}) {
    if (wanted == hwy::TargetName(target)) {
      hwy::DisableTargets(target - 1);  // every better target (lower bits)
      return KernelTarget();
    }
  }
  LANDMARK_THROW("unknown kernel target '" + std::string(name) +
                 "' (expected AVX3, AVX2, SSE4, SSSE3, EMU128 or SCALAR)");
}

}  // namespace landmark
#endif  // HWY_ONCE
