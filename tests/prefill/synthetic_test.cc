// The structured generators: seeded and reproducible, the planted logits
// where the documentation says, planted-key recall, and FlashPrefill finding
// the planted blocks of the mixture with an output close to dense.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "landmark/error.h"
#include "landmark/prefill.h"
#include "src/kernels/dense_attention.h"
#include "testing/synthetic_prefill.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

using prefill::SyntheticOptions;
using prefill::SyntheticPattern;

double Logit(const prefill::SyntheticPrefill& p, const SyntheticOptions& o, size_t t, size_t h, size_t s) {
  const size_t kv_head = h / (o.q_heads / o.kv_heads);
  double dot = 0;
  for (size_t x = 0; x < o.d; ++x) {
    dot += double(p.q[(t * o.q_heads + h) * o.d + x]) * p.k[(s * o.kv_heads + kv_head) * o.d + x];
  }
  return dot / std::sqrt(double(o.d));
}

TEST_CASE("Synthetic inputs are fixed by their options and seed") {
  SyntheticOptions o;
  o.tokens = 700;
  o.q_heads = 4;
  o.kv_heads = 2;
  o.d = 32;
  for (SyntheticPattern p : {SyntheticPattern::kRandom, SyntheticPattern::kMixture}) {
    o.pattern = p;
    const auto a = prefill::MakeSyntheticPrefill(o), b = prefill::MakeSyntheticPrefill(o);
    CHECK(a.q == b.q);
    CHECK(a.k == b.k);
    CHECK(a.v == b.v);
    o.seed = 2;
    CHECK(prefill::MakeSyntheticPrefill(o).k != a.k);
    o.seed = 1;
  }
  CHECK(prefill::ParseSyntheticPattern("slash") == SyntheticPattern::kSlash);
  CHECK_THROWS_WITH_AS(prefill::ParseSyntheticPattern("zigzag"), doctest::Contains("zigzag"), Error);
  o.d = 2;
  CHECK_THROWS_WITH_AS(prefill::MakeSyntheticPrefill(o), doctest::Contains("head dim"), Error);
}

TEST_CASE("Planted logits: sink, local and slash peaks stand kPlantedLogit above the background") {
  SyntheticOptions o;
  o.tokens = 8192;
  o.q_heads = 2;
  o.kv_heads = 1;
  o.d = 128;
  o.pattern = SyntheticPattern::kMixture;
  const auto p = prefill::MakeSyntheticPrefill(o);
  const double peak = prefill::kPlantedLogit;
  for (size_t t : {5000, 8191}) {
    for (size_t h = 0; h < 2; ++h) {
      CHECK(Logit(p, o, t, h, 0) > peak - 3);                            // sink (+ codes: noise)
      CHECK(Logit(p, o, t, h, t) > peak - 3);                            // local, Δ = 0
      CHECK(Logit(p, o, t, h, t - prefill::kSlashPeriod) > peak - 3);    // slash, Δ = period
      double background = 0;
      for (size_t s = 100; s < 1100; ++s) background += Logit(p, o, t, h, s) / 1000;
      CHECK(std::fabs(background) < 2);
    }
  }
  CHECK(p.sink_tokens == prefill::kSinkTokens);
  CHECK(p.planted_offsets.size() == 2);
}

TEST_CASE("Planted recall: 1 for dense, 0 for the fixed blocks alone, none for random") {
  SyntheticOptions o;
  o.tokens = 6000;
  o.q_heads = 1;
  o.d = 16;
  o.pattern = SyntheticPattern::kSlash;
  const auto p = prefill::MakeSyntheticPrefill(o);
  CHECK(prefill::PlantedRecall(p, DenseMask(o.tokens, 1, 64)) == 1.0);
  DmaOptions fixed_only;
  fixed_only.sparsity = 1.0;
  fixed_only.window = 0;
  const KVSequence kv = KVSequence::TokenMajor(p.k.data(), p.v.data(), DType::kF32, o.tokens, 1, o.d);
  const BlockMask sparse = DmaMask(p.q.data(), 1, kv, 64, fixed_only);
  CHECK(prefill::PlantedRecall(p, sparse) < 0.1);
  o.pattern = SyntheticPattern::kRandom;
  CHECK(std::isnan(prefill::PlantedRecall(prefill::MakeSyntheticPrefill(o), sparse)));
}

TEST_CASE("FlashPrefill on the mixture: sparse, planted blocks kept, output close to dense") {
  SyntheticOptions o;
  o.tokens = 8192;
  o.q_heads = 2;
  o.kv_heads = 1;
  o.d = 128;
  const auto p = prefill::MakeSyntheticPrefill(o);
  const KVSequence kv = KVSequence::TokenMajor(p.k.data(), p.v.data(), DType::kF32, o.tokens, 1, o.d);
  std::vector<float> dense(p.q.size()), sparse(p.q.size());
  CausalPrefill(p.q.data(), o.q_heads, kv, dense.data());
  const SparsePrefillResult r = SparsePrefill(p.q.data(), o.q_heads, kv, sparse.data(), nullptr, {});
  double error = 0, norm = 0;
  for (size_t x = 0; x < dense.size(); ++x) {
    error += (double(sparse[x]) - dense[x]) * (double(sparse[x]) - dense[x]);
    norm += double(dense[x]) * dense[x];
  }
  const double relative = std::sqrt(error / norm), recall = prefill::PlantedRecall(p, r.mask);
  CAPTURE(r.mask.Density());
  CAPTURE(relative);
  CAPTURE(recall);
  CHECK(r.mask.Density() < 0.25);
  CHECK(recall > 0.8);
  CHECK(relative < 3e-2);
}

}  // namespace
}  // namespace landmark
