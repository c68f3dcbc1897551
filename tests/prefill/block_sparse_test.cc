// The fused block-sparse kernel (CausalPrefill with a block mask, and
// SparsePrefill end to end) against the independent double reference: random
// masks of every density, rows that keep only the fixed blocks, ragged last
// blocks, L < B, GQA, f32/f16/bf16; with every block selected it is the dense
// kernel, bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "landmark/error.h"
#include "landmark/prefill.h"
#include "tests/reference/attention_reference.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

struct Case {
  size_t L = 200, kv_heads = 2, group = 2, d = 64, block = 64;
  DType dtype = DType::kF32;
  double keep = 0.3;  // probability of each off-fixed block; 0: rows keep only block 0 and the diagonal
  uint64_t seed = 1;
};

reference::BlockMaskView View(const BlockMask& mask) { return {mask.bits.data(), mask.blocks, mask.block}; }

BlockMask RandomMask(const Case& c) {
  BlockMask mask = DenseMask(c.L, c.kv_heads, c.block);
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<double> uniform;
  for (size_t h = 0; h < c.kv_heads; ++h) {
    for (size_t i = 0; i < mask.blocks; ++i) {
      for (size_t j = 1; j < i; ++j) mask.bits[(h * mask.blocks + i) * mask.blocks + j] = uniform(rng) < c.keep;
    }
  }
  return mask;
}

void CheckMasked(const Case& c, bool all_targets = true) {
  CAPTURE(c.L);
  CAPTURE(c.block);
  CAPTURE(c.group);
  CAPTURE(c.keep);
  const std::string dtype_name = Name(c.dtype);
  CAPTURE(dtype_name);
  const size_t q_heads = c.kv_heads * c.group;
  const auto q = test::RandomNormal(c.L * q_heads * c.d, c.seed);
  // Keys scaled up: peaked softmax rows, so a dropped block changes the output visibly.
  const auto k = test::Store(test::RandomNormal(c.L * c.kv_heads * c.d, c.seed + 1, 1.5f), c.dtype, 3);
  const auto v = test::Store(test::RandomNormal(c.L * c.kv_heads * c.d, c.seed + 2), c.dtype, 1);
  const BlockMask mask = RandomMask(c);
  const reference::BlockMaskView context = View(mask);
  std::vector<double> expected, expected_lse;
  reference::CausalPrefill(test::ToDouble(q).data(), k.values.data(), v.values.data(), c.L, q_heads,
                           c.kv_heads, c.d, expected, expected_lse, reference::BlockMaskFilter, &context);
  const KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), c.dtype, c.L, c.kv_heads, c.d);
  test::OnTargets(all_targets, [&] {
    std::vector<float> out(c.L * q_heads * c.d, -1.0f), lse(c.L * q_heads, -1.0f);
    CausalPrefill(q.data(), q_heads, kv, out.data(), lse.data(), PrefillOptions{c.block, mask.bits.data()});
    test::CheckAttention(out, expected, lse, expected_lse);
  });
}

TEST_CASE("Block-sparse prefill: random masks × lengths (L < B, ragged, multiples) × GQA") {
  for (size_t L : {0, 1, 5, 40, 63, 64, 65, 128, 129, 333}) {
    for (size_t group : {1, 4}) {
      for (double keep : {0.0, 0.3, 0.8}) {
        Case c;
        c.L = L;
        c.group = group;
        c.keep = keep;
        c.block = 32;
        c.seed = L * 100 + group * 10 + size_t(keep * 10);
        CheckMasked(c, L == 129);
      }
    }
  }
}

TEST_CASE("Block-sparse prefill: dtypes × block sizes × head dims") {
  for (DType dtype : test::kAllDTypes) {
    for (size_t block : {1, 7, 16, 100, 300}) {
      Case c;
      c.dtype = dtype;
      c.block = block;
      c.L = 250;
      c.seed = block;
      CheckMasked(c, false);
    }
    for (size_t d : {16, 80, 128}) {
      Case c;
      c.dtype = dtype;
      c.d = d;
      c.L = 300;
      c.block = 16;
      c.seed = d;
      CheckMasked(c, d == 80);
    }
  }
  Case longer;  // many kernel pieces (runs of up to 256 keys) and prefetches per row
  longer.L = 2500;
  longer.kv_heads = 1;
  longer.group = 1;
  longer.block = 32;
  longer.keep = 0.5;
  CheckMasked(longer, false);
}

TEST_CASE("Every block selected: the sparse kernel is the dense kernel, bit for bit") {
  for (size_t L : {0, 1, 100, 700}) {
    const size_t kv_heads = 2, q_heads = 8, d = 64;
    const auto q = test::RandomNormal(L * q_heads * d, 3);
    const auto k = test::RandomNormal(L * kv_heads * d, 4), v = test::RandomNormal(L * kv_heads * d, 5);
    const KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), DType::kF32, L, kv_heads, d);
    std::vector<float> dense(L * q_heads * d), masked(L * q_heads * d), policy(L * q_heads * d);
    std::vector<float> dense_lse(L * q_heads), masked_lse(L * q_heads);
    CausalPrefill(q.data(), q_heads, kv, dense.data(), dense_lse.data());
    const BlockMask all = DenseMask(L, kv_heads, 64);
    CausalPrefill(q.data(), q_heads, kv, masked.data(), masked_lse.data(), PrefillOptions{64, all.bits.data()});
    SparsePrefillOptions options;
    options.policy = PrefillPolicy::kDense;
    const SparsePrefillResult r = SparsePrefill(q.data(), q_heads, kv, policy.data(), nullptr, options);
    CHECK(masked == dense);
    CHECK(masked_lse == dense_lse);
    CHECK(policy == dense);
    CHECK(r.mask.Density() == (L ? 1.0 : 0.0));
  }
}

TEST_CASE("SparsePrefill: the output is the exact attention over the policy's own mask") {
  const size_t L = 500, kv_heads = 1, q_heads = 3, d = 32;
  const auto q = test::RandomNormal(L * q_heads * d, 8);
  const auto k = test::Store(test::RandomNormal(L * kv_heads * d, 9, 2.0f), DType::kBF16);
  const auto v = test::Store(test::RandomNormal(L * kv_heads * d, 10), DType::kBF16);
  const KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), DType::kBF16, L, kv_heads, d);
  for (PrefillPolicy policy : {PrefillPolicy::kFlashPrefill, PrefillPolicy::kDma}) {
    SparsePrefillOptions options;
    options.policy = policy;
    options.block = 32;
    options.flashprefill.delta = 0.05f;  // sparse on random inputs too
    std::vector<float> out(L * q_heads * d), lse(L * q_heads);
    const SparsePrefillResult r = SparsePrefill(q.data(), q_heads, kv, out.data(), lse.data(), options);
    CHECK(r.mask.Density() < 0.8);
    CHECK(r.mask_seconds >= 0);
    CHECK(r.attention_seconds >= 0);
    const reference::BlockMaskView context = View(r.mask);
    std::vector<double> expected, expected_lse;
    reference::CausalPrefill(test::ToDouble(q).data(), k.values.data(), v.values.data(), L, q_heads, kv_heads,
                             d, expected, expected_lse, reference::BlockMaskFilter, &context);
    test::CheckAttention(out, expected, lse, expected_lse);
  }
}

TEST_CASE("Block-sparse prefill rejects bad shapes with a message") {
  const auto data = test::RandomNormal(64 * 8, 1);
  std::vector<float> out(64 * 8);
  const KVSequence kv = KVSequence::TokenMajor(data.data(), data.data(), DType::kF32, 8, 2, 16);
  SparsePrefillOptions options;
  CHECK_THROWS_WITH_AS(SparsePrefill(data.data(), 3, kv, out.data(), nullptr, options),
                       doctest::Contains("multiple of kv heads"), Error);
  options.block = 0;
  CHECK_THROWS_WITH_AS(SparsePrefill(data.data(), 2, kv, out.data(), nullptr, options),
                       doctest::Contains("block size"), Error);
  KVSequence no_keys = kv;
  no_keys.k = nullptr;
  options.block = 4;
  CHECK_THROWS_WITH_AS(SparsePrefill(data.data(), 2, no_keys, out.data(), nullptr, options),
                       doctest::Contains("null"), Error);
}

}  // namespace
}  // namespace landmark
