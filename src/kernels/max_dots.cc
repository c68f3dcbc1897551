// The best of a group of queries against many rows packed in transposed
// panels: the pooled-logit rows of sparse prefill (max over a kv head's query
// heads). Lanes run over rows, so the micro-kernel needs no horizontal sums:
// each vector of rows feeds one FMA per query, each query element is
// broadcast. A panel (d × 64 rows) is contiguous: a plain [d][n] layout puts
// every element of a column tile on another page (TLB misses) and, for n a
// power of two, in the same L1 set.


#include <algorithm>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/max_dots.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "src/kernels/kernels.h"
#include "src/kernels/load-inl.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {
namespace {

using DF = hn::ScalableTag<float>;

// Queries per register group and vectors of rows per tile: 16 of 32
// accumulators with AVX-512, 8 of 16 elsewhere.
constexpr size_t kQueries = 4;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr size_t kVectors = 4;
#else
constexpr size_t kVectors = 2;
#endif

constexpr size_t kPanel = kMaxDotsPanel;

// out[v*N + lane] = max(out (unless `first`), max_q Σ_c Q[q][c]·P[c][v*N + lane])
// for P a panel's [d][kPanel] columns starting at `rows_t`.
template <size_t kQ, size_t kV>
HWY_INLINE void Tile(const float* HWY_RESTRICT queries, size_t d, const float* HWY_RESTRICT rows_t,
                     bool first, float* HWY_RESTRICT out) {
  const DF df;
  const size_t N = hn::Lanes(df);
  hn::Vec<DF> acc[kQ][kV];
  HWY_UNROLL(4) for (size_t q = 0; q < kQ; ++q) {
    HWY_UNROLL(4) for (size_t v = 0; v < kV; ++v) acc[q][v] = hn::Zero(df);
  }
  for (size_t c = 0; c < d; ++c) {
    hn::Vec<DF> r[kV];
    HWY_UNROLL(4) for (size_t v = 0; v < kV; ++v) r[v] = hn::LoadU(df, rows_t + c * kPanel + v * N);
    HWY_UNROLL(4) for (size_t q = 0; q < kQ; ++q) {
      const auto query = hn::Set(df, queries[q * d + c]);
      HWY_UNROLL(4) for (size_t v = 0; v < kV; ++v) acc[q][v] = hn::MulAdd(query, r[v], acc[q][v]);
    }
  }
  HWY_UNROLL(4) for (size_t v = 0; v < kV; ++v) {
    auto best = acc[0][v];
    HWY_UNROLL(4) for (size_t q = 1; q < kQ; ++q) best = hn::Max(best, acc[q][v]);
    if (!first) best = hn::Max(best, hn::LoadU(df, out + v * N));
    hn::StoreU(best, df, out + v * N);
  }
}

template <size_t kQ>
void Group(const float* queries, size_t d, const float* panels, size_t n, bool first, float* out) {
  const size_t N = hn::Lanes(DF());
  size_t j = 0;
  for (; j + kVectors * N <= n; j += kVectors * N) {
    Tile<kQ, kVectors>(queries, d, panels + (j / kPanel) * d * kPanel + j % kPanel, first, out + j);
  }
  for (; j + N <= n; j += N) {
    Tile<kQ, 1>(queries, d, panels + (j / kPanel) * d * kPanel + j % kPanel, first, out + j);
  }
  if (j < n) {  // the last, partial vector: panels are whole, so compute it all, keep n - j
    HWY_ALIGN float tail[hn::MaxLanes(DF())];
    for (size_t x = 0; x < n - j; ++x) tail[x] = out[j + x];
    Tile<kQ, 1>(queries, d, panels + (j / kPanel) * d * kPanel + j % kPanel, first, tail);
    for (size_t x = 0; x < n - j; ++x) out[j + x] = tail[x];
  }
}

}  // namespace

void MaxDotsPacked(const float* queries, size_t count, size_t d, const float* panels, size_t n,
                   float* out) {
  static_assert(kPanel % (kVectors * hn::MaxLanes(DF())) == 0, "a tile must not straddle panels");
  for (size_t first = 0; first < count; first += kQueries) {
    WithCount<kQueries>(std::min(kQueries, count - first), [&](auto group) {
      Group<decltype(group)::value>(queries + first * d, d, panels, n, first == 0, out);
    });
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace landmark {

HWY_EXPORT(MaxDotsPacked);

void MaxDotsPacked(const float* queries, size_t count, size_t d, const float* panels, size_t n,
                   float* out) {
  if (count == 0 || n == 0) return;
  HWY_DYNAMIC_DISPATCH(MaxDotsPacked)(queries, count, d, panels, n, out);
}

}  // namespace landmark
#endif  // HWY_ONCE
