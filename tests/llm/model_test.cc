// Pretrained-LLM parity: logits of tiny random Llama 3 / Qwen2 / Qwen3 /
// Mistral / Llama 2 models against transformers (float64 forward of the same
// weights, tests/data/llm/models), greedy continuations, the real
// stories260K model's greedy output token for token, RoPE frequencies,
// sampling, and bad model directories.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "landmark/error.h"
#include "landmark/kernels.h"
#include "landmark/llm.h"
#include "landmark/npy.h"
#include "landmark/tokenizer.h"
#include "src/llm/dense_cache.h"
#include "src/llm/model_access.h"
#include "src/llm/rope.h"
#include "src/llm/transformer.h"
#include "tests/temp_dir.h"

namespace landmark {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
const std::string kModels = LANDMARK_TEST_DATA "/llm/models";
const std::string kStories = LANDMARK_TEST_DATA "/llm/stories260K";

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

// max |a − b| / max |b| over the rows of one prompt.
double RelativeError(const float* got, const float* want, size_t n) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < n; ++i) {
    err = std::max(err, std::abs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::abs(double(want[i])));
  }
  return err / std::max(scale, 1e-30);
}

// Tolerance for the weights' dtype: the reference used the same rounded
// weights; with bf16 weights on AVX512_BF16 the activations round to bf16 too.
double Tolerance(const std::string& model) {
  if (model.find("bf16") != std::string::npos) return 2e-2;
  if (model.find("f16") != std::string::npos) return 1e-3;
  return 1e-4;
}

void CheckParity(const std::string& name) {
  CAPTURE(name);
  const LlmModel model = LlmModel::Load(kModels + "/" + name);
  const size_t V = model.config().vocab_size;
  const json ref = ReadJson(kModels + "/" + name + "/reference/reference.json");
  size_t i = 0;
  for (const json& prompt : ref["prompts"]) {
    const std::vector<int32_t> ids = prompt["ids"].get<std::vector<int32_t>>();
    const std::vector<size_t> positions = prompt["positions"].get<std::vector<size_t>>();
    CAPTURE(ids.size());
    const NpyArray want = NpyArray::Open(kModels + "/" + name + "/reference/logits_" + std::to_string(i++) + ".npy");
    REQUIRE(want.shape() == std::vector<size_t>{positions.size(), V});
    const std::vector<float> got = DenseLogits(model, ids);
    std::vector<float> rows;
    for (size_t p : positions) rows.insert(rows.end(), got.begin() + long(p * V), got.begin() + long((p + 1) * V));
    CHECK(RelativeError(rows.data(), static_cast<const float*>(want.data()), rows.size()) <= Tolerance(name));
    // Greedy continuation: the same 12 tokens (where the top-2 margin is not razor thin).
    if (Tolerance(name) <= 1e-4 && prompt["min_top2_gap"].get<double>() > 1e-3) {
      LlmSampling greedy;
      greedy.max_tokens = 12;
      const LlmGeneration g = Generate(model, ids, greedy);
      std::vector<int32_t> expected = prompt["greedy"].get<std::vector<int32_t>>();
      const std::vector<int32_t> stops = llm::StopIds(model);
      for (size_t k = 0; k < expected.size(); ++k) {
        if (std::find(stops.begin(), stops.end(), expected[k]) != stops.end()) {
          expected.resize(k);
          break;
        }
      }
      CHECK(g.tokens == expected);
    }
  }
}

TEST_CASE("llm: logits match transformers for Llama 3 (llama3 RoPE, tied, sharded), Qwen2, Qwen3, Mistral, Llama 2") {
  for (const char* name : {"llama3", "qwen2", "qwen3", "mistral", "llama2"}) CheckParity(name);
}

TEST_CASE("llm: bf16 and f16 weights, on every kernel path") {
  for (const char* isa : {"AVX3", "AVX2"}) {
    CAPTURE(isa);
    CapKernelTarget(isa);
    CheckParity("llama3-bf16");
    CheckParity("qwen2-f16");
  }
  CapKernelTarget("AVX3");
}

TEST_CASE("llm: RoPE inverse frequencies are transformers' (default and llama3 scaling)") {
  for (const char* name : {"llama3", "qwen2", "qwen3", "mistral"}) {
    CAPTURE(name);
    const LlmConfig c = LlmConfig::FromDirectory(kModels + "/" + name);
    const llm::Rope rope(c);
    const std::vector<double> want = ReadJson(kModels + "/" + name + "/reference/reference.json")["inv_freq"];
    REQUIRE(rope.inv_freq().size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) CHECK(double(rope.inv_freq()[i]) == doctest::Approx(want[i]).epsilon(2e-7));
  }
}

TEST_CASE("llm: a prompt in pieces and token by token gives the logits of one pass") {
  const LlmModel model = LlmModel::Load(kModels + "/mistral");  // the sliding window is crossed too
  const LlmConfig& c = model.config();
  const std::vector<int32_t> ids =
      ReadJson(kModels + "/mistral/reference/reference.json")["prompts"][2]["ids"].get<std::vector<int32_t>>();
  REQUIRE(ids.size() > 2 * c.sliding_window);
  const std::vector<float> whole = DenseLogits(model, ids);
  for (size_t piece : {size_t(1), size_t(7), size_t(40)}) {
    CAPTURE(piece);
    llm::Rope rope(c);
    llm::DenseKvCache cache(c.layers, c.q_heads, c.kv_heads, c.head_dim, c.sliding_window, rope);
    std::vector<float> logits(c.vocab_size);
    for (size_t first = 0; first < ids.size(); first += piece) {
      const size_t T = std::min(piece, ids.size() - first);
      llm::Forward(model.impl(), &ids[first], T, first, cache, logits.data(), 1);
      const size_t last = first + T - 1;
      CHECK(RelativeError(logits.data(), &whole[last * c.vocab_size], c.vocab_size) < 1e-5);
    }
  }
}

TEST_CASE("llm: the real stories260K model reproduces its greedy story token for token") {
  const LlmModel model = LlmModel::Load(kStories + "/hf");
  const json logits = ReadJson(kStories + "/reference/logits_first4.json");
  const std::vector<int32_t> input = logits["input_tokens"].get<std::vector<int32_t>>();
  const std::vector<float> got = DenseLogits(model, input);
  for (size_t p = 0; p < input.size(); ++p) {
    const std::vector<float> want = logits["logits"][p].get<std::vector<float>>();
    CHECK(RelativeError(&got[p * 512], want.data(), 512) < 1e-4);
  }
  const json greedy = ReadJson(kStories + "/reference/greedy_256_ids.json");
  LlmSampling s;
  s.max_tokens = 256;
  const LlmGeneration g = Generate(model, {1}, s);
  CHECK(g.tokens == greedy["ids"].get<std::vector<int32_t>>());
  std::ifstream in(kStories + "/reference/greedy_256.txt");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(" " + g.text == text.substr(0, g.text.size() + 1));
}

TEST_CASE("llm: sampling is seeded, greedy at temperature 0, and top-p keeps the nucleus") {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
  llm::TokenSampler greedy(LlmSampling{});
  CHECK(greedy.Next(logits.data(), logits.size()) == 1);  // ties to the lower id
  LlmSampling s;
  s.temperature = 1.0f;
  s.seed = 7;
  llm::TokenSampler a(s), b(s);
  std::vector<int> counts(5);
  for (int i = 0; i < 2000; ++i) {
    const int32_t x = a.Next(logits.data(), logits.size());
    CHECK(x == b.Next(logits.data(), logits.size()));
    ++counts[size_t(x)];
  }
  // p ∝ exp(logit): 1 and 3 share ~0.60 of the draws, 4 is rare.
  CHECK(counts[1] + counts[3] > 1000);
  CHECK(counts[4] < 60);
  s.top_p = 0.5f;  // the nucleus is {1, 3}
  llm::TokenSampler nucleus(s);
  for (int i = 0; i < 200; ++i) {
    const int32_t x = nucleus.Next(logits.data(), logits.size());
    CHECK((x == 1 || x == 3));
  }
  s.temperature = -1;
  CHECK_THROWS_AS(llm::TokenSampler{s}, Error);
  s.temperature = 1;
  s.top_p = 0;
  CHECK_THROWS_AS(llm::TokenSampler{s}, Error);
}

// A copy of a fixture model directory, for damage.
std::string CopyModel(const test::TempDir& dir, const std::string& name) {
  const std::string to = dir / name;
  fs::copy(kModels + "/" + name, to, fs::copy_options::recursive);
  return to;
}

void ExpectLoadError(const std::string& dir, const std::string& expected) {
  CAPTURE(expected);
  try {
    LlmModel::Load(dir);
    FAIL("loaded");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find(expected) != std::string::npos);
  }
}

void EditJson(const std::string& path, const std::function<void(json&)>& edit) {
  json j = ReadJson(path);
  edit(j);
  std::ofstream(path) << j.dump(1);
}

TEST_CASE("llm: bad model directories are clear errors naming the file and tensor") {
  test::TempDir tmp("llm-bad");
  {  // a truncated shard
    const std::string d = CopyModel(tmp, "llama3");
    fs::resize_file(d + "/model-00002-of-00003.safetensors", 1000);
    ExpectLoadError(d, "model-00002-of-00003.safetensors");
    fs::remove_all(d);
  }
  {  // the index names a missing shard
    const std::string d = CopyModel(tmp, "llama3");
    fs::remove(d + "/model-00003-of-00003.safetensors");
    ExpectLoadError(d, "model-00003-of-00003.safetensors: missing");
    fs::remove_all(d);
  }
  {  // a config that lies about shapes
    const std::string d = CopyModel(tmp, "qwen2");
    EditJson(d + "/config.json", [](json& j) { j["intermediate_size"] = 96; });
    ExpectLoadError(d, "mlp.gate_proj.weight has shape");
    fs::remove_all(d);
  }
  {  // an unsupported architecture
    const std::string d = CopyModel(tmp, "qwen2");
    EditJson(d + "/config.json", [](json& j) { j["architectures"] = {"GPT2LMHeadModel"}; });
    ExpectLoadError(d, "GPT2LMHeadModel");
    fs::remove_all(d);
  }
  {  // an unknown RoPE type, a missing field, a mistyped one
    const std::string d = CopyModel(tmp, "mistral");
    EditJson(d + "/config.json", [](json& j) { j["rope_parameters"]["rope_type"] = "yarn"; });
    ExpectLoadError(d, "yarn");
    EditJson(d + "/config.json", [](json& j) {
      j["rope_parameters"]["rope_type"] = "default";
      j.erase("hidden_size");
    });
    ExpectLoadError(d, "'hidden_size' is missing");
    EditJson(d + "/config.json", [](json& j) { j["hidden_size"] = "64"; });
    ExpectLoadError(d, "'hidden_size' must be an integer");
    fs::remove_all(d);
  }
  {  // a missing tensor
    const std::string d = CopyModel(tmp, "qwen3");
    EditJson(d + "/config.json", [](json& j) { j["num_hidden_layers"] = 3; });
    ExpectLoadError(d, "model.layers.2.");
    fs::remove_all(d);
  }
  {  // a tokenizer with an unknown model type
    const std::string d = CopyModel(tmp, "llama2");
    EditJson(d + "/tokenizer.json", [](json& j) { j["model"]["type"] = "Unigram"; });
    ExpectLoadError(d, "Unigram");
    fs::remove_all(d);
  }
  ExpectLoadError(tmp / "nothing", "not a model directory");
  // A prompt longer than the trained context, without a store.
  const LlmModel stories = LlmModel::Load(kStories + "/hf");
  CHECK_THROWS_WITH_AS(Generate(stories, std::vector<int32_t>(600, 5)), doctest::Contains("landmark ask"), Error);
  CHECK_THROWS_WITH_AS(DenseLogits(stories, {1, 9999}), doctest::Contains("outside the vocabulary"), Error);
}

TEST_CASE("llm: chat prompts from the model's template, forced families and raw") {
  const LlmModel model = LlmModel::Load(kModels + "/qwen2");
  const Tokenizer& t = model.tokenizer();
  CHECK(t.Decode(ChatPrompt(model, "Hi")) ==
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  CHECK(t.Decode(ChatPrompt(model, "Hi", "Be brief.", "chatml")) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  CHECK(t.Decode(ChatPrompt(model, "Hi", "", "raw")) == "Hi");
  CHECK_THROWS_AS(ChatPrompt(model, "Hi", "", "vicuna"), Error);
}

}  // namespace
}  // namespace landmark
