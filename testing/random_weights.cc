// Random weights from the modules' TensorSpecs (tests, benchmarks, `landmark
// model random`, `landmark gmu init-weights`): uniform values with the
// variance of the usual initialisation, one splitmix64 stream per tensor.
#include "testing/random_weights.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "landmark/error.h"
#include "src/core/splitmix.h"
#include "src/io/safetensors.h"
#include "src/kernels/kernels.h"
#include "src/gmu/cross_decoder.h"
#include "src/model/layers.h"
#include "src/nn/nn.h"

namespace landmark {

std::vector<uint8_t> RandomTensor(const TensorSpec& spec, uint64_t seed, size_t stream, DType dtype) {
  size_t n = 1;
  for (size_t dim : spec.shape) n *= dim;
  SplitMix64 rng{seed * 0x100000001b3ull + stream};
  float base = 0.0f, scale = 0.05f;  // kBias
  switch (spec.init) {
    case Init::kMatrix:
      LANDMARK_CHECK_ARG(spec.shape.size() == 2, spec.name + ": a matrix's initialisation needs [out][in]");
      scale = float(std::sqrt(3.0 / double(spec.shape[1])));  // uniform(±a): variance a²/3 = 1/in
      break;
    case Init::kEmbedding:
      scale = float(std::sqrt(3.0));
      break;
    case Init::kNorm:
      base = 1.0f;
      scale = 0.1f;
      break;
    case Init::kBias:
      break;
  }
  std::vector<uint8_t> bytes(n * SizeOf(dtype));
  std::vector<float> block(std::min<size_t>(n, size_t(1) << 20));
  for (size_t first = 0; first < n; first += block.size()) {
    const size_t count = std::min(block.size(), n - first);
    for (size_t k = 0; k < count; ++k) block[k] = base + scale * rng.Symmetric();
    ConvertFromF32(block.data(), count, dtype, bytes.data() + first * SizeOf(dtype));
  }
  return bytes;
}

void WriteRandomTensors(const std::string& path, const std::vector<TensorSpec>& specs, uint64_t seed, DType dtype,
                        const std::map<std::string, std::string>& metadata) {
  LANDMARK_CHECK_ARG(dtype == DType::kF32 || dtype == DType::kBF16, path + ": random weights are f32 or bf16");
  std::vector<std::vector<uint8_t>> data(specs.size());
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < specs.size(); ++i) {
    data[i] = RandomTensor(specs[i], seed, i, dtype);
    tensors.push_back({specs[i].name, dtype, specs[i].shape, data[i].data()});
  }
  WriteSafeTensors(path, tensors, metadata);
}

void WriteRandomModel(const std::string& path, const ModelConfig& config, uint64_t seed, DType dtype) {
  config.Validate(path);
  WriteRandomTensors(path, model::ModelTensors(config), seed, dtype, model::ModelMetadata(config));
}

void WriteRandomCrossDecoderWeights(const CrossDecoderConfig& config, const std::string& path, DType dtype,
                                    uint64_t seed) {
  config.Validate();
  WriteRandomTensors(path, CrossDecoderTensors(config), seed, dtype, CrossDecoderMetadata(config, seed));
}

}  // namespace landmark
