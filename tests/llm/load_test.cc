// Loading Hugging Face model directories: weights used in place, random
// models written and read back (one file and shards), and damaged copies of
// the fixtures refused with messages naming the file and the tensor.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "landmark/llm.h"
#include "src/io/safetensors.h"
#include "src/llm/weights.h"
#include "tests/llm/fixtures.h"
#include "tests/temp_dir.h"
#include "testing/random_weights.h"

namespace landmark {
namespace {

namespace fs = std::filesystem;
using llm::LlmConfig;
using llm::LlmModel;

// A fresh copy of fixture `name` in a temp dir.
std::string Copy(const std::string& name, const test::TempDir& tmp) {
  static int copies = 0;
  const fs::path dst = tmp.path / (name + "-" + std::to_string(copies++));
  fs::create_directories(dst);
  for (const auto& entry : fs::directory_iterator(test::ModelDir(name))) {
    if (entry.is_regular_file()) fs::copy_file(entry.path(), dst / entry.path().filename());
  }
  return dst.string();
}

void EditJson(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = test::ReadJson(path);
  edit(j);
  std::ofstream(path) << j.dump(1);
}

void CheckLoadError(const std::string& dir, const std::string& message) {
  CHECK_THROWS_WITH_AS(LlmModel::Load(dir), doctest::Contains(message.c_str()), Error);
}

TEST_CASE("llm load: matrices are read in place from the mapped files; the LM head is the tied embedding") {
  const LlmModel model = LlmModel::Load(test::ModelDir("llama3"));
  const auto& m = model.impl();
  CHECK(model.files().size() == 3);
  for (const llm::LayerWeights& w : m.layers) {
    for (const llm::Projection* p : {&w.q, &w.k, &w.v, &w.o}) CHECK(p->weight.borrowed());
    CHECK(w.mlp.borrowed());
  }
  CHECK(m.lm_head.weights() == m.embed);
  CHECK(model.weight_dtype() == DType::kF32);
  CHECK(model.weight_bytes() == model.config().matmul_parameters() * 4);
  const LlmModel bf16 = LlmModel::Load(test::ModelDir("llama3-bf16"));
  CHECK(bf16.weight_dtype() == DType::kBF16);
  CHECK(LlmModel::Load(test::ModelDir("qwen2-f16")).weight_dtype() == DType::kF16);
}

TEST_CASE("llm load: random models round-trip (one file and shards, every architecture)") {
  test::TempDir tmp("llm-random");
  LlmConfig c;
  c.vocab_size = 97;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.layers = 3;
  c.q_heads = 4;
  c.kv_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 64;
  c.eos_ids = {3};
  for (auto arch : {llm::Architecture::kLlama, llm::Architecture::kQwen2, llm::Architecture::kQwen3,
                    llm::Architecture::kMistral}) {
    for (size_t shards : {1, 3}) {
      LlmConfig a = c;
      a.architecture = arch;
      a.qkv_bias = arch == llm::Architecture::kQwen2;
      a.qk_norm = arch == llm::Architecture::kQwen3;
      a.tie_word_embeddings = shards == 3;
      a.layer_windows = arch == llm::Architecture::kMistral ? std::vector<size_t>(3, 8) : std::vector<size_t>(3, 0);
      const std::string dir = tmp / (std::string(llm::Name(arch)) + std::to_string(shards));
      CAPTURE(dir);
      llm::WriteRandomLlm(dir, a, 5, DType::kBF16, shards);
      const LlmModel model = LlmModel::Load(dir);
      const LlmConfig& got = model.config();
      CHECK(got.architecture == arch);
      CHECK(got.qkv_bias == a.qkv_bias);
      CHECK(got.qk_norm == a.qk_norm);
      CHECK(got.layer_windows == a.layer_windows);
      CHECK(got.eos_ids == a.eos_ids);
      CHECK(model.files().size() == shards);
      CHECK(model.weight_dtype() == DType::kBF16);
      llm::LlmSession session(model);
      const std::vector<int32_t> prompt = {1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45};  // > 8 rows: matmuls
      const std::vector<float> logits = session.Append(prompt.data(), prompt.size());
      for (float x : logits) REQUIRE(std::isfinite(x));
    }
  }
  // Deterministic in the seed.
  LlmConfig small = c;
  small.layer_windows.assign(3, 0);
  llm::WriteRandomLlm(tmp / "a", small, 9, DType::kF32);
  llm::WriteRandomLlm(tmp / "b", small, 9, DType::kF32);
  std::ifstream a(tmp / "a/model.safetensors", std::ios::binary), b(tmp / "b/model.safetensors", std::ios::binary);
  CHECK(std::string(std::istreambuf_iterator<char>(a), {}) == std::string(std::istreambuf_iterator<char>(b), {}));
}

TEST_CASE("llm load: damaged model directories are refused naming the file and the tensor") {
  test::TempDir tmp("llm-damaged");
  {  // A shard cut short.
    const std::string dir = Copy("llama3", tmp);
    const fs::path shard = fs::path(dir) / "model-00002-of-00003.safetensors";
    fs::resize_file(shard, fs::file_size(shard) / 2);
    CheckLoadError(dir, shard.string() + ":");
    CheckLoadError(dir, "truncated");
  }
  {  // A config that lies about a shape.
    const std::string dir = Copy("llama2", tmp);
    EditJson(dir + "/config.json", [](nlohmann::json& j) { j["intermediate_size"] = 96; });
    CheckLoadError(dir, dir + "/model.safetensors: model.layers.0.mlp.gate_proj.weight has shape (128, 64), "
                              "expected (96, 64)");
  }
  {  // An architecture landmark does not run.
    const std::string dir = Copy("qwen3", tmp);
    EditJson(dir + "/config.json", [](nlohmann::json& j) { j["architectures"] = {"GemmaForCausalLM"}; });
    CheckLoadError(dir, dir + "/config.json: architectures: unsupported architecture GemmaForCausalLM");
  }
  {  // A missing tensor: the file without model.layers.1.mlp.up_proj.weight.
    const std::string dir = Copy("llama2", tmp);
    const std::string path = dir + "/model.safetensors";
    std::vector<std::vector<uint8_t>> keep;
    std::vector<TensorToWrite> tensors;
    {
      const SafeTensors f = SafeTensors::Open(path);
      for (const std::string& name : f.names()) {
        if (name == "model.layers.1.mlp.up_proj.weight") continue;
        const TensorView& t = f.Get(name);
        const auto* bytes = static_cast<const uint8_t*>(t.data);
        keep.emplace_back(bytes, bytes + t.elements * SizeOf(t.dtype));
        tensors.push_back({name, t.dtype, t.shape, keep.back().data()});
      }
    }
    for (size_t i = 0; i < tensors.size(); ++i) tensors[i].data = keep[i].data();
    WriteSafeTensors(path, tensors);
    CheckLoadError(dir, "model.layers.1.mlp.up_proj.weight: missing (not in " + path + ")");
  }
  {  // A tensor of f64.
    const std::string dir = Copy("llama2", tmp);
    const std::string path = dir + "/model.safetensors";
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    uint64_t header_len = 0;
    f.read(reinterpret_cast<char*>(&header_len), 8);
    std::string header(header_len, ' ');
    f.read(header.data(), std::streamsize(header_len));
    const size_t at = header.find("\"model.norm.weight\"");
    REQUIRE(at != std::string::npos);
    const size_t dtype = header.find("\"F32\"", at);
    REQUIRE(dtype != std::string::npos);
    header.replace(dtype, 5, "\"F64\"");
    f.seekp(8);
    f.write(header.data(), std::streamsize(header.size()));
    f.close();
    CheckLoadError(dir, path + ":model.norm.weight: unsupported dtype F64");
  }
  {  // An index naming a shard that is not there.
    const std::string dir = Copy("llama3", tmp);
    EditJson(dir + "/model.safetensors.index.json",
             [](nlohmann::json& j) { j["weight_map"]["model.norm.weight"] = "model-00004-of-00003.safetensors"; });
    CheckLoadError(dir, dir + "/model.safetensors.index.json: weight_map puts model.norm.weight in "
                              "model-00004-of-00003.safetensors, which does not exist");
  }
  {  // An index without a tensor the model needs.
    const std::string dir = Copy("llama3", tmp);
    EditJson(dir + "/model.safetensors.index.json",
             [](nlohmann::json& j) { j["weight_map"].erase("model.layers.1.self_attn.k_proj.weight"); });
    CheckLoadError(dir, "model.layers.1.self_attn.k_proj.weight: missing (not in " + dir +
                            "/model.safetensors.index.json's weight_map)");
  }
  {  // No weights at all.
    const std::string dir = Copy("llama2", tmp);
    fs::remove(fs::path(dir) / "model.safetensors");
    CheckLoadError(dir, dir + ": no model.safetensors or model.safetensors.index.json");
  }
}

TEST_CASE("llm session: a context beyond the trained one is refused, pointing at the store") {
  const LlmModel model = LlmModel::Load(test::kLlmData + "stories260K/hf");
  llm::LlmSession session(model);
  const std::vector<int32_t> prompt(513, 1);
  CHECK_THROWS_WITH_AS(session.Append(prompt.data(), prompt.size()),
                       doctest::Contains("the context would hold 513 tokens (0 cached + 513 new), beyond the "
                                         "model's trained context of 512"),
                       Error);
  CHECK_THROWS_WITH_AS(llm::Generate(session, prompt), doctest::Contains("landmark ask"), Error);
  CHECK(session.tokens() == 0);
  // Generation stops when the context is full.
  const std::vector<int32_t> long_prompt(510, 1);
  llm::GenerateOptions options;
  options.stop_ids = {-1};
  const llm::GenerateResult r = llm::Generate(session, long_prompt, options);
  CHECK(r.stop == llm::StopReason::kContextFull);
  CHECK(session.tokens() == 512);
  CHECK(r.tokens.size() == 3);  // the last one is not run through the model
  const int32_t bad = 512;
  llm::LlmSession other(model);
  CHECK_THROWS_WITH_AS(other.Append(&bad, 1), doctest::Contains("token id 512 is outside the vocabulary of 512"),
                       Error);
}

}  // namespace
}  // namespace landmark
