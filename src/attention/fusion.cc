#include "src/attention/fusion.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "src/kernels/kernels.h"

namespace landmark {
namespace {

float Softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

}  // namespace

std::vector<float> HsaWeights(const std::vector<ScoredChunk>& chosen, RetrievalWeights weights) {
  std::vector<float> w(chosen.size());
  if (chosen.empty()) return w;
  if (weights == RetrievalWeights::kSoftmax) {
    float max = -std::numeric_limits<float>::infinity();
    for (const ScoredChunk& c : chosen) max = std::max(max, c.score);
    double total = 0;
    for (size_t i = 0; i < chosen.size(); ++i) total += (w[i] = std::exp(chosen[i].score - max));
    for (float& x : w) x = float(x / total);
    return w;
  }
  // Stick-breaking, most recent chunk first: w_i = exp(s_i - Σ_{j<=i} softplus(s_j)).
  std::vector<size_t> order(chosen.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return chosen[a].chunk > chosen[b].chunk; });
  double softplus_sum = 0;
  for (size_t i : order) {
    softplus_sum += Softplus(chosen[i].score);
    w[i] = float(std::exp(double(chosen[i].score) - softplus_sum));
  }
  return w;
}

FusedRows HeadRows(RetrievalResult& result, size_t h, size_t G, size_t d) {
  FusedRows rows;
  rows.out = result.out.data() + h * G * d;
  if (!result.local_out.empty()) {
    rows.local_out = result.local_out.data() + h * G * d;
    rows.local_lse = result.local_lse.data() + h * G;
  } else {
    rows.lse = result.lse.data() + h * G;
  }
  return rows;
}

void FuseParts(Fusion fusion, const float* outs, const float* lses, size_t parts, size_t retrieval,
               const float* weights, size_t G, size_t d, const FusedRows& dst) {
  if (fusion == Fusion::kJoint) {
    MergeByLse(outs, lses, parts, G, d, dst.out, dst.lse);
    return;
  }
  MergeByLse(outs + retrieval * G * d, lses + retrieval * G, parts - retrieval, G, d, dst.local_out, dst.local_lse);
  if (retrieval > 0) WeightedSum(outs, weights, retrieval, G, d, dst.out);
}

}  // namespace landmark
