// Each mask policy against a straightforward double-precision reference of
// its rule (tests/prefill/mask_reference.h), on random and structured inputs,
// every Highway target for the small cases; masks are causal and keep block
// 0 and the diagonal; bad options throw with a message naming the option.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "landmark/prefill.h"
#include "testing/synthetic_prefill.h"
#include "tests/prefill/mask_reference.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

constexpr double kTolerance = 1e-3;  // logit units (importance units for DMA's value scores)

struct Case {
  size_t L = 300, kv_heads = 2, group = 2, d = 32, block = 16;
  DType dtype = DType::kF32;
  uint64_t seed = 1;
  bool structured = false;  // the synthetic mixture instead of N(0, 1)
};

struct Inputs {
  std::vector<float> q;
  test::Stored k, v;
  reference::PrefillInputs exact;
  KVSequence kv;
};

Inputs MakeInputs(const Case& c) {
  Inputs in;
  const size_t q_heads = c.kv_heads * c.group;
  std::vector<float> k, v;
  if (c.structured) {
    prefill::SyntheticOptions s;
    s.tokens = c.L;
    s.q_heads = q_heads;
    s.kv_heads = c.kv_heads;
    s.d = c.d;
    s.seed = c.seed;
    prefill::SyntheticPrefill p = prefill::MakeSyntheticPrefill(s);
    in.q = std::move(p.q);
    k = std::move(p.k);
    v = std::move(p.v);
  } else {
    in.q = test::RandomNormal(c.L * q_heads * c.d, c.seed);
    k = test::RandomNormal(c.L * c.kv_heads * c.d, c.seed + 1);
    v = test::RandomNormal(c.L * c.kv_heads * c.d, c.seed + 2, 0.3f);
    // Value norms that differ between tokens, so the value-norm ranking means something.
    for (size_t t = 0; t < c.L; ++t) {
      for (size_t x = 0; x < c.kv_heads * c.d; ++x) v[t * c.kv_heads * c.d + x] *= 1.0f + float((t * 7919) % 13);
    }
  }
  in.k = test::Store(k, c.dtype, 1);
  in.v = test::Store(v, c.dtype, 2);
  in.exact = {test::ToDouble(in.q), in.k.values, in.v.values, c.L, q_heads, c.kv_heads, c.d};
  in.kv = KVSequence::TokenMajor(in.k.data(), in.v.data(), c.dtype, c.L, c.kv_heads, c.d);
  return in;
}

// Causal, block 0 and the diagonal kept, and within the reference's bounds.
void CheckMask(const BlockMask& mask, const reference::MaskBounds& expected, size_t L, size_t kv_heads,
               size_t block) {
  const size_t nb = (L + block - 1) / block;
  REQUIRE(mask.blocks == nb);
  REQUIRE(mask.heads == kv_heads);
  REQUIRE(mask.bits.size() == kv_heads * nb * nb);
  REQUIRE(expected.must.size() == mask.bits.size());
  size_t below = 0, above = 0, acausal = 0;
  for (size_t h = 0; h < kv_heads; ++h) {
    for (size_t i = 0; i < nb; ++i) {
      CHECK(mask.selected(h, i, 0));
      CHECK(mask.selected(h, i, i));
      for (size_t j = 0; j < nb; ++j) {
        const size_t at = (h * nb + i) * nb + j;
        const bool bit = mask.bits[at] != 0;
        acausal += j > i && bit;
        below += expected.must[at] && !bit;
        above += bit && !expected.may[at];
      }
    }
  }
  CHECK(acausal == 0);
  CHECK(below == 0);  // kept by the rule but missing
  CHECK(above == 0);  // kept although the rule drops it
}

void CheckFlashPrefill(const Case& c, const FlashPrefillOptions& o, bool all_targets = true) {
  CAPTURE(c.L);
  CAPTURE(c.block);
  CAPTURE(c.group);
  CAPTURE(c.structured);
  const Inputs in = MakeInputs(c);
  const auto expected = reference::FlashPrefillMask(in.exact, c.block, o, kTolerance);
  test::OnTargets(all_targets, [&] {
    const BlockMask mask = FlashPrefillMask(in.q.data(), c.kv_heads * c.group, in.kv, c.block, o);
    CheckMask(mask, expected, c.L, c.kv_heads, c.block);
  });
}

void CheckDma(const Case& c, const DmaOptions& o, bool all_targets = true) {
  CAPTURE(c.L);
  CAPTURE(c.block);
  CAPTURE(c.group);
  CAPTURE(c.structured);
  const Inputs in = MakeInputs(c);
  const auto expected = reference::DmaMask(in.exact, c.block, o, kTolerance);
  test::OnTargets(all_targets, [&] {
    const BlockMask mask = DmaMask(in.q.data(), c.kv_heads * c.group, in.kv, c.block, o);
    CheckMask(mask, expected, c.L, c.kv_heads, c.block);
  });
}

TEST_CASE("FlashPrefill: delta threshold, vertical and slash match the rule") {
  for (size_t L : {0, 1, 15, 16, 17, 40, 300, 1000}) {
    for (size_t group : {1, 4}) {
      Case c;
      c.L = L;
      c.group = group;
      c.seed = L + group;
      CheckFlashPrefill(c, {}, L <= 300);
    }
  }
  for (DType dtype : test::kAllDTypes) {
    Case c;
    c.dtype = dtype;
    c.block = 64;
    c.L = 2000;  // 32 blocks, ragged last
    c.d = 64;
    CheckFlashPrefill(c, {}, false);
  }
}

TEST_CASE("FlashPrefill: every option moves the mask as the rule says") {
  Case c;
  c.L = 700;
  c.block = 20;
  FlashPrefillOptions o;
  for (float delta : {0.0f, 0.05f, 0.3f, 100.0f}) {
    o.delta = delta;
    CheckFlashPrefill(c, o, false);
  }
  o = {};
  o.threshold = FlashPrefillOptions::Threshold::kAlpha;
  for (float alpha : {0.0f, 0.15f, 0.5f, 1.0f}) {
    o.alpha = alpha;
    CheckFlashPrefill(c, o, false);
  }
  o = {};
  for (double vertical : {0.0, 0.02, 0.2, 1.0}) {
    o.vertical_fraction = vertical;
    o.slash_count = 0;
    CheckFlashPrefill(c, o, false);
  }
  for (size_t slash : {1, 4, 100}) {
    o.vertical_fraction = 0;
    o.slash_count = slash;
    CheckFlashPrefill(c, o, false);
  }
}

TEST_CASE("FlashPrefill on structured inputs (the synthetic mixture) matches the rule") {
  Case c;
  c.structured = true;
  c.L = 4096;
  c.d = 64;
  c.block = 64;
  c.kv_heads = 1;
  c.group = 2;
  CheckFlashPrefill(c, {}, false);
}

TEST_CASE("DMA: value-norm, pooled q·k and learned importance match the rule") {
  for (size_t L : {0, 1, 15, 17, 300, 1000}) {
    for (auto importance : {DmaOptions::Importance::kValueNorm, DmaOptions::Importance::kPooledQK}) {
      Case c;
      c.L = L;
      c.seed = L;
      DmaOptions o;
      o.importance = importance;
      CheckDma(c, o, L <= 300);
    }
  }
  Case c;
  DmaOptions learned;
  learned.importance = DmaOptions::Importance::kLearned;
  learned.weights = test::RandomNormal(c.kv_heads * c.d, 77, 0.2f);
  for (DType dtype : test::kAllDTypes) {
    c.dtype = dtype;
    CheckDma(c, learned, dtype == DType::kF32);
    CheckDma(c, {}, false);
  }
}

TEST_CASE("DMA: sparsity and the positional patterns match the rule") {
  Case c;
  c.L = 800;
  c.block = 16;
  for (double sparsity : {0.0, 0.5, 0.9, 0.97, 1.0}) {
    DmaOptions o;
    o.sparsity = sparsity;
    CheckDma(c, o, false);
  }
  DmaOptions o;
  o.sparsity = 1.0;  // one content block per row: the patterns are visible
  for (size_t window : {0, 1, 2, 7, 100}) {
    o.window = window;
    CheckDma(c, o, false);
  }
  o.window = 0;
  for (size_t stride : {1, 3, 8}) {
    o.stride = stride;
    CheckDma(c, o, false);
  }
  o.stride = 0;
  for (size_t dilation : {1, 2, 5}) {
    for (size_t count : {0, 1, 4}) {
      o.dilation = dilation;
      o.dilated_count = count;
      CheckDma(c, o, false);
    }
  }
}

TEST_CASE("Dense mask: every causal block, density 1") {
  for (size_t L : {0, 1, 63, 64, 65, 1000}) {
    const BlockMask mask = DenseMask(L, 3, 64);
    const size_t nb = (L + 63) / 64;
    CHECK(mask.SelectedBlocks() == 3 * nb * (nb + 1) / 2);
    CHECK(mask.Density() == (L ? 1.0 : 0.0));
    CHECK(mask.AttendedPairs() == doctest::Approx(3.0 * double(L) * double(L + 1) / 2));
    for (size_t h = 0; h < 3; ++h) {
      for (size_t i = 0; i < nb; ++i) {
        for (size_t j = 0; j < nb; ++j) CHECK(mask.selected(h, i, j) == (j <= i));
      }
    }
  }
}

TEST_CASE("Policies reject bad inputs and options with a message naming them") {
  const auto data = test::RandomNormal(64 * 8, 1);
  const KVSequence kv = KVSequence::TokenMajor(data.data(), data.data(), DType::kF32, 16, 2, 16);
  CHECK_THROWS_WITH_AS(FlashPrefillMask(data.data(), 3, kv, 16), doctest::Contains("multiple of kv heads"), Error);
  CHECK_THROWS_WITH_AS(DmaMask(data.data(), 5, kv, 16), doctest::Contains("multiple of kv heads"), Error);
  CHECK_THROWS_WITH_AS(FlashPrefillMask(data.data(), 2, kv, 0), doctest::Contains("block size"), Error);
  CHECK_THROWS_WITH_AS(DenseMask(16, 2, 0), doctest::Contains("block size"), Error);
  CHECK_THROWS_WITH_AS(FlashPrefillMask(nullptr, 2, kv, 4), doctest::Contains("queries are null"), Error);
  DmaOptions qk;
  qk.importance = DmaOptions::Importance::kPooledQK;
  CHECK_THROWS_WITH_AS(DmaMask(nullptr, 2, kv, 4, qk), doctest::Contains("queries are null"), Error);
  CHECK_NOTHROW(DmaMask(nullptr, 2, kv, 4));  // value norms need no queries

  FlashPrefillOptions f;
  f.delta = -1;  // the messages of the option table (src/prefill/option_ranges.h)
  CHECK_THROWS_WITH_AS(FlashPrefillMask(data.data(), 2, kv, 4, f), "prefill.flashprefill.delta: must be >= 0 (got -1)",
                       Error);
  f.delta = NAN;
  CHECK_THROWS_WITH_AS(FlashPrefillMask(data.data(), 2, kv, 4, f), doctest::Contains("delta"), Error);
  f = {};
  f.alpha = 1.5f;
  CHECK_THROWS_WITH_AS(FlashPrefillMask(data.data(), 2, kv, 4, f),
                       "prefill.flashprefill.alpha: must be in [0, 1] (got 1.5)", Error);
  f = {};
  f.vertical_fraction = -0.1;
  CHECK_THROWS_WITH_AS(FlashPrefillMask(data.data(), 2, kv, 4, f), doctest::Contains("vertical"), Error);
  DmaOptions d;
  d.sparsity = 1.2;
  CHECK_THROWS_WITH_AS(DmaMask(data.data(), 2, kv, 4, d), doctest::Contains("sparsity"), Error);
  d.sparsity = NAN;
  CHECK_THROWS_WITH_AS(DmaMask(data.data(), 2, kv, 4, d), doctest::Contains("sparsity"), Error);
  d = {};
  d.importance = DmaOptions::Importance::kLearned;
  d.weights.resize(7);
  CHECK_THROWS_WITH_AS(DmaMask(data.data(), 2, kv, 4, d), doctest::Contains("weights"), Error);

  CHECK(ParsePrefillPolicy("flashprefill") == PrefillPolicy::kFlashPrefill);
  CHECK(ParsePrefillPolicy("dma") == PrefillPolicy::kDma);
  CHECK(ParsePrefillPolicy("dense") == PrefillPolicy::kDense);
  CHECK_THROWS_WITH_AS(ParsePrefillPolicy("sparse"), doctest::Contains("unknown prefill policy 'sparse'"), Error);
}

}  // namespace
}  // namespace landmark
