// The causal (block-sparse) prefill kernel against the exact reference:
// lengths (L = 0, 1, L < B, ragged last blocks, multiples of B), GQA groups,
// dtypes, head dims, block sizes, and random block masks of every density
// (down to rows that keep only block 0 and the diagonal); queries after
// cached tokens (past_tokens) and sliding windows.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "src/kernels/dense_attention.h"
#include "landmark/error.h"
#include "landmark/prefill.h"
#include "tests/reference/attention_reference.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

struct PrefillCase {
  size_t L = 100, kv_heads = 2, group = 2, d = 64, block = 64;
  DType dtype = DType::kF32;
  // Probability of each key block outside block 0 and the diagonal; 1: no
  // mask (the dense path), 0: rows keep only the fixed blocks.
  double keep = 1.0;
  size_t past = 0;    // the L queries follow `past` cached tokens (kv holds past + L)
  size_t window = 0;  // sliding window (0: none)
  uint64_t seed = 1;
};

// Key `key` is in the window of position `query`.
bool InWindow(const void* context, size_t, size_t query, size_t key) {
  return key + *static_cast<const size_t*>(context) > query;
}

BlockMask RandomMask(const PrefillCase& c) {
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

void CheckPrefill(const PrefillCase& c, bool all_targets = true) {
  CAPTURE(c.L);
  CAPTURE(c.group);
  CAPTURE(c.d);
  CAPTURE(c.block);
  CAPTURE(c.keep);
  CAPTURE(c.past);
  CAPTURE(c.window);
  const std::string dtype_name = Name(c.dtype);
  CAPTURE(dtype_name);
  const size_t q_heads = c.kv_heads * c.group, N = c.past + c.L;
  // Queries for all N positions (the reference's input); the kernel gets the last L.
  const auto q = test::RandomNormal(N * q_heads * c.d, c.seed);
  // Keys scaled up: peaked softmax rows, so a dropped block changes the output visibly.
  const auto k = test::Store(test::RandomNormal(N * c.kv_heads * c.d, c.seed + 1, 1.5f), c.dtype, 3);
  const auto v = test::Store(test::RandomNormal(N * c.kv_heads * c.d, c.seed + 2), c.dtype, 1);
  const bool masked = c.keep < 1.0;
  const BlockMask mask = RandomMask(c);
  // A masked case must drop blocks, or it would only repeat a dense one.
  if (masked && mask.blocks > 2 && c.keep < 0.5) CHECK(mask.Density() < 1.0);
  const reference::BlockMaskView context{mask.bits.data(), mask.blocks, mask.block};
  std::vector<double> expected, expected_lse;
  reference::CausalPrefill(test::ToDouble(q).data(), k.values.data(), v.values.data(), N, q_heads,
                           c.kv_heads, c.d, expected, expected_lse,
                           masked ? reference::BlockMaskFilter : c.window ? InWindow : nullptr,
                           masked ? static_cast<const void*>(&context) : &c.window);
  expected.erase(expected.begin(), expected.begin() + c.past * q_heads * c.d);  // the last L positions
  expected_lse.erase(expected_lse.begin(), expected_lse.begin() + c.past * q_heads);
  const KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), c.dtype, N, c.kv_heads, c.d);
  test::OnTargets(all_targets, [&] {
    std::vector<float> out(c.L * q_heads * c.d, -1.0f), lse(c.L * q_heads, -1.0f);
    PrefillOptions options{c.block, masked ? mask.bits.data() : nullptr};
    options.past_tokens = c.past;
    options.window = c.window;
    CausalPrefill(q.data() + c.past * q_heads * c.d, q_heads, kv, out.data(), lse.data(), options);
    test::CheckAttention(out, expected, lse, expected_lse);
  });
}

TEST_CASE("CausalPrefill: lengths × GQA groups") {
  for (size_t L : {0, 1, 3, 7, 16, 63, 64, 65, 200, 1000}) {
    for (size_t group : {1, 4, 8}) {
      PrefillCase c;
      c.L = L;
      c.group = group;
      c.kv_heads = group == 8 ? 1 : 2;
      c.seed = L * 10 + group;
      CheckPrefill(c, L <= 200);
    }
  }
  PrefillCase longest;
  longest.L = 4099;
  longest.kv_heads = 1;
  longest.group = 1;
  CheckPrefill(longest, false);
}

TEST_CASE("CausalPrefill: dtypes × head dims × block sizes, dense and masked") {
  for (DType dtype : test::kAllDTypes) {
    for (size_t d : {16, 64, 80, 96, 128, 256}) {
      for (double keep : {1.0, 0.3}) {
        PrefillCase c;
        c.dtype = dtype;
        c.d = d;
        c.L = 150;
        c.block = 16;
        c.keep = keep;
        c.seed = d;
        CheckPrefill(c, d == 64 || d == 80);
      }
    }
    for (size_t block : {1, 7, 16, 33, 100, 128, 300}) {
      for (double keep : {1.0, 0.3}) {
        PrefillCase c;
        c.dtype = dtype;
        c.block = block;
        c.L = 250;
        c.keep = keep;
        c.seed = block;
        CheckPrefill(c, false);
      }
    }
  }
}

TEST_CASE("CausalPrefill: random block masks × lengths (L < B, ragged, multiples) × GQA") {
  for (size_t L : {0, 1, 5, 40, 63, 64, 65, 128, 129, 333}) {
    for (size_t group : {1, 4}) {
      for (double keep : {0.0, 0.3, 0.8}) {
        PrefillCase c;
        c.L = L;
        c.group = group;
        c.keep = keep;
        c.block = 32;
        c.seed = L * 100 + group * 10 + size_t(keep * 10);
        CheckPrefill(c, L == 129);
      }
    }
  }
  PrefillCase longer;  // many kernel pieces (runs of up to 256 keys) and prefetches per row
  longer.L = 2500;
  longer.kv_heads = 1;
  longer.group = 1;
  longer.block = 32;
  longer.keep = 0.5;
  CheckPrefill(longer, false);
}

TEST_CASE("CausalPrefill: queries after cached tokens (past_tokens) × sliding windows") {
  // past = 0 with a window; a prompt after a cache, with and without one;
  // windows shorter than a block, longer than the context, of one token.
  for (size_t past : {0, 1, 37, 64, 300}) {
    for (size_t L : {1, 2, 16, 63, 130}) {
      for (size_t window : {0, 1, 5, 16, 70, 1000}) {
        if (past == 0 && window == 0) continue;  // the cases above
        PrefillCase c;
        c.past = past;
        c.L = L;
        c.window = window;
        c.block = 32;
        c.group = past % 2 ? 4 : 1;
        c.seed = past * 1000 + L * 10 + window;
        CheckPrefill(c, L == 16 && (window == 5 || window == 70));
      }
    }
  }
  for (DType dtype : {DType::kF16, DType::kBF16}) {
    PrefillCase c;
    c.dtype = dtype;
    c.past = 100;
    c.L = 90;
    c.window = 40;
    c.block = 16;
    CheckPrefill(c, false);
  }
  PrefillCase longer;  // several kernel pieces before the block's own keys
  longer.past = 1500;
  longer.L = 200;
  longer.window = 900;
  longer.kv_heads = 1;
  longer.group = 2;
  CheckPrefill(longer, false);
}

TEST_CASE("CausalPrefill refuses a mask with past tokens or a window, and more past tokens than kv tokens") {
  const std::vector<float> x(4 * 2 * 8, 0.5f);
  const KVSequence kv = KVSequence::TokenMajor(x.data(), x.data(), DType::kF32, 4, 2, 8);
  std::vector<float> out(4 * 2 * 8);
  const std::vector<uint8_t> mask(2, 1);
  PrefillOptions options{4, mask.data()};
  options.window = 2;
  CHECK_THROWS_WITH_AS(CausalPrefill(x.data(), 2, kv, out.data(), nullptr, options),
                       doctest::Contains("block mask goes with neither"), Error);
  PrefillOptions past;
  past.past_tokens = 5;
  CHECK_THROWS_WITH_AS(CausalPrefill(x.data(), 2, kv, out.data(), nullptr, past),
                       doctest::Contains("past_tokens (5) exceeds the 4 kv tokens"), Error);
}

}  // namespace
}  // namespace landmark
