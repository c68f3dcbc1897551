// Exact references in double precision: plain loops, no code shared with
// the kernels. Inputs are already-rounded values (double), so comparisons
// measure the kernels' arithmetic, not the storage dtype's rounding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace landmark::reference {

// softmax(scale * q·K^T) V over keys [0, n); K, V: [n][d] rows.
// zero_logit: an extra logit 0 joins the denominator. With no keys (and no
// zero logit) the output is zeros and lse = -inf.
void Attention(const double* q, const double* K, const double* V, size_t n, size_t d,
               double scale, bool zero_logit, double* out, double* lse);

// Causal prefill. Q [L][Hq][d], K/V [L][Hkv][d] token-major, out [L][Hq][d],
// lse [L][Hq]. key_visible(kv_head, query_pos, key_pos) may drop keys (block
// masks); nullptr keeps every causal key.
using KeyFilter = bool (*)(const void* context, size_t kv_head, size_t query, size_t key);
void CausalPrefill(const double* Q, const double* K, const double* V, size_t L, size_t Hq,
                   size_t Hkv, size_t d, std::vector<double>& out, std::vector<double>& lse,
                   KeyFilter filter = nullptr, const void* context = nullptr);

// A KeyFilter for a block mask: `context` is a BlockMaskView; key block j of
// query block i is seen when j == 0, j == i or bits[(kv_head·blocks + i)·blocks + j] != 0.
struct BlockMaskView {
  const uint8_t* bits;
  size_t blocks, block;
};
bool BlockMaskFilter(const void* context, size_t kv_head, size_t query, size_t key);

// out[r] = Σ_i exp(lse_i[r] − LSE[r]) outs_i[r]; outs [parts][rows][d].
void MergeByLse(const double* outs, const double* lses, size_t parts, size_t rows, size_t d,
                double* out, double* lse);

}  // namespace landmark::reference
