// Shared test helpers: per-target runs, seeded inputs in every dtype, and
// error statistics against the double-precision reference (gemma.cpp style).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hwy/targets.h"
#include "landmark/dtype.h"

namespace landmark::test {

// Tolerances, as max relative error |got − expected| / max(|expected|, 1).
// The kernels compute in f32 whatever the storage dtype, and the references
// read the same rounded inputs, so one budget covers the kernels' arithmetic:
// f32 rounding of dot products over d and of sums over up to ~4K keys.
inline constexpr double kKernelMaxError = 2e-5;
inline constexpr double kKernelMeanError = 2e-6;
// End to end against unrounded f32 inputs, the storage dtype's own rounding
// dominates: f16 (11-bit significand) and bf16 (8-bit).
inline double StorageTolerance(DType dtype) {
  switch (dtype) {
    case DType::kF32: return kKernelMaxError;
    case DType::kF16: return 4e-3;
    case DType::kBF16: return 3e-2;
  }
  return 0;
}

inline const DType kAllDTypes[] = {DType::kF32, DType::kF16, DType::kBF16};

// Runs fn() once per Highway target compiled in and supported by this CPU
// (AVX3, AVX2, SSE4, SSSE3, EMU128 on an AVX-512 machine).
template <class Fn>
void ForEachTarget(const Fn& fn) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    const std::string target_name = hwy::TargetName(target);
    CAPTURE(target_name);
    fn();
  }
  hwy::SetSupportedTargetsForTest(0);
}

inline std::vector<float> RandomNormal(size_t n, uint64_t seed, float stddev = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, stddev);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

// An array stored as `dtype`, starting `misalign` elements into its buffer,
// with the exact values it holds (after rounding) as doubles.
struct Stored {
  DType dtype = DType::kF32;
  std::vector<uint8_t> bytes;
  size_t misalign = 0;
  std::vector<double> values;

  const void* data() const { return bytes.data() + misalign * SizeOf(dtype); }
  size_t size() const { return values.size(); }
};

inline Stored Store(const std::vector<float>& x, DType dtype, size_t misalign = 0) {
  Stored s;
  s.dtype = dtype;
  s.misalign = misalign;
  const size_t b = SizeOf(dtype);
  s.bytes.resize((x.size() + misalign + 1) * b);
  s.values.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    uint8_t* dst = s.bytes.data() + (misalign + i) * b;
    if (dtype == DType::kF32) {
      std::memcpy(dst, &x[i], 4);
    } else if (dtype == DType::kF16) {
      const f16 h = ToF16(x[i]);
      std::memcpy(dst, &h, 2);
    } else {
      const bf16 h = ToBF16(x[i]);
      std::memcpy(dst, &h, 2);
    }
    s.values[i] = LoadAsF32(s.data(), dtype, i);
  }
  return s;
}

inline std::vector<double> ToDouble(const std::vector<float>& x) {
  return std::vector<double>(x.begin(), x.end());
}

// Relative error statistics, floor 1 (absolute error below |expected| = 1).
struct ErrorStats {
  double max = 0, sum = 0;
  size_t count = 0, mismatched_infinities = 0;

  void Add(double got, double expected, double floor = 1.0) {
    if (std::isinf(expected) || std::isinf(got)) {
      if (got != expected) ++mismatched_infinities;
      return;
    }
    const double e = std::isnan(got) ? INFINITY : std::fabs(got - expected) / std::max(std::fabs(expected), floor);
    max = std::max(max, e);
    sum += e;
    ++count;
  }
  template <class A, class B>
  void AddAll(const A& got, const B& expected) {
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i) Add(double(got[i]), double(expected[i]));
  }
  double mean() const { return count ? sum / double(count) : 0.0; }
};

// Asserts the kernel budget; reports the statistics on failure.
inline void CheckKernelError(const ErrorStats& e, double max_budget = kKernelMaxError,
                             double mean_budget = kKernelMeanError) {
  CAPTURE(e.max);
  CAPTURE(e.mean());
  CHECK(e.mismatched_infinities == 0);
  CHECK(e.max <= max_budget);
  CHECK(e.mean() <= mean_budget);
}

// Attention outputs and log-sum-exps against the reference: the output within
// (out_max, out_mean), the lse within the kernel budget.
inline void CheckAttention(const std::vector<float>& out, const std::vector<double>& expected_out,
                           const std::vector<float>& lse, const std::vector<double>& expected_lse,
                           double out_max = kKernelMaxError, double out_mean = kKernelMeanError) {
  ErrorStats out_error, lse_error;
  out_error.AddAll(out, expected_out);
  lse_error.AddAll(lse, expected_lse);
  CheckKernelError(out_error, out_max, out_mean);
  CheckKernelError(lse_error);
}

// fn() on every target (ForEachTarget), or once on the best one: the large
// sweeps keep the suite fast and leave the per-target runs to the base cases.
template <class Fn>
void OnTargets(bool every_target, const Fn& fn) {
  if (every_target) {
    ForEachTarget(fn);
  } else {
    fn();
  }
}

}  // namespace landmark::test
