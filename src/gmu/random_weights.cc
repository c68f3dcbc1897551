// Random-initialised cross-decoder weights (benchmarks, tests).

#include <cmath>
#include <cstdint>
#include <random>

#include "src/gmu/cross_decoder.h"
#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "src/io/safetensors.h"

namespace landmark {
namespace {

struct Tensors {
  DType dtype;
  std::mt19937_64 rng;
  std::vector<std::vector<uint8_t>> storage;
  std::vector<TensorToWrite> list;

  void Add(const std::string& name, std::vector<size_t> shape, bool ones) {
    const size_t n = shape.size() == 1 ? shape[0] : shape[0] * shape[1];
    std::vector<float> v(n, 1.0f);
    if (!ones) {
      // Uniform with the variance of normal(0, 1/fan_in): gigabytes in seconds.
      const float scale = std::sqrt(3.0f / float(shape[1])) / 2147483648.0f;
      uint64_t state = rng() | 1;
      for (float& x : v) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        x = float(int32_t(state >> 32)) * scale;
      }
    }
    std::vector<uint8_t> bytes(n * SizeOf(dtype));
    ConvertFromF32(v.data(), n, dtype, bytes.data());
    storage.push_back(std::move(bytes));
    list.push_back({name, dtype, std::move(shape), storage.back().data()});
  }
};

}  // namespace

void WriteRandomCrossDecoderWeights(const CrossDecoderConfig& c, const std::string& path, DType dtype, uint64_t seed) {
  c.Validate();
  LANDMARK_CHECK_ARG(dtype == DType::kF32 || dtype == DType::kBF16, "init-weights: dtype must be f32 or bf16");
  Tensors t{dtype, std::mt19937_64(seed), {}, {}};
  const size_t D = c.d_model, dm = c.d_memory(), F = c.mlp_hidden;
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const std::string p = "layers." + std::to_string(i) + ".";
    t.Add(p + "norm", {D}, true);
    if (c.layers[i].kind == LayerKind::kHsa) {
      t.Add(p + "wq", {dm, D}, false);
      t.Add(p + "wo", {D, dm}, false);
    } else if (c.gmu == GmuVariant::kSambaY) {
      t.Add(p + "gmu.w_in", {dm, D}, false);
      t.Add(p + "gmu.w_out", {D, dm}, false);
    } else {
      t.Add(p + "gmu.w_c", {dm, D}, false);
      t.Add(p + "gmu.w_m", {dm, dm}, false);
      t.Add(p + "gmu.w_g", {dm, 2 * dm}, false);
      t.Add(p + "gmu.w_out", {D, dm}, false);
    }
    if (F > 0) {
      t.Add(p + "mlp_norm", {D}, true);
      t.Add(p + "mlp.w_gate", {F, D}, false);
      t.Add(p + "mlp.w_up", {F, D}, false);
      t.Add(p + "mlp.w_down", {D, F}, false);
    }
  }
  t.Add("final_norm", {D}, true);
  std::string kinds;
  for (const auto& l : c.layers) kinds += std::string(kinds.empty() ? "" : ",") + Name(l.kind);
  WriteSafeTensors(path, t.list, {{"landmark.cross_decoder.layers", kinds}, {"landmark.seed", std::to_string(seed)}});
}

}  // namespace landmark
