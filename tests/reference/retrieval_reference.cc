#include "tests/reference/retrieval_reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

#include "tests/reference/attention_reference.h"

namespace landmark::reference {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Attention of query row q over tokens [begin, end) of kv head h.
void AttendTokens(const std::vector<double>& K, const std::vector<double>& V, size_t H, size_t d, size_t h,
                  size_t begin, size_t end, const double* q, bool softmax1, double* out, double* lse) {
  std::vector<double> keys, values;
  for (size_t t = begin; t < end; ++t) {
    keys.insert(keys.end(), &K[(t * H + h) * d], &K[(t * H + h) * d] + d);
    values.insert(values.end(), &V[(t * H + h) * d], &V[(t * H + h) * d] + d);
  }
  Attention(q, keys.data(), values.data(), end - begin, d, 1.0 / std::sqrt(double(d)), softmax1, out, lse);
}

}  // namespace

RetrievalOutput Retrieve(const std::vector<double>& K, const std::vector<double>& V, size_t n, size_t H, size_t d,
                         const std::vector<double>& landmarks, size_t LH, size_t R, const std::vector<double>& q,
                         size_t Hq, const std::vector<double>& r, size_t p, const RetrievalSpec& spec) {
  (void)n;  // (used by the asserts only)
  // Preconditions of the inputs (a test that breaks them is wrong).
  assert(H > 0 && Hq % H == 0 && (LH == H || LH == 1) && p < n);
  assert(K.size() >= n * H * d && V.size() == K.size() && q.size() == Hq * d && r.size() == LH * R);
  const size_t G = Hq / H, S = spec.S, values = spec.minmax ? 2 * R : R;
  const size_t visible = p + 1;
  const size_t candidates_end = visible >= spec.window ? (visible - spec.window) / S : 0;
  const size_t sinks = spec.joint ? std::min(spec.sinks, candidates_end) : 0;
  RetrievalOutput result;
  result.out.assign(Hq * d, 0.0);
  result.lse.assign(Hq, kNegInf);
  result.local_out.assign(Hq * d, 0.0);
  result.local_lse.assign(Hq, kNegInf);
  result.selected.resize(LH);
  result.scores.resize(LH);
  for (size_t s = 0; s < LH; ++s) {
    std::vector<std::pair<double, size_t>> ranked;
    for (size_t c = sinks; c < candidates_end; ++c) {
      const double* L = &landmarks[(c * LH + s) * values];
      double score = 0;
      for (size_t j = 0; j < R; ++j) {
        score += spec.minmax ? std::max(r[s * R + j] * L[j], r[s * R + j] * L[R + j]) : r[s * R + j] * L[j];
      }
      score /= std::sqrt(double(R));
      ranked.emplace_back(score, c);
      result.scores[s].push_back(score);
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (size_t i = 0; i < std::min(spec.k, ranked.size()); ++i) result.selected[s].push_back(ranked[i].second);
  }
  for (size_t h = 0; h < H; ++h) {
    const size_t s = LH == H ? h : 0;
    const auto& chosen = result.selected[s];
    std::vector<double> chosen_scores;
    for (size_t c : chosen) chosen_scores.push_back(result.scores[s][c - sinks]);
    for (size_t g = 0; g < G; ++g) {
      const size_t row = h * G + g;
      const double* qr = &q[row * d];
      // Partials: selected chunks, sinks (joint), then the local term.
      std::vector<std::vector<double>> outs;
      std::vector<double> lses;
      auto part = [&](size_t begin, size_t end, bool softmax1) {
        outs.emplace_back(d);
        lses.push_back(0);
        AttendTokens(K, V, H, d, h, begin, end, qr, softmax1, outs.back().data(), &lses.back());
      };
      for (size_t c : chosen) part(c * S, (c + 1) * S, spec.softmax1);
      for (size_t c = 0; c < sinks; ++c) part(c * S, (c + 1) * S, spec.softmax1);
      double* out = &result.out[row * d];
      if (spec.joint) {
        if (spec.local && candidates_end * S < visible) part(candidates_end * S, visible, false);
        MergeByLse(std::vector<double>([&] {
                     std::vector<double> flat;
                     for (const auto& o : outs) flat.insert(flat.end(), o.begin(), o.end());
                     return flat;
                   }()).data(),
                   lses.data(), lses.size(), 1, d, out, &result.lse[row]);
        continue;
      }
      // HSA: retrieval term Σ w_i o_i; local term separately.
      std::vector<double> w(chosen.size());
      if (!spec.stickbreaking) {
        double max = kNegInf, total = 0;
        for (double x : chosen_scores) max = std::max(max, x);
        for (size_t i = 0; i < w.size(); ++i) total += (w[i] = std::exp(chosen_scores[i] - max));
        for (double& x : w) x /= total;
      } else {
        std::vector<size_t> order(chosen.size());
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return chosen[a] > chosen[b]; });
        double prefix = 1.0;  // Π (1 - σ(s_j)) over more recent chunks
        for (size_t i : order) {
          const double sigma = 1.0 / (1.0 + std::exp(-chosen_scores[i]));
          w[i] = sigma * prefix;
          prefix *= 1.0 - sigma;
        }
      }
      for (size_t i = 0; i < chosen.size(); ++i) {
        for (size_t k = 0; k < d; ++k) out[k] += w[i] * outs[i][k];
      }
      if (spec.local && candidates_end * S < visible) {
        AttendTokens(K, V, H, d, h, candidates_end * S, visible, qr, false, &result.local_out[row * d],
                     &result.local_lse[row]);
      }
    }
  }
  return result;
}

}  // namespace landmark::reference
