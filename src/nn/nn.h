// Dense building blocks of model layers (the GMU, the HSA layer and the MLP
// that the byte model, the cross-decoder and the pretrained LLMs share): a
// linear layer, RMSNorm, the activations and weights by tensor name.
// Row-major f32 activations everywhere; weights f32, bf16 or f16.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "landmark/dtype.h"

namespace landmark {

class SafeTensors;

// y[M][out] = x[M][in] · Wᵀ with W row-major [out][in] (torch nn.Linear's
// layout). No bias. Weights f32, bf16 or f16, copied (the constructor) or
// used in place (Borrow: a memory-mapped checkpoint, no copy):
//  - M ≤ 8 rows (decode): Highway dot products per block of output rows,
//    threaded over blocks; reads W once in its own dtype (bandwidth-bound)
//    and each block M times from L2. (oneDNN here lost to OpenMP and TBB
//    threads contending for the cores, and repacks W on every call.)
//  - larger M: one oneDNN matmul; bf16 weights run as bf16 × bf16 → f32
//    where the CPU has AVX512_BF16, else they are widened to f32 a tile of
//    rows at a time (oneDNN 2.6 has no fast bf16 path without it, and no
//    f16 matmul at all: f16 weights are always widened by tiles).
class Linear {
 public:
  Linear() = default;
  // Copies `weights` ([out][in] of dtype).
  Linear(const void* weights, DType dtype, size_t out, size_t in);
  // Reads `weights` where they are: they must outlive this Linear (and any
  // Linear moved from it). The 2-byte dtypes need 2-byte alignment.
  static Linear Borrow(const void* weights, DType dtype, size_t out, size_t in);
  ~Linear();
  Linear(Linear&&) noexcept;
  Linear& operator=(Linear&&) noexcept;

  size_t in() const { return in_; }
  size_t out() const { return out_; }
  DType dtype() const { return dtype_; }
  uint64_t weight_bytes() const { return uint64_t(in_) * out_ * SizeOf(dtype_); }
  const void* weights() const { return data_; }
  bool borrowed() const { return data_ != nullptr && owned_.empty(); }

  // y = x·Wᵀ (accumulate: y += x·Wᵀ). x and y must not overlap. Safe to call
  // from several threads at once.
  void Forward(const float* x, size_t M, float* y, bool accumulate = false) const;

 private:
  struct Gemm;
  size_t out_ = 0, in_ = 0;
  DType dtype_ = DType::kF32;
  std::vector<uint8_t> owned_;    // [out][in] of dtype_ when copied
  const uint8_t* data_ = nullptr;  // owned_.data() or the borrowed weights
  Gemm* gemm_ = nullptr;           // oneDNN state, made on first large-M call
};

// y = x / sqrt(mean(x²) + eps) ⊙ weight over each group of `group` values of
// each of `rows` rows of `d` values (group = d: ordinary RMSNorm; group =
// head_dim: per-head norm, weight still [d]). y may equal x.
void RmsNorm(const float* x, const float* weight, size_t rows, size_t d, size_t group, float eps,
             float* y);

// In place, n values.
void Silu(float* x, size_t n);  // x·σ(x)
void Gelu(float* x, size_t n);  // tanh approximation (torch approximate="tanh")

// y = b + σ(g) ⊙ (a − b) = σ(g)⊙a + (1−σ(g))⊙b, n values (the gated mix).
void SigmoidMix(const float* g, const float* a, const float* b, size_t n, float* y);

// y = m ⊙ SiLU(a), n values (the GMU gate). y may equal a or m.
void SiluGate(const float* m, const float* a, size_t n, float* y);

// y += x, n values.
void AddInPlace(float* y, const float* x, size_t n);

// Weights by tensor name. Each layer piece (HsaLayer, GatedMemoryUnit, Mlp)
// lists its tensors once, as TensorSpecs: its loader reads those names and
// shapes, and random weights for tests and benchmarks are written from the
// same list, so a name is spelt in one place.

// How random weights initialise a tensor (uniform, so gigabytes take seconds).
enum class Init : uint8_t {
  kMatrix,     // [out][in], variance 1/in: activations stay of order 1
  kEmbedding,  // variance 1
  kNorm,       // 1 + uniform(±0.1)
  kBias,       // uniform(±0.05)
};

struct TensorSpec {
  std::string name;
  std::vector<size_t> shape;
  Init init = Init::kMatrix;
};

// A tensor of `shape` widened to f32; throws naming the tensor when it is
// missing, mis-shaped or holds a non-finite value.
std::vector<float> LoadValues(const SafeTensors& file, const std::string& name, const std::vector<size_t>& shape);

// [rows][in] matrices stacked along the output dimension into one Linear
// [names.size()·rows][in] (one matmul for several projections of the same
// input), checked like LoadValues. Kept in the file's dtype when every part
// is bf16 (oneDNN's bf16 matmul on AVX512_BF16; half the bytes per decode
// step) or every part f32; otherwise widened to f32.
Linear LoadStackedLinear(const SafeTensors& file, const std::vector<std::string>& names, size_t rows, size_t in);

// LoadStackedLinear of one matrix [out, in]:
Linear LoadLinear(const SafeTensors& weights, const std::string& name, size_t out, size_t in);
// LoadValues of a vector [n], e.g. a norm's weight:
std::vector<float> LoadVector(const SafeTensors& weights, const std::string& name, size_t n);

}  // namespace landmark
