// Block attention with online softmax against the exact reference: row
// counts on both kernel shapes (row dot / transposed micro-kernel), key
// counts, head dims, dtypes, strides, misalignment, split blocks, masks,
// large logits and softmax-off-by-one.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "tests/reference/attention_reference.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

struct Case {
  size_t positions = 1, heads = 1, d = 64, m = 64;
  DType dtype = DType::kF32;
  size_t misalign = 0;
  size_t extra_stride = 0;        // K/V rows are d + extra_stride apart
  size_t split = 0;               // feed the keys in blocks of this many (0: one block)
  bool masked = false;            // random visible counts per position, some 0
  bool windowed = false;          // random first visible keys per position, some past the visible ones
  bool zero_logit = false;
  float q_scale = 1.0f;           // > 1: large logits
  uint64_t seed = 1;
};

struct Inputs {
  std::vector<float> q;           // [positions][heads][d]
  test::Stored k, v;              // [m][stride]
  std::vector<uint32_t> visible;  // [positions]
  std::vector<uint32_t> first;    // [positions]
  size_t stride;
};

Inputs MakeInputs(const Case& c) {
  Inputs in;
  in.stride = c.d + c.extra_stride;
  in.q = test::RandomNormal(c.positions * c.heads * c.d, c.seed, c.q_scale);
  in.k = test::Store(test::RandomNormal(c.m * in.stride, c.seed + 1), c.dtype, c.misalign);
  in.v = test::Store(test::RandomNormal(c.m * in.stride, c.seed + 2), c.dtype, c.misalign + 1);
  in.visible.assign(c.positions, uint32_t(c.m));
  if (c.masked) {
    std::mt19937 rng(uint32_t(c.seed));
    for (size_t p = 0; p < c.positions; ++p) in.visible[p] = p % 3 == 0 ? 0 : uint32_t(rng() % (c.m + 1));
  }
  in.first.assign(c.positions, 0);
  if (c.windowed) {
    std::mt19937 rng(uint32_t(c.seed + 1));
    for (size_t p = 0; p < c.positions; ++p) in.first[p] = uint32_t(rng() % (in.visible[p] + 2));
  }
  return in;
}

// Reference outputs [rows][d] and lse [rows].
void Expected(const Case& c, const Inputs& in, std::vector<double>& out, std::vector<double>& lse) {
  const size_t rows = c.positions * c.heads;
  out.assign(rows * c.d, 0);
  lse.assign(rows, 0);
  std::vector<double> K(c.m * c.d), V(c.m * c.d);
  for (size_t j = 0; j < c.m; ++j) {
    for (size_t k = 0; k < c.d; ++k) {
      K[j * c.d + k] = in.k.values[j * in.stride + k];
      V[j * c.d + k] = in.v.values[j * in.stride + k];
    }
  }
  for (size_t r = 0; r < rows; ++r) {
    std::vector<double> q(in.q.begin() + r * c.d, in.q.begin() + (r + 1) * c.d);
    const size_t lo = std::min(in.first[r / c.heads], in.visible[r / c.heads]);
    reference::Attention(q.data(), K.data() + lo * c.d, V.data() + lo * c.d, in.visible[r / c.heads] - lo, c.d,
                         1.0 / std::sqrt(double(c.d)), c.zero_logit, &out[r * c.d], &lse[r]);
  }
}

void Run(const Case& c, const Inputs& in, std::vector<float>& out, std::vector<float>& lse) {
  QueryBlock queries;
  SoftmaxAccumulator state;
  queries.Prepare(in.q.data(), c.positions, c.heads, c.heads * c.d, c.d,
                  1.0f / std::sqrt(float(c.d)));
  state.Reset(queries);
  const size_t step = c.split ? c.split : std::max<size_t>(c.m, 1);
  std::vector<uint32_t> visible(c.positions), first(c.positions);
  for (size_t j0 = 0; j0 < c.m; j0 += step) {
    const size_t m = std::min(step, c.m - j0);
    for (size_t p = 0; p < c.positions; ++p) {
      visible[p] = in.visible[p] <= j0 ? 0 : uint32_t(std::min<size_t>(in.visible[p] - j0, m));
      first[p] = in.first[p] <= j0 ? 0 : uint32_t(std::min<size_t>(in.first[p] - j0, m));
    }
    const size_t b = SizeOf(c.dtype);
    const KVBlock block{static_cast<const char*>(in.k.data()) + j0 * in.stride * b,
                        static_cast<const char*>(in.v.data()) + j0 * in.stride * b, c.dtype, m,
                        in.stride, in.stride};
    AttendBlock(queries, block, c.masked ? visible.data() : nullptr, state, c.windowed ? first.data() : nullptr);
  }
  out.assign(c.positions * c.heads * c.d, -1.0f);
  lse.assign(c.positions * c.heads, -1.0f);
  state.Finish(out.data(), c.heads * c.d, lse.data(), c.heads, c.zero_logit);
}

// Compares every target's result with the reference; `out_max` and
// `out_mean` bound the output's relative error (kernel budget by default).
void Check(const Case& c, double out_max = test::kKernelMaxError,
           double out_mean = test::kKernelMeanError) {
  CAPTURE(c.positions);
  CAPTURE(c.heads);
  CAPTURE(c.d);
  CAPTURE(c.m);
  const std::string dtype_name = Name(c.dtype);
  CAPTURE(dtype_name);
  CAPTURE(c.split);
  CAPTURE(c.masked);
  CAPTURE(c.windowed);
  const Inputs in = MakeInputs(c);
  std::vector<double> expected_out, expected_lse;
  Expected(c, in, expected_out, expected_lse);
  test::ForEachTarget([&] {
    std::vector<float> out, lse;
    Run(c, in, out, lse);
    test::CheckAttention(out, expected_out, lse, expected_lse, out_max, out_mean);
  });
}

TEST_CASE("AttendBlock: rows × key counts on both kernel shapes") {
  // (positions, heads): up to 15 rows take the row-dot path (in groups of
  // at most 6), 16+ the transposed micro-kernel.
  const std::pair<size_t, size_t> shapes[] = {{1, 1}, {1, 4}, {1, 6}, {1, 7}, {1, 8}, {5, 3},
                                              {1, 16}, {16, 1}, {65, 1}, {4, 8}};
  for (auto [positions, heads] : shapes) {
    for (size_t m : {0, 1, 3, 7, 16, 63, 64, 65, 1000, 4099}) {
      Case c;
      c.positions = positions;
      c.heads = heads;
      c.m = m;
      c.seed = positions * 131 + heads * 17 + m;
      Check(c);
    }
  }
}

TEST_CASE("AttendBlock: head dims × dtypes") {
  for (size_t d : {1, 7, 33, 64, 80, 96, 128, 256}) {
    for (DType dtype : test::kAllDTypes) {
      for (size_t heads : {1, 4, 8}) {
        Case c;
        c.d = d;
        c.dtype = dtype;
        c.heads = heads;
        c.positions = heads == 8 ? 3 : 1;
        c.m = 100;
        c.seed = d * 7 + heads;
        Check(c);
      }
    }
  }
}

TEST_CASE("AttendBlock: strides, misalignment and keys fed in uneven blocks") {
  for (DType dtype : test::kAllDTypes) {
    for (size_t misalign : {1, 3, 5}) {
      for (size_t heads : {1, 8}) {
        Case c;
        c.dtype = dtype;
        c.misalign = misalign;
        c.extra_stride = 2 * misalign + 1;
        c.heads = heads;
        c.positions = 5;
        c.m = 300;
        c.split = 17 * misalign;
        c.seed = misalign + heads;
        Check(c);
      }
    }
  }
}

TEST_CASE("AttendBlock: masked rows, including rows that see nothing") {
  for (size_t heads : {1, 4, 8}) {
    for (size_t split : {0, 29}) {
      Case c;
      c.heads = heads;
      c.positions = 9;
      c.m = 200;
      c.masked = true;
      c.split = split;
      c.seed = heads * 3 + split;
      Check(c);
    }
  }
  // Every row masked: zeros and lse = -inf (the reference says so too).
  Case c;
  c.positions = 4;
  c.heads = 2;
  c.m = 10;
  const Inputs in = [&] {
    Inputs x = MakeInputs(c);
    x.visible.assign(c.positions, 0);
    return x;
  }();
  test::ForEachTarget([&] {
    Case masked = c;
    masked.masked = true;
    std::vector<float> out, lse;
    Run(masked, in, out, lse);
    for (float o : out) CHECK(o == 0.0f);
    for (float l : lse) CHECK(l == -std::numeric_limits<float>::infinity());
  });
}

TEST_CASE("AttendBlock: key ranges from a first visible key (sliding windows), including empty ones") {
  // (positions, heads): the row-dot path and the transposed one.
  const std::pair<size_t, size_t> shapes[] = {{9, 1}, {3, 4}, {20, 1}, {4, 8}};
  for (auto [positions, heads] : shapes) {
    for (bool masked : {false, true}) {
      for (size_t split : {0, 29}) {
        for (DType dtype : {DType::kF32, DType::kBF16}) {
          Case c;
          c.positions = positions;
          c.heads = heads;
          c.m = 300;  // more than one kernel pass and row chunk
          c.masked = masked;
          c.windowed = true;
          c.split = split;
          c.dtype = dtype;
          c.seed = positions * 7 + heads + split + masked;
          Check(c);
        }
      }
    }
  }
}

TEST_CASE("AttendBlock: large logits stay finite and exact") {
  for (size_t heads : {1, 8}) {
    for (float scale : {30.0f, 300.0f}) {
      Case c;
      c.heads = heads;
      c.positions = 3;
      c.m = 500;
      c.split = 64;
      c.q_scale = scale;
      c.seed = size_t(scale) + heads;
      CAPTURE(scale);
      // Logits up to ~|q|·|k|/8 ≈ 10^3: f32 rounding of the logits themselves
      // (eps · |logit|) sets the output's error, not the kernel.
      const double budget = 2e-4 * scale / 30.0f;
      Check(c, budget, budget);
    }
  }
}

TEST_CASE("AttendBlock: softmax-off-by-one adds an implicit zero logit") {
  for (size_t heads : {1, 8}) {
    for (float scale : {0.1f, 1.0f, 10.0f}) {  // max below and above 0
      Case c;
      c.heads = heads;
      c.positions = 2;
      c.m = 40;
      c.zero_logit = true;
      c.q_scale = scale;
      c.masked = true;  // includes rows with no keys: output 0, lse = log(1) = 0
      c.seed = heads + size_t(scale * 10);
      Check(c);
    }
  }
}

TEST_CASE("AttendBlock refuses an accumulator prepared for other queries") {
  QueryBlock a, b;
  std::vector<float> q(8 * 64, 1.0f);
  a.Prepare(q.data(), 1, 1, 64, 64, 1.0f);
  b.Prepare(q.data(), 8, 1, 64, 64, 1.0f);
  SoftmaxAccumulator state;
  state.Reset(a);
  std::vector<float> kv(64 * 4, 0.5f);
  const KVBlock block{kv.data(), kv.data(), DType::kF32, 4, 64, 64};
  CHECK_THROWS_AS(AttendBlock(b, block, nullptr, state), Error);
}

}  // namespace
}  // namespace landmark
