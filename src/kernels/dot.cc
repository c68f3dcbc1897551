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

// Four rows per pass share each load of q. Four interleaved row streams
// defeat the hardware prefetchers (each stream ends after one row), so rows
// are prefetched kPrefetchRows ahead.
constexpr size_t kPrefetchRows = 16;

template <typename T>
void BatchedDotT(const float* HWY_RESTRICT q, const T* HWY_RESTRICT rows, size_t n, size_t d,
                 size_t row_stride, float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t d_vec = d - d % N;
  // One code path for every row (a last group of fewer than 4 repeats its
  // last row): a row's score does not depend on where a range starts, so a
  // shard of a store scores its chunks exactly as the whole store does.
  for (size_t r = 0; r < n; r += 4) {
    const T* row0 = rows + r * row_stride;
    const T* row1 = rows + std::min(r + 1, n - 1) * row_stride;
    const T* row2 = rows + std::min(r + 2, n - 1) * row_stride;
    const T* row3 = rows + std::min(r + 3, n - 1) * row_stride;
    for (size_t k = 0; k < 4; ++k) PrefetchRow(rows + (r + k + kPrefetchRows) * row_stride, d);  // never faults
    auto sum0 = hn::Zero(df), sum1 = hn::Zero(df), sum2 = hn::Zero(df), sum3 = hn::Zero(df);
    for (size_t i = 0; i < d_vec; i += N) {
      const auto qv = hn::LoadU(df, q + i);
      sum0 = hn::MulAdd(qv, LoadF32(df, row0 + i), sum0);
      sum1 = hn::MulAdd(qv, LoadF32(df, row1 + i), sum1);
      sum2 = hn::MulAdd(qv, LoadF32(df, row2 + i), sum2);
      sum3 = hn::MulAdd(qv, LoadF32(df, row3 + i), sum3);
    }
    float s[4] = {hn::GetLane(hn::SumOfLanes(df, sum0)), hn::GetLane(hn::SumOfLanes(df, sum1)),
                  hn::GetLane(hn::SumOfLanes(df, sum2)), hn::GetLane(hn::SumOfLanes(df, sum3))};
    for (size_t i = d_vec; i < d; ++i) {
      s[0] += q[i] * ScalarF32(row0 + i);
      s[1] += q[i] * ScalarF32(row1 + i);
      s[2] += q[i] * ScalarF32(row2 + i);
      s[3] += q[i] * ScalarF32(row3 + i);
    }
    for (size_t k = 0; k < 4 && r + k < n; ++k) out[r + k] = s[k];
  }
}

template <typename T>
void BatchedQuestBoundT(const float* HWY_RESTRICT r, const T* HWY_RESTRICT rows, size_t n, size_t R,
                        size_t row_stride, float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t R_vec = R - R % N;
  for (size_t i = 0; i < n; ++i) {
    const T* lo = rows + i * row_stride;
    const T* hi = lo + R;
    PrefetchRow(rows + (i + kPrefetchRows) * row_stride, 2 * R);
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
    BatchedDotT(q, static_cast<decltype(type)>(rows), n, d, row_stride, out);
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
HWY_EXPORT(BatchedQuestBound);
HWY_EXPORT(TargetName);

float Dot(const float* a, const void* b, DType b_type, size_t d) {
  return HWY_DYNAMIC_DISPATCH(Dot)(a, b, b_type, d);
}

void BatchedDot(const float* q, const void* rows, DType rows_type, size_t n, size_t d,
                size_t row_stride, float* out) {
  HWY_DYNAMIC_DISPATCH(BatchedDot)(q, rows, rows_type, n, d, row_stride, out);
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
