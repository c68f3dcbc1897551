// LlmConfig from config.json in both transformers forms, the fixtures'
// shapes, RoPE inverse frequencies against transformers' buffers, and the
// errors for what is unsupported, missing, ill-typed or inconsistent.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "landmark/error.h"
#include "landmark/llm.h"
#include "src/llm/rope.h"
#include "tests/llm/fixtures.h"

namespace landmark {
namespace {

using llm::Architecture;
using llm::LlmConfig;

// A minimal Llama config.json with `extra` fields added or replaced.
std::string Config(const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json j = {{"architectures", {"LlamaForCausalLM"}},
                      {"vocab_size", 100},
                      {"hidden_size", 64},
                      {"intermediate_size", 128},
                      {"num_hidden_layers", 2},
                      {"num_attention_heads", 4},
                      {"num_key_value_heads", 2},
                      {"max_position_embeddings", 256},
                      {"rms_norm_eps", 1e-5},
                      {"rope_theta", 10000.0}};
  for (const auto& [key, value] : extra.items()) j[key] = value;
  return j.dump();
}

LlmConfig Parse(const nlohmann::json& extra, const std::string& generation = "") {
  return LlmConfig::Parse(Config(extra), generation, "/models/m");
}

TEST_CASE("llm config: the fixtures' architectures, shapes, windows, biases and eos ids") {
  const LlmConfig l3 = LlmConfig::FromDirectory(test::ModelDir("llama3"));
  CHECK(l3.architecture == Architecture::kLlama);
  CHECK(l3.head_dim == 16);
  CHECK(l3.tie_word_embeddings);
  CHECK(l3.rope.type == "llama3");
  CHECK(l3.rope.theta == 500000.0);
  CHECK(l3.rope.original_max_position_embeddings == 8192);
  CHECK(l3.eos_ids.empty());
  CHECK(l3.layer_windows == std::vector<size_t>{0, 0});
  const LlmConfig q2 = LlmConfig::FromDirectory(test::ModelDir("qwen2"));
  CHECK(q2.architecture == Architecture::kQwen2);
  CHECK(q2.qkv_bias);
  CHECK(!q2.o_bias);
  CHECK(q2.head_dim == 16);
  const LlmConfig q3 = LlmConfig::FromDirectory(test::ModelDir("qwen3"));
  CHECK(q3.qk_norm);
  CHECK(q3.head_dim == 32);
  CHECK(!q3.qkv_bias);
  const LlmConfig mistral = LlmConfig::FromDirectory(test::ModelDir("mistral"));
  CHECK(mistral.layer_windows == std::vector<size_t>{16, 16});
  CHECK(mistral.eos_ids == std::vector<int32_t>{2});
  CHECK(mistral.bos_id == 1);
  CHECK(LlmConfig::FromDirectory(test::ModelDir("qwen2-f16")).dtype == DType::kF16);
  // transformers 4.x form: rope_theta beside rope_scaling null, torch_dtype.
  const LlmConfig stories = LlmConfig::FromDirectory(test::kLlmData + "stories260K/hf");
  CHECK(stories.rope.type == "default");
  CHECK(stories.kv_heads == 4);
  CHECK(stories.head_dim == 8);
  CHECK(stories.max_position_embeddings == 512);
  CHECK(stories.parameters() > 250000);
  CHECK(stories.parameters() < 270000);
}

TEST_CASE("llm config: RoPE forms (rope_parameters, rope_scaling type or rope_type), generation config") {
  const LlmConfig linear = Parse({{"rope_scaling", {{"type", "linear"}, {"factor", 4.0}}}});
  CHECK(linear.rope.type == "linear");
  CHECK(linear.rope.factor == 4.0);
  const LlmConfig v5 = Parse({{"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1e6}}}});
  CHECK(v5.rope.theta == 1e6);
  const LlmConfig none = Parse({{"rope_scaling", nullptr}, {"head_dim", nullptr}});
  CHECK(none.rope.type == "default");
  CHECK(none.head_dim == 16);
  const LlmConfig g = Parse({{"eos_token_id", {5, 6}}},
                            R"({"eos_token_id": [6, 7], "do_sample": true, "temperature": 0.6, "top_p": 0.9})");
  CHECK(g.eos_ids == std::vector<int32_t>{5, 6, 7});
  CHECK(g.generation.do_sample);
  CHECK(g.generation.temperature == 0.6);
  CHECK(g.generation.top_p == 0.9);
  const LlmConfig qwen = Parse({{"architectures", {"Qwen2ForCausalLM"}},
                                {"use_sliding_window", true},
                                {"sliding_window", 32},
                                {"max_window_layers", 1}});
  CHECK(qwen.layer_windows == std::vector<size_t>{0, 32});
}

TEST_CASE("llm rope: inverse frequencies equal transformers' (default, llama3) bit for bit") {
  for (const char* name : {"llama3", "qwen2", "qwen3", "mistral", "llama2"}) {
    CAPTURE(name);
    const LlmConfig c = LlmConfig::FromDirectory(test::ModelDir(name));
    const test::Reference ref = test::ReadReference(name);
    const std::vector<float> got = llm::Rope(c).inv_freq();
    REQUIRE(got.size() == ref.inv_freq.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i);
      CHECK(double(got[i]) == ref.inv_freq[i]);
    }
  }
  llm::RopeConfig linear;
  linear.type = "linear";
  linear.factor = 2.0;
  const std::vector<float> plain = llm::InverseFrequencies(llm::RopeConfig{}, 8);
  const std::vector<float> halved = llm::InverseFrequencies(linear, 8);
  CHECK(plain[0] == 1.0f);
  for (size_t i = 0; i < 4; ++i) CHECK(halved[i] == plain[i] / 2.0f);
}

void CheckError(const nlohmann::json& extra, const std::string& message) {
  CAPTURE(extra.dump());
  CHECK_THROWS_WITH_AS(Parse(extra), doctest::Contains(message.c_str()), Error);
}

TEST_CASE("llm config: errors name the file and the field") {
  CheckError({{"architectures", {"GPT2LMHeadModel"}}},
             "/models/m/config.json: architectures: unsupported architecture GPT2LMHeadModel");
  CheckError({{"hidden_size", "64"}}, "config.json: hidden_size: expected a positive integer, got \"64\"");
  CheckError({{"num_key_value_heads", 3}}, "num_key_value_heads: 3 does not divide num_attention_heads (4)");
  CheckError({{"hidden_size", 66}}, "hidden_size: 66 is not a multiple of num_attention_heads (4)");
  CheckError({{"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}}}},
             "config.json: rope_scaling: rope_type: unsupported rope type yarn");
  CheckError({{"rope_parameters", {{"rope_type", "llama3"}, {"factor", 8.0}}}},
             "rope_parameters: low_freq_factor: missing (rope type llama3)");
  CheckError({{"hidden_act", "gelu"}}, "hidden_act: unsupported activation gelu");
  CheckError({{"dtype", "float64"}}, "dtype: unsupported dtype float64");
  CheckError({{"eos_token_id", 100}}, "eos_token_id: 100 is outside the vocabulary");
  CheckError({{"eos_token_id", "x"}}, "eos_token_id: expected a token id");
  CHECK_THROWS_WITH_AS(LlmConfig::Parse("{\"vocab_size\": 1", "", "/m"), doctest::Contains("/m/config.json: not valid JSON"),
                       Error);
  nlohmann::json missing = nlohmann::json::parse(Config());
  missing.erase("num_hidden_layers");
  CHECK_THROWS_WITH_AS(LlmConfig::Parse(missing.dump(), "", "/m"),
                       doctest::Contains("/m/config.json: num_hidden_layers: missing"), Error);
  CHECK_THROWS_WITH_AS(LlmConfig::Parse(Config(), R"({"top_p": 2})", "/m"),
                       doctest::Contains("/m/generation_config.json: top_p: expected a number in (0, 1]"), Error);
  CHECK_THROWS_WITH_AS(LlmConfig::FromDirectory("/nonexistent-model"), doctest::Contains("not a model directory"),
                       Error);
}

}  // namespace
}  // namespace landmark
