// Seeded random weights in the modules' own file layouts: for tests,
// benchmarks and the CLI's generators (`landmark model random`, `landmark gmu
// init-weights`) before trained weights exist. Deterministic in the seed;
// dtype f32 or bf16 (RandomTensor also f16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "landmark/dtype.h"
#include "landmark/llm.h"
#include "landmark/model.h"
#include "src/gmu/cross_decoder.h"
#include "src/nn/nn.h"

namespace landmark {

// Random values of `spec` in `dtype` (f32, bf16 or f16): stream `stream` of
// `seed`, so every tensor is independent of the others' sizes.
std::vector<uint8_t> RandomTensor(const TensorSpec& spec, uint64_t seed, size_t stream, DType dtype);

// specs[i] from stream i, into one .safetensors (dtype f32 or bf16).
void WriteRandomTensors(const std::string& path, const std::vector<TensorSpec>& specs, uint64_t seed, DType dtype,
                        const std::map<std::string, std::string>& metadata);

// landmark's byte model (docs/model.md), scaled like an initialised model.
void WriteRandomModel(const std::string& path, const ModelConfig& config, uint64_t seed,
                      DType dtype = DType::kBF16);

// The cross-decoder's weights file (src/gmu/cross_decoder.h).
void WriteRandomCrossDecoderWeights(const CrossDecoderConfig& config, const std::string& path, DType dtype,
                                    uint64_t seed);

namespace llm {

// A model directory in the Hugging Face layout (config.json of `config`'s
// architecture and shape, model.safetensors or `shards` files with an index).
void WriteRandomLlm(const std::string& dir, const LlmConfig& config, uint64_t seed, DType dtype,
                    size_t shards = 1);

}  // namespace llm
}  // namespace landmark
