#include "tests/reference/llm_attention_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace landmark::reference {
namespace {

// x rotated at position p (rotate_half pairs i, i + d/2).
std::vector<double> Rotate(const double* x, size_t d, double p, const std::vector<double>& inv_freq) {
  std::vector<double> y(d);
  const size_t h = d / 2;
  for (size_t i = 0; i < h; ++i) {
    const double c = std::cos(p * inv_freq[i]), s = std::sin(p * inv_freq[i]);
    y[i] = x[i] * c - x[i + h] * s;
    y[i + h] = x[i + h] * c + x[i] * s;
  }
  return y;
}

struct Key {
  const double* k;
  const double* v;
  double position;
};

// softmax(q·k/sqrt(d)) v over `keys`, q already rotated.
void Attend(const std::vector<double>& q, const std::vector<Key>& keys, size_t d,
            const std::vector<double>& inv_freq, double* out) {
  std::vector<double> logits;
  double max = -std::numeric_limits<double>::infinity();
  for (const Key& key : keys) {
    const std::vector<double> k = Rotate(key.k, d, key.position, inv_freq);
    double dot = 0;
    for (size_t i = 0; i < d; ++i) dot += q[i] * k[i];
    logits.push_back(dot / std::sqrt(double(d)));
    max = std::max(max, logits.back());
  }
  double total = 0;
  for (double& l : logits) total += (l = std::exp(l - max));
  std::fill_n(out, d, 0.0);
  for (size_t j = 0; j < keys.size(); ++j) {
    for (size_t i = 0; i < d; ++i) out[i] += logits[j] / total * keys[j].v[i];
  }
}

}  // namespace

LlmAttentionOutput LlmRetrievalAttention(const std::vector<double>& stored_k, const std::vector<double>& stored_v,
                                         size_t n, const std::vector<double>& after_k,
                                         const std::vector<double>& after_v, size_t P, size_t T,
                                         const std::vector<double>& q, const LlmAttentionSpec& spec) {
  const size_t H = spec.kv_heads, Hq = spec.q_heads, G = Hq / H, d = spec.d, S = spec.S;
  const size_t heads = spec.layers * H;  // store heads per token
  const size_t C = n / S;
  const size_t cand_end = n >= spec.window ? std::min(C, (n - spec.window) / S) : 0;
  const size_t sink_end = std::min(spec.sinks, cand_end);
  const size_t m = std::min(spec.top_k, cand_end - sink_end);
  const double delta = spec.true_positions ? 0.0 : double((cand_end - sink_end - m) * S);
  auto sk = [&](size_t t, size_t h) { return &stored_k[(t * heads + spec.layer * H + h) * d]; };
  auto sv = [&](size_t t, size_t h) { return &stored_v[(t * heads + spec.layer * H + h) * d]; };
  auto ak = [&](size_t t, size_t h) { return &after_k[(t * heads + spec.layer * H + h) * d]; };
  auto av = [&](size_t t, size_t h) { return &after_v[(t * heads + spec.layer * H + h) * d]; };

  LlmAttentionOutput result;
  result.out.assign(T * Hq * d, 0.0);
  const size_t blocks = (T + spec.select_block - 1) / spec.select_block;
  result.selected.assign(blocks, std::vector<std::vector<size_t>>(H));
  for (size_t b = 0; b < blocks; ++b) {
    const size_t t0 = b * spec.select_block, t1 = std::min(T, t0 + spec.select_block);
    for (size_t h = 0; h < H; ++h) {
      // Selection: the block's mean query against each candidate's landmark.
      std::vector<double> r(d, 0.0);
      for (size_t t = t0; t < t1; ++t) {
        for (size_t g = 0; g < G; ++g) {
          for (size_t i = 0; i < d; ++i) r[i] += q[(t * Hq + h * G + g) * d + i] / double((t1 - t0) * G);
        }
      }
      std::vector<std::pair<double, size_t>> scored;
      for (size_t c = sink_end; c < cand_end; ++c) {
        double s = 0;
        for (size_t i = 0; i < d; ++i) {
          double mean = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
          for (size_t u = 0; u < S; ++u) {
            const double x = sk(c * S + u, h)[i];
            mean += x / double(S);
            lo = std::min(lo, x);
            hi = std::max(hi, x);
          }
          s += spec.minmax ? std::max(r[i] * lo, r[i] * hi) : r[i] * mean;
        }
        scored.push_back({s / std::sqrt(double(d)), c});
      }
      std::stable_sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first > b.first; });
      std::vector<size_t> chosen;
      for (size_t j = 0; j < std::min(spec.top_k, scored.size()); ++j) chosen.push_back(scored[j].second);
      result.selected[b][h] = chosen;
      std::sort(chosen.begin(), chosen.end());

      // Everything these queries see, at its frame position.
      std::vector<Key> stored;
      for (size_t t = 0; t < sink_end * S; ++t) stored.push_back({sk(t, h), sv(t, h), double(t)});
      for (size_t j = 0; j < chosen.size(); ++j) {
        for (size_t u = 0; u < S; ++u) {
          const size_t t = chosen[j] * S + u;
          const double pos = spec.true_positions ? double(t) : double((sink_end + j) * S + u);
          stored.push_back({sk(t, h), sv(t, h), pos});
        }
      }
      for (size_t t = cand_end * S; t < n; ++t) stored.push_back({sk(t, h), sv(t, h), double(t) - delta});
      for (size_t t = t0; t < t1; ++t) {
        std::vector<Key> keys = stored;
        for (size_t a = 0; a <= P + t; ++a) keys.push_back({ak(a, h), av(a, h), double(n + a) - delta});
        for (size_t g = 0; g < G; ++g) {
          const size_t row = t * Hq + h * G + g;
          const std::vector<double> qr = Rotate(&q[row * d], d, double(n + P + t) - delta, spec.inv_freq);
          Attend(qr, keys, d, spec.inv_freq, &result.out[row * d]);
        }
      }
    }
  }
  return result;
}

std::vector<double> DenseRopeAttention(const std::vector<double>& K, const std::vector<double>& V, size_t N,
                                       const std::vector<double>& q, size_t T, size_t q_heads, size_t kv_heads,
                                       size_t d, const std::vector<double>& inv_freq) {
  const size_t G = q_heads / kv_heads;
  std::vector<double> out(T * q_heads * d);
  for (size_t t = 0; t < T; ++t) {
    const size_t p = N - T + t;
    for (size_t hq = 0; hq < q_heads; ++hq) {
      const size_t h = hq / G;
      std::vector<Key> keys;
      for (size_t j = 0; j <= p; ++j) keys.push_back({&K[(j * kv_heads + h) * d], &V[(j * kv_heads + h) * d], double(j)});
      const std::vector<double> qr = Rotate(&q[(t * q_heads + hq) * d], d, double(p), inv_freq);
      Attend(qr, keys, d, inv_freq, &out[(t * q_heads + hq) * d]);
    }
  }
  return out;
}

}  // namespace landmark::reference
