// Vectorised building blocks (Highway, dispatched at run time to the best
// target of this CPU). Shapes are in elements; strides are in elements.
// Queries and accumulators are f32; stored rows may be f32, f16 or bf16.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "landmark/dtype.h"

namespace landmark {

// ---------------------------------------------------------------- dot products

// a·b over `d` elements; a is f32, b is `b_type`. f32 accumulation.
float Dot(const float* a, const void* b, DType b_type, size_t d);

// out[i] = q·rows[i] for i < n; rows[i] starts at rows + i*row_stride
// (elements of `rows_type`). Used to score landmarks for one query.
void BatchedDot(const float* q, const void* rows, DType rows_type, size_t n, size_t d,
                size_t row_stride, float* out);

// out[h*out_stride + i] = q[h]·rows[i][h] for h < heads, i < n: one query
// per head (q [heads][d]) against that head's slice of each row, slice h of
// row i at rows + i*row_stride + h*head_stride. Each score is bit for bit
// BatchedDot's; the rows are read once, front to back (landmarks
// [chunk][head][R] for a query of every landmark head).
void BatchedDotHeads(const float* q, const void* rows, DType rows_type, size_t n, size_t heads, size_t d,
                     size_t head_stride, size_t row_stride, float* out, size_t out_stride);

// out[j] = max_g queries[g] · row_j for j < n, g < count: the best of `count`
// f32 queries [count][d] against n f32 rows packed in panels of
// kMaxDotsPanel rows, each panel transposed: element c of row j at
// panels[(j / kMaxDotsPanel) * d * kMaxDotsPanel + c * kMaxDotsPanel + j % kMaxDotsPanel]
// (ceil(n / kMaxDotsPanel) whole panels, read past row n up to the panel's
// end: pad with zeros). Pooled logits of sparse prefill:
// the max over a kv head's query heads. count = 0 leaves out untouched.
inline constexpr size_t kMaxDotsPanel = 64;
void MaxDotsPacked(const float* queries, size_t count, size_t d, const float* panels, size_t n,
                   float* out);

// ------------------------------------------------------------ column reductions

// Over n rows of d values (rows[i] at rows + i*row_stride, of `dtype`):
// out[k] = mean_i rows[i][k]  (ColumnMean, out [d]), or
// out[k] = min_i, out[d + k] = max_i rows[i][k]  (ColumnMinMax, out [2d]).
// f32 accumulation. n = 0 gives zeros (mean) / +inf, -inf (min, max).
void ColumnMean(const void* rows, DType dtype, size_t n, size_t d, size_t row_stride, float* out);
void ColumnMinMax(const void* rows, DType dtype, size_t n, size_t d, size_t row_stride, float* out);
// (1/n) Σ_i ‖rows[i]‖₂ over d elements (0 when n = 0): value-norm importance.
float MeanRowNorm(const void* rows, DType dtype, size_t n, size_t d, size_t row_stride);

// Quest upper bound (minmax landmarks): for each row i, with row = [min R | max R],
// out[i] = Σ_j max(r_j·min_j, r_j·max_j). Rows as in BatchedDot (stride in elements).
void BatchedQuestBound(const float* r, const void* rows, DType rows_type, size_t n, size_t R,
                       size_t row_stride, float* out);

// ------------------------------------------------------------------ selection

// Writes the ascending indices i < n with x[i] >= threshold (never a NaN) to
// out, which has room for n, and returns how many.
size_t IndicesAtLeast(const float* x, size_t n, float threshold, uint32_t* out);

// ------------------------------------------------------------------ conversion

void ConvertToF32(const void* src, DType src_type, size_t n, float* dst);
// Round to nearest even (f16, bf16).
void ConvertFromF32(const float* src, size_t n, DType dst_type, void* dst);

// ------------------------------------------------------------------ rotary

// RoPE in the rotate_half layout (Hugging Face): for each of `rows` rows of d
// values (src rows src_stride elements apart, of `src_type`), with the table
// row p = positions[r] of cos/sin [P][d/2]:
//   dst[i]       = x[i]·cos[p][i] − x[i + d/2]·sin[p][i]
//   dst[i + d/2] = x[i + d/2]·cos[p][i] + x[i]·sin[p][i]      (i < d/2)
// dst is f32 (dst_stride apart); it may equal src when src is f32 with the same stride.
void RotateHalf(const void* src, DType src_type, size_t rows, size_t d, size_t src_stride, const float* cos,
                const float* sin, const int64_t* positions, float* dst, size_t dst_stride);

// ------------------------------------------------------- block attention
//
// Online softmax over blocks of keys (FlashAttention-2 style): a set of query
// rows attends one block of m keys/values at a time, updating a running max,
// sum and unnormalised output per row; Finish() divides and reports the
// log-sum-exp. Query rows are `positions × heads`: the heads of one position
// are contiguous ([.., heads, d], the GQA group that shares one kv head), and
// positions are `position_stride` apart. Row r = position * heads + head.

// One block of m keys and values, each row d elements of `dtype`.
struct KVBlock {
  const void* k = nullptr;
  const void* v = nullptr;
  DType dtype = DType::kF32;
  size_t m = 0;         // keys in the block
  size_t k_stride = 0;  // elements between consecutive key rows
  size_t v_stride = 0;  // elements between consecutive value rows
};

// Queries prepared once for many blocks: scaled by `scale` (usually 1/sqrt(d))
// and laid out for the kernel (transposed when there are enough rows).
class QueryBlock {
 public:
  QueryBlock();
  ~QueryBlock();
  QueryBlock(QueryBlock&&) noexcept;
  QueryBlock& operator=(QueryBlock&&) noexcept;

  // q: [positions][heads][d] with positions `position_stride` apart.
  void Prepare(const float* q, size_t positions, size_t heads, size_t position_stride,
               size_t d, float scale);

  size_t rows() const { return rows_; }
  size_t positions() const { return positions_; }
  size_t heads() const { return heads_; }
  size_t dim() const { return d_; }
  bool transposed() const { return transposed_; }
  // Row-major [rows][d], or transposed [d][padded_rows()].
  const float* data() const { return data_.get(); }
  size_t padded_rows() const { return padded_rows_; }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float, Free> data_;
  size_t capacity_ = 0;
  size_t rows_ = 0, positions_ = 0, heads_ = 0, d_ = 0, padded_rows_ = 0;
  bool transposed_ = false;
};

// Running state of the online softmax for the rows of one QueryBlock, plus
// the scratch the kernel needs. Reuse one per task; Reset() keeps capacity.
class SoftmaxAccumulator {
 public:
  SoftmaxAccumulator();
  ~SoftmaxAccumulator();
  SoftmaxAccumulator(SoftmaxAccumulator&&) noexcept;
  SoftmaxAccumulator& operator=(SoftmaxAccumulator&&) noexcept;

  // Empty state (max = -inf, sum = 0, output = 0) for `queries`' rows.
  void Reset(const QueryBlock& queries);

  // out[position][head][:] = output row, normalised; lse likewise at
  // lse[position * lse_position_stride + head] (nullptr: not wanted).
  // Rows that saw no key give zeros and lse = -inf. `zero_logit` adds an
  // implicit extra logit 0 to the denominator (softmax-off-by-one).
  void Finish(float* out, size_t out_position_stride, float* lse,
              size_t lse_position_stride, bool zero_logit = false) const;

  size_t rows() const { return rows_; }
  size_t dim() const { return d_; }
  const float* max() const { return max_; }  // [rows], scaled logits
  const float* sum() const { return sum_; }  // [rows], Σ exp(logit - max)
  const float* acc() const { return acc_; }  // [rows][d], unnormalised

  // Internal, for the kernel.
  float* mutable_max() { return max_; }
  float* mutable_sum() { return sum_; }
  float* mutable_acc() { return acc_; }
  float* scratch(size_t floats);  // grows as needed, 64-byte aligned

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float, Free> state_, scratch_;
  size_t state_capacity_ = 0, scratch_capacity_ = 0;
  float *max_ = nullptr, *sum_ = nullptr, *acc_ = nullptr;
  size_t rows_ = 0, heads_ = 0, d_ = 0;
};

// Every row attends the block's keys [first_visible[position], visible[position])
// (visible nullptr: up to m; first_visible nullptr: from 0; an empty range
// means the row sees nothing of this block). first_visible is the lower
// edge of a sliding window.
void AttendBlock(const QueryBlock& queries, const KVBlock& kv, const uint32_t* visible,
                 SoftmaxAccumulator& state, const uint32_t* first_visible = nullptr);

// -------------------------------------------------------------- combiners

// Joint softmax of partial results (InfLLM/Quest/MoBA LSE merge):
// out[r] = Σ_i exp(lse[i][r] − LSE[r]) · outs[i][r],  LSE[r] = logsumexp_i lse[i][r].
// outs: [parts][rows][d], lses: [parts][rows]; lse_out may be nullptr.
// Parts with lse = -inf contribute nothing; all -inf gives zeros and -inf.
void MergeByLse(const float* outs, const float* lses, size_t parts, size_t rows, size_t d,
                float* out, float* lse_out);

// HSA fusion: out[r] = Σ_i weights[i][r] · outs[i][r]; weights: [parts][rows].
void WeightedSum(const float* outs, const float* weights, size_t parts, size_t rows,
                 size_t d, float* out);

// Name of the Highway target the kernels dispatch to on this CPU (e.g. "AVX3").
const char* KernelTarget();

// Caps dispatch at `name` or below (AVX3, AVX2, SSE4, SSSE3, EMU128, SCALAR;
// case-insensitive), e.g. to measure the AVX2 path on an AVX-512 machine.
// Process-wide; throws landmark::Error for an unknown name. Returns the
// target now in use (lower than asked if the CPU lacks it).
const char* CapKernelTarget(std::string_view name);

}  // namespace landmark
