#include "tests/prefill/mask_reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>

namespace landmark::reference {
namespace {

using Threshold = FlashPrefillOptions::Threshold;
using Importance = DmaOptions::Importance;

size_t Blocks(size_t L, size_t B) { return (L + B - 1) / B; }

// Mean of rows [first, first + n) of column range [offset, offset + d) of a
// token-major array with `width` values per token.
std::vector<double> MeanRows(const std::vector<double>& x, size_t width, size_t offset, size_t first,
                             size_t n, size_t d) {
  std::vector<double> mean(d, 0.0);
  for (size_t t = first; t < first + n; ++t) {
    for (size_t c = 0; c < d; ++c) mean[c] += x[t * width + offset + c];
  }
  for (double& m : mean) m /= double(n);
  return mean;
}

// must/may: picks of the top k of `scores` (index order breaks ties, so an
// exact tie at the k-th value is "may").
void TopK(const std::vector<double>& scores, size_t k, double tolerance, std::vector<bool>& must,
          std::vector<bool>& may) {
  must.assign(scores.size(), false);
  may.assign(scores.size(), false);
  if (k == 0) return;
  std::vector<double> sorted = scores;
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  const double kth = sorted[k - 1];
  for (size_t x = 0; x < scores.size(); ++x) {
    must[x] = scores[x] > kth + tolerance;
    may[x] = scores[x] >= kth - tolerance;
  }
}

MaskBounds FixedBlocks(size_t kv_heads, size_t nb) {
  MaskBounds m;
  m.blocks = nb;
  m.must.assign(kv_heads * nb * nb, 0);
  for (size_t h = 0; h < kv_heads; ++h) {
    for (size_t i = 0; i < nb; ++i) {
      m.must[(h * nb + i) * nb] = m.must[(h * nb + i) * nb + i] = 1;
    }
  }
  m.may = m.must;
  return m;
}

void Keep(MaskBounds& m, size_t h, size_t i, size_t j, bool must, bool may) {
  assert(j <= i && i < m.blocks);  // causal, inside the mask: the rules never ask otherwise
  const size_t at = (h * m.blocks + i) * m.blocks + j;
  m.must[at] |= uint8_t(must);
  m.may[at] |= uint8_t(may || must);
}

}  // namespace

std::vector<double> PooledLogits(const PrefillInputs& in, size_t B, size_t kv_head) {
  assert(B > 0 && in.kv_heads > 0 && in.q_heads % in.kv_heads == 0 && kv_head < in.kv_heads);
  const size_t nb = Blocks(in.L, B), group = in.q_heads / in.kv_heads, d = in.d;
  std::vector<double> A(nb * nb, 0.0);
  for (size_t i = 1; i < nb; ++i) {
    for (size_t j = 0; j < i; ++j) {
      double best = -std::numeric_limits<double>::infinity();
      const auto kb = MeanRows(in.k, in.kv_heads * d, kv_head * d, j * B, std::min(B, in.L - j * B), d);
      for (size_t g = 0; g < group; ++g) {
        const auto qb = MeanRows(in.q, in.q_heads * d, (kv_head * group + g) * d, i * B,
                                 std::min(B, in.L - i * B), d);
        double dot = 0;
        for (size_t c = 0; c < d; ++c) dot += qb[c] * kb[c];
        best = std::max(best, dot / std::sqrt(double(d)));
      }
      A[i * nb + j] = best;
    }
  }
  return A;
}

MaskBounds FlashPrefillMask(const PrefillInputs& in, size_t B, const FlashPrefillOptions& o,
                            double tol) {
  const size_t nb = Blocks(in.L, B);
  MaskBounds m = FixedBlocks(in.kv_heads, nb);
  for (size_t h = 0; h < in.kv_heads; ++h) {
    const std::vector<double> A = PooledLogits(in, B, h);
    // Threshold, row by row.
    for (size_t i = 1; i < nb; ++i) {
      double max = -INFINITY, min = INFINITY;
      for (size_t j = 0; j < i; ++j) {
        max = std::max(max, A[i * nb + j]);
        min = std::min(min, A[i * nb + j]);
      }
      const double threshold = o.threshold == Threshold::kDelta ? max - double(o.delta)
                                                                : o.alpha * max + (1 - o.alpha) * min;
      for (size_t j = 0; j < i; ++j) {
        const double a = A[i * nb + j];
        Keep(m, h, i, j, a > threshold + tol, a >= threshold - tol);
      }
    }
    if (nb < 3) continue;
    // Vertical: key blocks 1..nb-2 by their mean over the rows below them.
    std::vector<double> column(nb - 2);
    for (size_t j = 1; j + 1 < nb; ++j) {
      double sum = 0;
      for (size_t i = j + 1; i < nb; ++i) sum += A[i * nb + j];
      column[j - 1] = sum / double(nb - 1 - j);
    }
    const size_t v = o.vertical_fraction > 0
        ? std::max<size_t>(1, size_t(std::llround(o.vertical_fraction * double(nb)))) : 0;
    std::vector<bool> must, may;
    TopK(column, std::min(v, column.size()), tol, must, may);
    for (size_t j = 1; j + 1 < nb; ++j) {
      for (size_t i = j + 1; i < nb; ++i) Keep(m, h, i, j, must[j - 1], may[j - 1]);
    }
    // Slash: offsets 1..nb-2 by their mean over j >= 1.
    std::vector<double> diagonal(nb - 2);
    for (size_t offset = 1; offset + 1 < nb; ++offset) {
      double sum = 0;
      for (size_t j = 1; j + offset < nb; ++j) sum += A[(j + offset) * nb + j];
      diagonal[offset - 1] = sum / double(nb - 1 - offset);
    }
    TopK(diagonal, std::min(o.slash_count, diagonal.size()), tol, must, may);
    for (size_t offset = 1; offset + 1 < nb; ++offset) {
      for (size_t i = offset; i < nb; ++i) Keep(m, h, i, i - offset, must[offset - 1], may[offset - 1]);
    }
  }
  return m;
}

MaskBounds DmaMask(const PrefillInputs& in, size_t B, const DmaOptions& o, double tol) {
  const size_t nb = Blocks(in.L, B), d = in.d, width = in.kv_heads * d;
  MaskBounds m = FixedBlocks(in.kv_heads, nb);
  for (size_t h = 0; h < in.kv_heads; ++h) {
    std::vector<double> A, importance(nb, 0.0);
    if (o.importance == Importance::kPooledQK) A = PooledLogits(in, B, h);
    for (size_t j = 0; j < nb && o.importance != Importance::kPooledQK; ++j) {
      const size_t n = std::min(B, in.L - j * B);
      for (size_t t = j * B; t < j * B + n; ++t) {
        const double* v = in.v.data() + t * width + h * d;
        if (o.importance == Importance::kValueNorm) {
          double squares = 0;
          for (size_t c = 0; c < d; ++c) squares += v[c] * v[c];
          importance[j] += std::sqrt(squares);
        } else {
          double dot = 0;
          for (size_t c = 0; c < d; ++c) dot += v[c] * double(o.weights[h * d + c]);
          importance[j] += std::log(1 + std::exp(dot));
        }
      }
      importance[j] /= double(n);
    }
    for (size_t i = 1; i < nb; ++i) {
      // k_i = min(i, max(1, ceil((1 - sparsity)(i + 1)))) among the blocks before i.
      const size_t wanted = size_t(std::ceil((1.0 - o.sparsity) * double(i + 1) - 1e-9));
      const size_t k = std::min(i, std::max<size_t>(1, wanted));
      std::vector<double> scores(i);
      for (size_t j = 0; j < i; ++j) scores[j] = A.empty() ? importance[j] : A[i * nb + j];
      std::vector<bool> must, may;
      TopK(scores, k, tol, must, may);
      for (size_t j = 0; j < i; ++j) {
        const bool window = i - j <= o.window;
        const bool strided = o.stride > 0 && (i - j) % o.stride == 0;
        const bool dilated = o.dilation > 0 && (i - j) % o.dilation == 0 && (i - j) / o.dilation <= o.dilated_count;
        const bool positional = window || strided || dilated;
        Keep(m, h, i, j, must[j] || positional, may[j] || positional);
      }
    }
  }
  return m;
}

}  // namespace landmark::reference
