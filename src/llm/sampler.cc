// Next-token choice: greedy, or temperature + top-k + top-p (nucleus)
// sampling with a seeded std::mt19937_64 (the same seed, the same tokens).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "landmark/error.h"
#include "src/llm/model_access.h"

namespace landmark::llm {

struct TokenSampler::Impl {
  LlmSampling s;
  std::mt19937_64 rng;
  std::vector<uint32_t> order;
  std::vector<double> p;
};

TokenSampler::TokenSampler(const LlmSampling& s) : impl_(std::make_unique<Impl>()) {
  LANDMARK_CHECK_ARG(std::isfinite(s.temperature) && s.temperature >= 0,
                     "sampling: temperature must be a finite number ≥ 0, not " + std::to_string(s.temperature));
  LANDMARK_CHECK_ARG(std::isfinite(s.top_p) && s.top_p > 0 && s.top_p <= 1,
                     "sampling: top-p must be in (0, 1], not " + std::to_string(s.top_p));
  impl_->s = s;
  impl_->rng.seed(s.seed);
}
TokenSampler::~TokenSampler() = default;

int32_t TokenSampler::Next(const float* logits, size_t vocab) {
  Impl& m = *impl_;
  LANDMARK_CHECK_ARG(vocab > 0, "sampling: empty vocabulary");
  size_t best = 0;
  for (size_t i = 0; i < vocab; ++i) {
    LANDMARK_CHECK_ARG(!std::isnan(logits[i]), "sampling: the model produced NaN logits");
    if (logits[i] > logits[best]) best = i;
  }
  if (m.s.temperature == 0) return int32_t(best);
  // Candidates by logit, best first (ties to the lower id); top-k cut.
  m.order.resize(vocab);
  std::iota(m.order.begin(), m.order.end(), 0u);
  const size_t k = m.s.top_k ? std::min(m.s.top_k, vocab) : vocab;
  auto better = [&](uint32_t a, uint32_t b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a < b; };
  std::partial_sort(m.order.begin(), m.order.begin() + k, m.order.end(), better);
  m.p.resize(k);
  double total = 0;
  for (size_t i = 0; i < k; ++i) {
    total += (m.p[i] = std::exp((double(logits[m.order[i]]) - double(logits[best])) / m.s.temperature));
  }
  // Nucleus: the smallest prefix holding top_p of the probability.
  size_t keep = k;
  double mass = 0;
  for (size_t i = 0; i < k; ++i) {
    mass += m.p[i];
    if (mass >= m.s.top_p * total) {
      keep = i + 1;
      break;
    }
  }
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(m.rng) * std::accumulate(m.p.begin(), m.p.begin() + keep, 0.0);
  for (size_t i = 0; i < keep; ++i) {
    if ((u -= m.p[i]) < 0) return int32_t(m.order[i]);
  }
  return int32_t(m.order[keep - 1]);
}

}  // namespace landmark::llm
