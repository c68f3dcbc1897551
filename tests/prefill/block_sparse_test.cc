// SparsePrefill end to end: with every block selected it is the dense
// kernel, bit for bit; with a policy's mask its output is the exact attention
// (double reference) over that mask; bad shapes throw. The kernel's own
// sweeps (random masks, lengths, dtypes): tests/kernels/causal_prefill_test.cc.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "landmark/error.h"
#include "landmark/prefill.h"
#include "src/kernels/dense_attention.h"
#include "tests/reference/attention_reference.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

reference::BlockMaskView View(const BlockMask& mask) { return {mask.bits.data(), mask.blocks, mask.block}; }

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
    options.device = Device::kCpu;  // bit for bit is the CPU's claim (auto may pick a GPU)
    const SparsePrefillResult r = SparsePrefill(q.data(), q_heads, kv, policy.data(), nullptr, options);
    CHECK(masked == dense);
    CHECK(masked_lse == dense_lse);
    CHECK(policy == dense);
    CHECK(r.mask.Density() == (L ? 1.0 : 0.0));
  }
}

TEST_CASE("hardening 09: a block past the sequence (up to 2^64 - 1) is one block, never zero blocks") {
  // ⌈L/B⌉ computed as (L + B − 1)/B wrapped around to 0 blocks: all-zero
  // outputs, and --compare found no error against a dense run as broken.
  const size_t L = 100, kv_heads = 1, q_heads = 2, d = 16;
  const auto q = test::RandomNormal(L * q_heads * d, 21);
  const auto k = test::RandomNormal(L * kv_heads * d, 22), v = test::RandomNormal(L * kv_heads * d, 23);
  const KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), DType::kF32, L, kv_heads, d);
  std::vector<float> one_block(L * q_heads * d);
  CausalPrefill(q.data(), q_heads, kv, one_block.data(), nullptr, PrefillOptions{L, nullptr});
  for (size_t block : {L + 1, size_t(1) << 40, SIZE_MAX}) {
    CAPTURE(block);
    std::vector<float> dense(L * q_heads * d);
    CausalPrefill(q.data(), q_heads, kv, dense.data(), nullptr, PrefillOptions{block, nullptr});
    CHECK(dense == one_block);
    for (PrefillPolicy policy : {PrefillPolicy::kDense, PrefillPolicy::kFlashPrefill, PrefillPolicy::kDma}) {
      SparsePrefillOptions options;
      options.policy = policy;
      options.block = block;
      options.device = Device::kCpu;  // compared bit for bit with the CPU kernel
      std::vector<float> out(L * q_heads * d);
      const SparsePrefillResult r = SparsePrefill(q.data(), q_heads, kv, out.data(), nullptr, options);
      CHECK(r.mask.blocks == 1);
      CHECK(out == one_block);
    }
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
