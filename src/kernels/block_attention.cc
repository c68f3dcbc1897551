// Block attention with online softmax (FlashAttention-2 update rule): the
// rows of a QueryBlock attend one block of keys/values, updating each row's
// running max, sum and unnormalised output.
//
// Two shapes of the same computation:
//  - many rows (prefill tiles, large GQA groups): scores S^T[j][r] = K[j]·Q[r]
//    by a register-blocked micro-kernel over the transposed queries, so the
//    softmax statistics are vectorised across query rows and no horizontal
//    reductions are needed; K/V are widened (f16/bf16) or copied (strided
//    f32) to contiguous f32 once per block.
//  - few rows (decode): one dot product per (row, key), K/V widened on the fly.
// Both share the output update acc[r] += Σ_j p[r][j]·V[j].

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/block_attention.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "src/kernels/kernels.h"
#include "src/kernels/block_layout.h"
#include "src/kernels/load-inl.h"

HWY_BEFORE_NAMESPACE();
namespace landmark {
namespace HWY_NAMESPACE {
namespace {

using block_layout::kMaxKeysPerPass;
using block_layout::kRowPad;
using block_layout::RoundUp;
using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Register blocking: kMR rows × kNR vectors of accumulators (24 of 32
// registers with AVX-512, 12 of 16 elsewhere); the row-dot path keeps
// kRowGroup × kKeysPerPass accumulators (likewise 24 and 12).
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr size_t kNR = 4;
constexpr size_t kKeysPerPass = 4;
#else
constexpr size_t kNR = 2;
constexpr size_t kKeysPerPass = 2;
#endif
constexpr size_t kRowGroup = 6;
constexpr size_t kMR = 6;
// Row-dot (decode) path: keys per chunk of the online softmax, and how far
// ahead it prefetches K and V.
constexpr size_t kRowChunk = 64;
constexpr size_t kPrefetchKeys = 64;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// exp(x) that is 0 for x = -inf and NaN (the -inf - -inf of rows that have
// seen nothing yet) without feeding them to the polynomial's integer part.
HWY_INLINE VF SafeExp(DF df, VF x) {
  const VF floor = hn::Set(df, -200.0f);  // Exp() returns 0 below -104
  return hn::Exp(df, hn::IfThenElse(hn::Ge(x, floor), x, floor));
}

// Keys of this pass (K[0] is key `key_offset` of the caller's block) below
// the bound `bound[position]` of the caller's block; `all` when no bounds.
size_t KeysBelow(const uint32_t* bound, size_t position, size_t key_offset, size_t m, size_t all) {
  if (!bound) return all;
  const size_t v = bound[position];
  return v <= key_offset ? 0 : std::min(v - key_offset, m);
}

// ------------------------------------------------------------- scores

// S[i][c..] = Σ_k K[i][k] · QT[k][c..] for MR keys × NR vectors of rows.
template <size_t MR, size_t NR>
HWY_INLINE void ScoreTile(const float* HWY_RESTRICT K, size_t k_stride, size_t d,
                          const float* HWY_RESTRICT QT, size_t Rp, float* HWY_RESTRICT S) {
  const DF df;
  const size_t N = hn::Lanes(df);
  VF acc[MR][NR];
  HWY_UNROLL(8) for (size_t i = 0; i < MR; ++i) {
    HWY_UNROLL(8) for (size_t c = 0; c < NR; ++c) acc[i][c] = hn::Zero(df);
  }
  for (size_t k = 0; k < d; ++k) {
    VF q[NR];
    HWY_UNROLL(8) for (size_t c = 0; c < NR; ++c) q[c] = hn::LoadU(df, QT + k * Rp + c * N);
    HWY_UNROLL(8) for (size_t i = 0; i < MR; ++i) {
      const VF key = hn::Set(df, K[i * k_stride + k]);
      HWY_UNROLL(8) for (size_t c = 0; c < NR; ++c) acc[i][c] = hn::MulAdd(key, q[c], acc[i][c]);
    }
  }
  HWY_UNROLL(8) for (size_t i = 0; i < MR; ++i) {
    HWY_UNROLL(8) for (size_t c = 0; c < NR; ++c) hn::StoreU(acc[i][c], df, S + i * Rp + c * N);
  }
}

template <size_t MR>
void ScoreKeysTransposed(const float* K, size_t k_stride, size_t d, const float* QT, size_t Rp,
                         float* S) {
  const size_t N = hn::Lanes(DF());
  size_t c = 0;
  for (; c + kNR * N <= Rp; c += kNR * N) ScoreTile<MR, kNR>(K, k_stride, d, QT + c, Rp, S + c);
  for (; c < Rp; c += N) ScoreTile<MR, 1>(K, k_stride, d, QT + c, Rp, S + c);
}

// S [m][Rp] = K [m][d] · QT [d][Rp].
void ScoresTransposed(const float* K, size_t k_stride, size_t m, size_t d, const float* QT,
                      size_t Rp, float* S) {
  size_t j = 0;
  for (; j + kMR <= m; j += kMR) ScoreKeysTransposed<kMR>(K + j * k_stride, k_stride, d, QT, Rp, S + j * Rp);
  if (j == m) return;
  WithCount<kMR - 1>(m - j, [&](auto keys) {
    ScoreKeysTransposed<decltype(keys)::value>(K + j * k_stride, k_stride, d, QT, Rp, S + j * Rp);
  });
}

#if HWY_TARGET != HWY_SCALAR
// Adds the 128-bit blocks of v: the 4-lane sum of an interleaved reduction.
template <class D>
HWY_INLINE hn::Vec<hn::FixedTag<float, 4>> SumOfBlocks(D d, hn::Vec<D> v) {
  if constexpr (hn::MaxLanes(D()) <= 4) {
    (void)d;
    return v;
  } else {
    const hn::Half<D> dh;
    return SumOfBlocks(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  }
}
#endif

// out[0..3] = the lane sums of a, b, c, e: one reduction for four vectors
// (interleave-add within 128-bit blocks, then add the blocks) instead of four.
HWY_INLINE void SumOfLanes4(DF df, VF a, VF b, VF c, VF e, float* HWY_RESTRICT out) {
#if HWY_TARGET == HWY_SCALAR
  (void)df;
  out[0] = hn::GetLane(a), out[1] = hn::GetLane(b), out[2] = hn::GetLane(c), out[3] = hn::GetLane(e);
#else
  // [a0+a2, b0+b2, a1+a3, b1+b3] per block, likewise for c, e.
  const VF ab = hn::Add(hn::InterleaveLower(df, a, b), hn::InterleaveUpper(df, a, b));
  const VF ce = hn::Add(hn::InterleaveLower(df, c, e), hn::InterleaveUpper(df, c, e));
  const hn::Repartition<uint64_t, DF> du64;
  const auto ab64 = hn::BitCast(du64, ab), ce64 = hn::BitCast(du64, ce);
  // [a, b, c, e] partial sums per 128-bit block.
  const VF abce = hn::Add(hn::BitCast(df, hn::InterleaveLower(du64, ab64, ce64)),
                          hn::BitCast(df, hn::InterleaveUpper(du64, ab64, ce64)));
  hn::StoreU(SumOfBlocks(df, abce), hn::FixedTag<float, 4>(), out);
#endif
}

// S[r][j..j+KEYS) = Q[r]·K[j..j+KEYS) for a group of R <= kRowGroup rows and
// m keys. KEYS keys per pass: each query load feeds KEYS independent FMA
// chains, and the dot products reduce four at a time. With `prefetch_v`
// (the first row group), K and V rows kPrefetchKeys ahead are fetched:
// decode streams them from memory exactly once.
template <size_t R, typename T>
void ScoreRowGroup(const float* HWY_RESTRICT Q, size_t d, const T* HWY_RESTRICT K,
                   size_t k_stride, const T* prefetch_v, size_t v_stride, size_t m,
                   float* HWY_RESTRICT S, size_t s_stride) {
  constexpr size_t KEYS = kKeysPerPass;
  const DF df;
  const size_t N = hn::Lanes(df);
  const size_t d_vec = d - d % N;
  const VF zero = hn::Zero(df);
  for (size_t j = 0; j < m; j += KEYS) {
    const size_t keys = std::min(KEYS, m - j);
    if (prefetch_v) {
      for (size_t i = 0; i < KEYS; ++i) {
        PrefetchRow<0>(K + (j + i + kPrefetchKeys) * k_stride, d);
        PrefetchRow<0>(prefetch_v + (j + i + kPrefetchKeys) * v_stride, d);
      }
    }
    // A short last pass repeats its last key (whose scores are not stored).
    const T* k[KEYS];
    HWY_UNROLL(4) for (size_t i = 0; i < KEYS; ++i) k[i] = K + (j + std::min(i, keys - 1)) * k_stride;
    VF acc[R * KEYS + 3];  // row-major [R][KEYS], then zeros to round up to 4
    HWY_UNROLL(32) for (size_t a = 0; a < R * KEYS + 3; ++a) acc[a] = zero;
    for (size_t c = 0; c < d_vec; c += N) {
      VF key[KEYS];
      HWY_UNROLL(4) for (size_t i = 0; i < KEYS; ++i) key[i] = LoadF32(df, k[i] + c);
      HWY_UNROLL(8) for (size_t r = 0; r < R; ++r) {
        const VF q = hn::LoadU(df, Q + r * d + c);
        HWY_UNROLL(4) for (size_t i = 0; i < KEYS; ++i) {
          acc[r * KEYS + i] = hn::MulAdd(q, key[i], acc[r * KEYS + i]);
        }
      }
    }
    float sums[R * KEYS + 3];
    HWY_UNROLL(8) for (size_t a = 0; a < R * KEYS; a += 4) {
      SumOfLanes4(df, acc[a], acc[a + 1], acc[a + 2], acc[a + 3], sums + a);
    }
    HWY_UNROLL(8) for (size_t r = 0; r < R; ++r) {
      const float* q = Q + r * d;
      for (size_t i = 0; i < keys; ++i) {
        float sum = sums[r * KEYS + i];
        for (size_t c = d_vec; c < d; ++c) sum += q[c] * ScalarF32(k[i] + c);
        S[r * s_stride + j + i] = sum;
      }
    }
  }
}

// Splits R rows into ceil(R / max_rows) groups of near-equal size (8 -> 4 + 4,
// not 6 + 2), so that every group keeps enough FMA chains busy.
template <class Fn>
HWY_INLINE void ForEachRowGroup(size_t R, size_t max_rows, const Fn& fn) {
  const size_t groups = (R + max_rows - 1) / max_rows;
  for (size_t g = 0, first = 0; g < groups; ++g) {
    const size_t rows = (R - first) / (groups - g);
    fn(first, rows);
    first += rows;
  }
}

// S[r][j] = Q[r]·K[j] for R < kTransposeMinRows rows (decode).
template <typename T>
void ScoresRows(const float* Q, size_t R, size_t d, const T* K, size_t k_stride, const T* V,
                size_t v_stride, size_t m, float* S, size_t s_stride) {
  ForEachRowGroup(R, kRowGroup, [&](size_t first, size_t rows) {
    WithCount<kRowGroup>(rows, [&](auto group_rows) {
      ScoreRowGroup<decltype(group_rows)::value>(Q + first * d, d, K, k_stride, first == 0 ? V : nullptr, v_stride,
                                m, S + first * s_stride, s_stride);
    });
  });
}

// ------------------------------------------------------------- softmax

// Online-softmax update with scores in columns: S [m][Rp], one query row per
// lane. Replaces S by p = exp(s - new_max), masked keys (outside
// [first[r], visible[r])) by 0.
void SoftmaxColumns(float* HWY_RESTRICT S, size_t m, size_t Rp, const int32_t* first, const int32_t* visible,
                    bool masked, float* row_max, float* row_sum, float* alpha) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const size_t N = hn::Lanes(df);
  const VF neg_inf = hn::Set(df, kNegInf);
  for (size_t c = 0; c < Rp; c += N) {
    const auto lo = hn::LoadU(di, first + c);
    const auto vis = hn::LoadU(di, visible + c);
    auto keep = [&](size_t j) {
      const auto jv = hn::Set(di, int32_t(j));
      return hn::RebindMask(df, hn::And(hn::Lt(jv, vis), hn::Not(hn::Lt(jv, lo))));
    };
    const VF old_max = hn::LoadU(df, row_max + c);
    VF new_max = old_max;
    for (size_t j = 0; j < m; ++j) {
      VF s = hn::LoadU(df, S + j * Rp + c);
      if (masked) s = hn::IfThenElse(keep(j), s, neg_inf);
      new_max = hn::Max(new_max, s);
    }
    VF sum = hn::Zero(df);
    for (size_t j = 0; j < m; ++j) {
      VF s = hn::LoadU(df, S + j * Rp + c);
      if (masked) s = hn::IfThenElse(keep(j), s, neg_inf);
      const VF p = SafeExp(df, hn::Sub(s, new_max));
      hn::StoreU(p, df, S + j * Rp + c);
      sum = hn::Add(sum, p);
    }
    const VF a = SafeExp(df, hn::Sub(old_max, new_max));
    hn::StoreU(a, df, alpha + c);
    hn::StoreU(new_max, df, row_max + c);
    hn::StoreU(hn::MulAdd(hn::LoadU(df, row_sum + c), a, sum), df, row_sum + c);
  }
}

// Online-softmax update with scores in rows: S [R][s_stride], keys along
// lanes. Writes p for keys [0, m) (0 for keys outside [first[r], visible[r])).
void SoftmaxRows(float* HWY_RESTRICT S, size_t s_stride, size_t R, size_t m, const int32_t* first,
                 const int32_t* visible, float* row_max, float* row_sum, float* alpha) {
  const DF df;
  const size_t N = hn::Lanes(df);
  for (size_t r = 0; r < R; ++r) {
    float* row = S + r * s_stride;
    const size_t n = size_t(visible[r]), lo = std::min(size_t(first[r]), n);
    VF vmax = hn::Set(df, kNegInf);
    size_t j = lo;
    for (; j + N <= n; j += N) vmax = hn::Max(vmax, hn::LoadU(df, row + j));
    float new_max = std::max(row_max[r], hn::GetLane(hn::MaxOfLanes(df, vmax)));
    for (; j < n; ++j) new_max = std::max(new_max, row[j]);
    const float a = new_max == kNegInf ? 1.0f : std::exp(row_max[r] - new_max);
    VF sum = hn::Zero(df);
    const VF max_v = hn::Set(df, new_max);
    for (j = lo; j + N <= n; j += N) {
      const VF p = SafeExp(df, hn::Sub(hn::LoadU(df, row + j), max_v));
      hn::StoreU(p, df, row + j);
      sum = hn::Add(sum, p);
    }
    float total = hn::GetLane(hn::SumOfLanes(df, sum));
    for (; j < n; ++j) {
      row[j] = std::exp(row[j] - new_max);
      total += row[j];
    }
    std::fill(row, row + lo, 0.0f);
    std::fill(row + n, row + m, 0.0f);
    alpha[r] = a;
    row_max[r] = new_max;
    row_sum[r] = row_sum[r] * a + total;
  }
}

// acc[r] *= alpha[r] for rows whose max moved.
void RescaleRows(float* HWY_RESTRICT acc, size_t R, size_t d, const float* alpha) {
  const DF df;
  const size_t N = hn::Lanes(df);
  for (size_t r = 0; r < R; ++r) {
    if (alpha[r] == 1.0f) continue;
    float* row = acc + r * d;
    const VF a = hn::Set(df, alpha[r]);
    size_t c = 0;
    for (; c + N <= d; c += N) hn::StoreU(hn::Mul(hn::LoadU(df, row + c), a), df, row + c);
    for (; c < d; ++c) row[c] *= alpha[r];
  }
}

// ------------------------------------------------------------- output

// acc[i][c..] += Σ_j P(i, j) · V[j][c..] for MR rows × NR vectors of columns;
// P(i, j) = P[i * p_row_stride + j * p_key_stride].
template <size_t MR, size_t NR, typename T>
HWY_INLINE void OutputTile(const float* HWY_RESTRICT P, size_t p_row_stride, size_t p_key_stride,
                           size_t m, const T* HWY_RESTRICT V, size_t v_stride,
                           float* HWY_RESTRICT acc, size_t d) {
  const DF df;
  const size_t N = hn::Lanes(df);
  VF o[MR][NR];
  HWY_UNROLL(8) for (size_t i = 0; i < MR; ++i) {
    HWY_UNROLL(8) for (size_t c = 0; c < NR; ++c) o[i][c] = hn::LoadU(df, acc + i * d + c * N);
  }
  for (size_t j = 0; j < m; ++j) {
    VF v[NR];
    HWY_UNROLL(8) for (size_t c = 0; c < NR; ++c) v[c] = LoadF32(df, V + j * v_stride + c * N);
    HWY_UNROLL(8) for (size_t i = 0; i < MR; ++i) {
      const VF p = hn::Set(df, P[i * p_row_stride + j * p_key_stride]);
      HWY_UNROLL(8) for (size_t c = 0; c < NR; ++c) o[i][c] = hn::MulAdd(p, v[c], o[i][c]);
    }
  }
  HWY_UNROLL(8) for (size_t i = 0; i < MR; ++i) {
    HWY_UNROLL(8) for (size_t c = 0; c < NR; ++c) hn::StoreU(o[i][c], df, acc + i * d + c * N);
  }
}

template <size_t MR, typename T>
void OutputRows(const float* P, size_t p_row_stride, size_t p_key_stride, size_t m, const T* V,
                size_t v_stride, float* acc, size_t d) {
  const size_t N = hn::Lanes(DF());
  size_t c = 0;
  for (; c + kNR * N <= d; c += kNR * N) {
    OutputTile<MR, kNR>(P, p_row_stride, p_key_stride, m, V + c, v_stride, acc + c, d);
  }
  for (; c + N <= d; c += N) OutputTile<MR, 1>(P, p_row_stride, p_key_stride, m, V + c, v_stride, acc + c, d);
  for (; c < d; ++c) {  // columns past the last full vector
    for (size_t i = 0; i < MR; ++i) {
      float sum = 0.0f;
      for (size_t j = 0; j < m; ++j) sum += P[i * p_row_stride + j * p_key_stride] * ScalarF32(V + j * v_stride + c);
      acc[i * d + c] += sum;
    }
  }
}

// acc [R][d] += P · V [m][d].
template <typename T>
void AccumulateOutput(const float* P, size_t p_row_stride, size_t p_key_stride, size_t R,
                      size_t m, const T* V, size_t v_stride, float* acc, size_t d) {
  ForEachRowGroup(R, kMR, [&](size_t first, size_t rows) {
    WithCount<kMR>(rows, [&](auto group_rows) {
      OutputRows<decltype(group_rows)::value>(P + first * p_row_stride, p_row_stride, p_key_stride, m, V, v_stride,
                             acc + first * d, d);
    });
  });
}

// ------------------------------------------------------------- one pass

// At most kMaxKeysPerPass keys; `key_offset` = index of K[0] in the caller's block.
template <typename T>
void AttendPass(const QueryBlock& queries, const T* K, size_t k_stride, const T* V,
                size_t v_stride, size_t m, const uint32_t* visible, const uint32_t* first_visible,
                size_t key_offset, SoftmaxAccumulator& state) {
  const size_t R = queries.rows(), d = queries.dim(), heads = queries.heads();
  const size_t Rp = RoundUp(R, kRowPad);
  const bool transposed = queries.transposed();
  // The transposed path reads K and V as contiguous f32: f16/bf16 are widened,
  // strided f32 rows copied (rows a power-of-two apart alias in L1).
  const bool widen = transposed && (!std::is_same_v<T, float> || k_stride != d || v_stride != d);
  const size_t s_stride = transposed ? Rp : kRowChunk;
  const size_t s_floats = transposed ? m * Rp : R * s_stride;
  const size_t widened = widen ? 2 * m * d : 0;
  // After S: alpha, then the rows' key ranges [first, visible) in this pass
  // and in the current chunk of it (row path), Rp each.
  constexpr size_t kRowArrays = 5;
  float* scratch = state.scratch(s_floats + kRowArrays * Rp + widened);
  float* S = scratch;
  float* alpha = S + s_floats;
  int32_t* visible_rows = reinterpret_cast<int32_t*>(alpha + Rp);
  int32_t* first_rows = visible_rows + Rp;
  for (size_t r = 0; r < Rp; ++r) {
    visible_rows[r] = r < R ? int32_t(KeysBelow(visible, r / heads, key_offset, m, m)) : 0;
    first_rows[r] = r < R ? int32_t(KeysBelow(first_visible, r / heads, key_offset, m, 0)) : 0;
  }
  const bool masked = visible != nullptr || first_visible != nullptr;

  if (transposed) {
    const float* Kf = reinterpret_cast<const float*>(K);
    const float* Vf = reinterpret_cast<const float*>(V);
    size_t kf_stride = k_stride, vf_stride = v_stride;
    if (widen) {  // the micro-kernels read each element R/MR times: widen once
      float* k_wide = alpha + kRowArrays * Rp;
      float* v_wide = k_wide + m * d;
      for (size_t j = 0; j < m; ++j) {
        ConvertRowToF32(K + j * k_stride, d, k_wide + j * d);
        ConvertRowToF32(V + j * v_stride, d, v_wide + j * d);
      }
      Kf = k_wide, Vf = v_wide, kf_stride = vf_stride = d;
    }
    ScoresTransposed(Kf, kf_stride, m, d, queries.data(), Rp, S);
    SoftmaxColumns(S, m, Rp, first_rows, visible_rows, masked, state.mutable_max(), state.mutable_sum(), alpha);
    RescaleRows(state.mutable_acc(), R, d, alpha);
    AccumulateOutput(S, 1, Rp, R, m, Vf, vf_stride, state.mutable_acc(), d);
  } else {
    // Short chunks: each key's K and V rows are used soon after they arrive
    // (decode streams them from memory once); rescaling the few output rows
    // per chunk is cheap and skipped once the running max settles.
    // Fetch the start of the pass now: the in-loop prefetch runs kPrefetchKeys
    // ahead, so a short block (one store chunk) would otherwise wait on each line.
    for (size_t j = 0; j < std::min(m, kPrefetchKeys); ++j) {
      PrefetchRow(K + j * k_stride, d);
      PrefetchRow<2>(V + j * v_stride, d);
    }
    int32_t* chunk_visible = first_rows + Rp;
    int32_t* chunk_first = chunk_visible + Rp;
    for (size_t first = 0; first < m; first += kRowChunk) {
      const size_t keys = std::min(kRowChunk, m - first);
      for (size_t r = 0; r < R; ++r) {
        chunk_visible[r] = int32_t(std::clamp<size_t>(size_t(visible_rows[r]), first, first + keys) - first);
        chunk_first[r] = int32_t(std::clamp<size_t>(size_t(first_rows[r]), first, first + keys) - first);
      }
      ScoresRows(queries.data(), R, d, K + first * k_stride, k_stride, V + first * v_stride, v_stride,
                 keys, S, s_stride);
      SoftmaxRows(S, s_stride, R, keys, chunk_first, chunk_visible, state.mutable_max(), state.mutable_sum(),
                  alpha);
      RescaleRows(state.mutable_acc(), R, d, alpha);
      AccumulateOutput(S, s_stride, 1, R, keys, V + first * v_stride, v_stride, state.mutable_acc(), d);
    }
  }
}

}  // namespace

void AttendBlock(const QueryBlock& queries, const KVBlock& kv, const uint32_t* visible,
                 SoftmaxAccumulator& state, const uint32_t* first_visible) {
  if (queries.rows() == 0 || kv.m == 0) return;
  VisitStorage(kv.dtype, [&](auto* type) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(type)>>;
    const T* K = static_cast<const T*>(kv.k);
    const T* V = static_cast<const T*>(kv.v);
    for (size_t j0 = 0; j0 < kv.m; j0 += kMaxKeysPerPass) {
      const size_t m = std::min(kMaxKeysPerPass, kv.m - j0);
      AttendPass(queries, K + j0 * kv.k_stride, kv.k_stride, V + j0 * kv.v_stride, kv.v_stride, m,
                 visible, first_visible, j0, state);
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace landmark
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace landmark {

HWY_EXPORT(AttendBlock);

void AttendBlock(const QueryBlock& queries, const KVBlock& kv, const uint32_t* visible,
                 SoftmaxAccumulator& state, const uint32_t* first_visible) {
  LANDMARK_CHECK_ARG(state.rows() == queries.rows() && state.dim() == queries.dim(),
                     "AttendBlock: the accumulator was not Reset() for these queries");
  HWY_DYNAMIC_DISPATCH(AttendBlock)(queries, kv, visible, state, first_visible);
}

}  // namespace landmark
#endif  // HWY_ONCE
