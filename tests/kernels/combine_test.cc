// LSE merge and weighted sum against the exact reference, and the identity
// that makes the joint mode exact: attention over a split key set, merged by
// log-sum-exp, equals attention over all keys.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "src/kernels/kernels.h"
#include "tests/reference/attention_reference.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

TEST_CASE("MergeByLse matches the reference, with -inf parts and all -inf rows") {
  for (size_t parts : {1, 2, 5, 64}) {
    for (size_t rows : {1, 3, 8}) {
      for (size_t d : {1, 7, 64, 130}) {
        auto outs = test::RandomNormal(parts * rows * d, parts * 100 + rows * 10 + d);
        auto lses = test::RandomNormal(parts * rows, parts + rows + d, 5.0f);
        for (size_t i = 0; i < parts; ++i) {
          if (i % 3 == 1) lses[i * rows + 0] = kNegInf;           // a part that saw nothing
          lses[i * rows + rows - 1] = rows > 1 ? kNegInf : lses[i * rows + rows - 1];  // all -inf row
        }
        std::vector<double> expected(rows * d), expected_lse(rows);
        reference::MergeByLse(test::ToDouble(outs).data(), test::ToDouble(lses).data(), parts, rows,
                              d, expected.data(), expected_lse.data());
        test::ForEachTarget([&] {
          std::vector<float> out(rows * d, -7.0f), lse(rows, -7.0f);
          MergeByLse(outs.data(), lses.data(), parts, rows, d, out.data(), lse.data());
          test::CheckAttention(out, expected, lse, expected_lse);
          if (rows > 1) {
            CHECK(lse[rows - 1] == kNegInf);
            for (size_t k = 0; k < d; ++k) CHECK(out[(rows - 1) * d + k] == 0.0f);
          }
        });
      }
    }
  }
}

TEST_CASE("WeightedSum is Σ w_i o_i") {
  for (size_t parts : {1, 4, 33}) {
    for (size_t d : {5, 64, 128}) {
      const size_t rows = 3;
      const auto outs = test::RandomNormal(parts * rows * d, parts * d);
      const auto weights = test::RandomNormal(parts * rows, parts + d);
      test::ForEachTarget([&] {
        std::vector<float> out(rows * d);
        WeightedSum(outs.data(), weights.data(), parts, rows, d, out.data());
        test::ErrorStats error;
        for (size_t r = 0; r < rows; ++r) {
          for (size_t k = 0; k < d; ++k) {
            double expected = 0;
            for (size_t i = 0; i < parts; ++i) expected += double(weights[i * rows + r]) * outs[(i * rows + r) * d + k];
            error.Add(out[r * d + k], expected);
          }
        }
        test::CheckKernelError(error);
      });
    }
  }
}

TEST_CASE("Attention over key parts merged by LSE equals attention over all keys") {
  const size_t d = 64, heads = 4, keys = 1000;
  const size_t cuts[] = {0, 1, 64, 65, 500, 999, 1000};  // includes empty parts
  const auto q = test::RandomNormal(heads * d, 1);
  const auto k = test::RandomNormal(keys * d, 2);
  const auto v = test::RandomNormal(keys * d, 3);
  std::vector<double> expected(heads * d), expected_lse(heads);
  for (size_t h = 0; h < heads; ++h) {
    reference::Attention(test::ToDouble(q).data() + h * d, test::ToDouble(k).data(),
                         test::ToDouble(v).data(), keys, d, 1.0 / 8.0, false, &expected[h * d],
                         &expected_lse[h]);
  }
  test::ForEachTarget([&] {
    const size_t parts = std::size(cuts) - 1;
    std::vector<float> outs(parts * heads * d), lses(parts * heads);
    QueryBlock queries;
    SoftmaxAccumulator state;
    queries.Prepare(q.data(), 1, heads, 0, d, 1.0f / 8.0f);
    for (size_t i = 0; i < parts; ++i) {
      state.Reset(queries);
      const KVBlock block{k.data() + cuts[i] * d, v.data() + cuts[i] * d, DType::kF32,
                          cuts[i + 1] - cuts[i], d, d};
      AttendBlock(queries, block, nullptr, state);
      state.Finish(outs.data() + i * heads * d, 0, lses.data() + i * heads, 0);
    }
    std::vector<float> out(heads * d), lse(heads);
    MergeByLse(outs.data(), lses.data(), parts, heads, d, out.data(), lse.data());
    test::CheckAttention(out, expected, lse, expected_lse);
  });
}

}  // namespace
}  // namespace landmark
