// WriteRandomLlm: a Hugging Face model directory with random weights, for
// benchmarks and tests: config.json as transformers 5 writes it, the
// tensors TensorSpecs names in one file or in shards with an index.
#include "testing/random_weights.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "landmark/error.h"
#include "landmark/llm.h"
#include "src/llm/weights.h"

namespace landmark::llm {
namespace {

nlohmann::json ConfigJson(const LlmConfig& c, DType dtype) {
  nlohmann::json j;
  j["architectures"] = {Name(c.architecture)};
  const char* model_type[] = {"llama", "qwen2", "qwen3", "mistral"};
  j["model_type"] = model_type[size_t(c.architecture)];
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.layers;
  j["num_attention_heads"] = c.q_heads;
  j["num_key_value_heads"] = c.kv_heads;
  j["head_dim"] = c.head_dim;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["hidden_act"] = "silu";
  if (c.architecture != Architecture::kQwen2) j["attention_bias"] = c.qkv_bias;
  nlohmann::json rope = {{"rope_type", c.rope.type}, {"rope_theta", c.rope.theta}};
  if (c.rope.type != "default") rope["factor"] = c.rope.factor;
  if (c.rope.type == "llama3") {
    rope["low_freq_factor"] = c.rope.low_freq_factor;
    rope["high_freq_factor"] = c.rope.high_freq_factor;
    rope["original_max_position_embeddings"] = c.rope.original_max_position_embeddings;
  }
  j["rope_parameters"] = rope;
  const size_t window = *std::max_element(c.layer_windows.begin(), c.layer_windows.end());
  j["sliding_window"] = window ? nlohmann::json(window) : nlohmann::json(nullptr);
  if (c.architecture == Architecture::kQwen2 || c.architecture == Architecture::kQwen3) {
    std::vector<std::string> types;
    for (size_t w : c.layer_windows) types.push_back(w ? "sliding_attention" : "full_attention");
    j["layer_types"] = types;
    j["use_sliding_window"] = window != 0;
  }
  j["dtype"] = dtype == DType::kBF16 ? "bfloat16" : dtype == DType::kF16 ? "float16" : "float32";
  j["bos_token_id"] = c.bos_id >= 0 ? nlohmann::json(c.bos_id) : nlohmann::json(nullptr);
  j["eos_token_id"] = c.eos_ids.empty() ? nlohmann::json(nullptr)
                      : c.eos_ids.size() == 1 ? nlohmann::json(c.eos_ids[0]) : nlohmann::json(c.eos_ids);
  return j;
}

}  // namespace

void WriteRandomLlm(const std::string& dir, const LlmConfig& config, uint64_t seed, DType dtype, size_t shards) {
  LANDMARK_CHECK_ARG(shards >= 1, "random model: shards must be >= 1");
  LlmConfig c = config;
  c.layer_windows.resize(c.layers, 0);
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(std::filesystem::path(dir) / "config.json");
    out << ConfigJson(c, dtype).dump(2) << "\n";
    LANDMARK_CHECK_ARG(out.good(), dir + "/config.json: cannot write");
  }
  // Each tensor its own stream of the seed (RandomTensor, nn.h).
  const std::vector<TensorSpec> specs = TensorSpecs(c);
  std::vector<std::vector<uint8_t>> data(specs.size());
  uint64_t total = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    data[i] = RandomTensor(specs[i], seed, i, dtype);
    total += data[i].size();
  }
  // Shards of about equal bytes, tensors in order, named as transformers names them.
  const std::filesystem::path root(dir);
  auto five_digits = [](size_t n) {
    const std::string s = std::to_string(n);
    return std::string(s.size() < 5 ? 5 - s.size() : 0, '0') + s;
  };
  nlohmann::json weight_map = nlohmann::json::object();
  size_t next = 0;
  uint64_t written = 0;
  for (size_t shard = 0; shard < shards; ++shard) {
    const std::string name = shards == 1 ? "model.safetensors"
                                         : "model-" + five_digits(shard + 1) + "-of-" + five_digits(shards) +
                                               ".safetensors";
    const uint64_t target = total * (shard + 1) / shards;
    std::vector<TensorToWrite> tensors;
    while (next < specs.size() && (shard + 1 == shards || written < target || tensors.empty())) {
      tensors.push_back({specs[next].name, dtype, specs[next].shape, data[next].data()});
      weight_map[specs[next].name] = name;
      written += data[next].size();
      ++next;
    }
    WriteSafeTensors((root / name).string(), tensors, {{"format", "pt"}});
  }
  if (shards > 1) {
    std::ofstream out(root / "model.safetensors.index.json");
    out << nlohmann::json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump(2) << "\n";
    LANDMARK_CHECK_ARG(out.good(), dir + "/model.safetensors.index.json: cannot write");
  }
}

}  // namespace landmark::llm
