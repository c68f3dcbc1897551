#include "tests/reference/attention_reference.h"

#include <cassert>
#include <cmath>
#include <limits>

namespace landmark::reference {

void Attention(const double* q, const double* K, const double* V, size_t n, size_t d,
               double scale, bool zero_logit, double* out, double* lse) {
  std::vector<double> logits(n);
  double max = zero_logit ? 0.0 : -std::numeric_limits<double>::infinity();
  for (size_t j = 0; j < n; ++j) {
    double dot = 0;
    for (size_t k = 0; k < d; ++k) dot += q[k] * K[j * d + k];
    logits[j] = dot * scale;
    if (logits[j] > max) max = logits[j];
  }
  for (size_t k = 0; k < d; ++k) out[k] = 0;
  if (n == 0 && !zero_logit) {
    *lse = -std::numeric_limits<double>::infinity();
    return;
  }
  double sum = zero_logit ? std::exp(-max) : 0.0;
  for (size_t j = 0; j < n; ++j) {
    const double p = std::exp(logits[j] - max);
    sum += p;
    for (size_t k = 0; k < d; ++k) out[k] += p * V[j * d + k];
  }
  for (size_t k = 0; k < d; ++k) out[k] /= sum;
  *lse = max + std::log(sum);
}

void CausalPrefill(const double* Q, const double* K, const double* V, size_t L, size_t Hq,
                   size_t Hkv, size_t d, std::vector<double>& out, std::vector<double>& lse,
                   KeyFilter filter, const void* context) {
  assert(Hkv > 0 && Hq % Hkv == 0);  // a test that breaks this is wrong
  out.assign(L * Hq * d, 0.0);
  lse.assign(L * Hq, 0.0);
  const size_t group = Hq / Hkv;
  std::vector<double> keys, values;
  for (size_t h = 0; h < Hq; ++h) {
    const size_t kv_head = h / group;
    for (size_t t = 0; t < L; ++t) {
      keys.clear();
      values.clear();
      for (size_t s = 0; s <= t; ++s) {
        if (filter && !filter(context, kv_head, t, s)) continue;
        keys.insert(keys.end(), K + (s * Hkv + kv_head) * d, K + (s * Hkv + kv_head + 1) * d);
        values.insert(values.end(), V + (s * Hkv + kv_head) * d, V + (s * Hkv + kv_head + 1) * d);
      }
      Attention(Q + (t * Hq + h) * d, keys.data(), values.data(), keys.size() / d, d,
                1.0 / std::sqrt(double(d)), false, &out[(t * Hq + h) * d], &lse[t * Hq + h]);
    }
  }
}

bool BlockMaskFilter(const void* context, size_t kv_head, size_t query, size_t key) {
  const auto& m = *static_cast<const BlockMaskView*>(context);
  const size_t i = query / m.block, j = key / m.block;
  return j == 0 || j == i || m.bits[(kv_head * m.blocks + i) * m.blocks + j] != 0;
}

void MergeByLse(const double* outs, const double* lses, size_t parts, size_t rows, size_t d,
                double* out, double* lse) {
  for (size_t r = 0; r < rows; ++r) {
    double max = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < parts; ++i) max = std::fmax(max, lses[i * rows + r]);
    for (size_t k = 0; k < d; ++k) out[r * d + k] = 0;
    if (std::isinf(max) && max < 0) {
      lse[r] = max;
      continue;
    }
    double total = 0;
    for (size_t i = 0; i < parts; ++i) total += std::exp(lses[i * rows + r] - max);
    for (size_t i = 0; i < parts; ++i) {
      const double w = std::exp(lses[i * rows + r] - max) / total;
      for (size_t k = 0; k < d; ++k) out[r * d + k] += w * outs[(i * rows + r) * d + k];
    }
    lse[r] = max + std::log(total);
  }
}

}  // namespace landmark::reference
