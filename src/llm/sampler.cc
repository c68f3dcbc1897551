// Greedy, temperature, top-k and nucleus (top-p) sampling, reproducible:
// the kept tokens are ordered by probability (ties: lower id), and one
// std::mt19937_64 draw per token picks among them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "landmark/error.h"
#include "landmark/llm.h"

namespace landmark::llm {
namespace {

int32_t Argmax(const float* logits, size_t vocab) {
  return int32_t(std::max_element(logits, logits + vocab) - logits);  // the first of equal maxima
}

}  // namespace

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  LANDMARK_CHECK_ARG(std::isfinite(options.temperature), "sampling: temperature must be a finite number");
  LANDMARK_CHECK_ARG(options.top_p > 0 && options.top_p <= 1,
                     "sampling: top_p must be in (0, 1], got " + std::to_string(options.top_p));
}

std::vector<std::pair<int32_t, float>> Sampler::Distribution(const float* logits, size_t vocab) const {
  LANDMARK_CHECK_ARG(vocab > 0, "sampling: no logits");
  if (options_.temperature <= 0) return {{Argmax(logits, vocab), 1.0f}};
  // p_i ∝ exp((z_i − max z) / T), in double.
  const double max = *std::max_element(logits, logits + vocab), T = options_.temperature;
  std::vector<std::pair<int32_t, double>> p(vocab);
  double total = 0;
  for (size_t i = 0; i < vocab; ++i) {
    p[i] = {int32_t(i), std::exp((double(logits[i]) - max) / T)};
    total += p[i].second;
  }
  const auto more_likely = [](const std::pair<int32_t, double>& a, const std::pair<int32_t, double>& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  };
  // Sort only as far as top-k and top-p need: the most likely 64, 256, ...
  const size_t limit = options_.top_k > 0 ? std::min(options_.top_k, vocab) : vocab;
  const double mass = options_.top_p * total;
  size_t sorted = 0, keep = limit;
  for (size_t n = std::min<size_t>(64, limit);; n = std::min(limit, 4 * n)) {
    std::partial_sort(p.begin() + sorted, p.begin() + n, p.end(), more_likely);
    sorted = n;
    double cumulative = 0;
    size_t i = 0;
    while (i < n && cumulative < mass) cumulative += p[i++].second;
    if (options_.top_p < 1 && cumulative >= mass) {  // the nucleus lies in the sorted prefix
      keep = i;
      break;
    }
    if (n == limit) break;
  }
  double kept = 0;
  for (size_t i = 0; i < keep; ++i) kept += p[i].second;
  std::vector<std::pair<int32_t, float>> out(keep);
  for (size_t i = 0; i < keep; ++i) out[i] = {p[i].first, float(p[i].second / kept)};
  return out;
}

int32_t Sampler::Sample(const float* logits, size_t vocab) {
  if (options_.temperature <= 0) return Argmax(logits, vocab);
  const auto distribution = Distribution(logits, vocab);
  const double u = double(rng_() >> 11) * 0x1.0p-53;  // uniform in [0, 1), the same on every platform
  double cumulative = 0;
  for (const auto& [id, probability] : distribution) {
    cumulative += probability;
    if (u < cumulative) return id;
  }
  return distribution.back().first;  // rounding left u above the last sum
}

}  // namespace landmark::llm
