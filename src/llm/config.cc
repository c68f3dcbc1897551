// LlmConfig: a Hugging Face config.json (transformers 4.x and 5.x forms)
// and generation_config.json, every field checked.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "landmark/error.h"
#include "landmark/llm.h"

namespace landmark::llm {
namespace {

using nlohmann::json;

// Reads fields of one JSON object; errors name the file and the field.
class Fields {
 public:
  Fields(const json& object, std::string where) : j_(object), where_(std::move(where)) {}

  bool Has(const std::string& key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  [[noreturn]] void Fail(const std::string& key, const std::string& what) const {
    LANDMARK_THROW(where_ + ": " + key + ": " + what);
  }
  const json& At(const std::string& key) const {
    if (!Has(key)) Fail(key, "missing");
    return j_.at(key);
  }
  size_t Count(const std::string& key) const {  // a positive integer
    const json& v = At(key);
    if (!v.is_number_integer() || v.get<int64_t>() <= 0) Fail(key, "expected a positive integer, got " + v.dump());
    return v.get<size_t>();
  }
  size_t Count(const std::string& key, size_t fallback) const { return Has(key) ? Count(key) : fallback; }
  double Number(const std::string& key) const {
    const json& v = At(key);
    if (!v.is_number()) Fail(key, "expected a number, got " + v.dump());
    return v.get<double>();
  }
  double Positive(const std::string& key, double fallback) const {
    if (!Has(key)) return fallback;
    const double x = Number(key);
    if (!(x > 0)) Fail(key, "expected a positive number, got " + At(key).dump());
    return x;
  }
  bool Bool(const std::string& key, bool fallback) const {
    if (!Has(key)) return fallback;
    const json& v = At(key);
    if (!v.is_boolean()) Fail(key, "expected true or false, got " + v.dump());
    return v.get<bool>();
  }
  std::string String(const std::string& key) const {
    const json& v = At(key);
    if (!v.is_string()) Fail(key, "expected a string, got " + v.dump());
    return v.get<std::string>();
  }
  // An id, a list of ids, or null / absent (nothing).
  std::vector<int32_t> Ids(const std::string& key) const {
    std::vector<int32_t> ids;
    if (!Has(key)) return ids;
    const json& v = At(key);
    auto add = [&](const json& x) {
      if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > INT32_MAX) {
        Fail(key, "expected a token id or a list of them, got " + v.dump());
      }
      ids.push_back(x.get<int32_t>());
    };
    if (v.is_array()) {
      for (const json& x : v) add(x);
    } else {
      add(v);
    }
    return ids;
  }
  const std::string& where() const { return where_; }

 private:
  const json& j_;
  std::string where_;
};

json ParseJson(const std::string& text, const std::string& path) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    LANDMARK_THROW(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  LANDMARK_CHECK_ARG(j.is_object(), path + ": expected a JSON object");
  return j;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LANDMARK_CHECK_ARG(in.good(), path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Architecture ParseArchitecture(const Fields& f) {
  const json& v = f.At("architectures");
  if (!v.is_array() || v.empty() || !v[0].is_string()) f.Fail("architectures", "expected a list of names, got " + v.dump());
  const std::string name = v[0].get<std::string>();
  for (Architecture a : {Architecture::kLlama, Architecture::kQwen2, Architecture::kQwen3, Architecture::kMistral}) {
    if (name == Name(a)) return a;
  }
  f.Fail("architectures", "unsupported architecture " + name +
                              " (supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM)");
}

DType ParseDeclaredDType(const Fields& f) {
  for (const char* key : {"dtype", "torch_dtype"}) {
    if (!f.Has(key)) continue;
    const std::string name = f.String(key);
    if (name == "float32") return DType::kF32;
    if (name == "bfloat16") return DType::kBF16;
    if (name == "float16") return DType::kF16;
    f.Fail(key, "unsupported dtype " + name + " (float32, bfloat16 or float16)");
  }
  return DType::kF32;
}

// The rope type's parameters from an object holding them: transformers 5's
// rope_parameters (rope_theta inside) or 4.x's rope_scaling (theta beside).
void ParseRopeScaling(const json& object, const std::string& where, RopeConfig& rope) {
  if (!object.is_object()) LANDMARK_THROW(where + ": expected an object or null, got " + object.dump());
  const Fields f(object, where);
  std::string type = "default";
  if (f.Has("rope_type")) {
    type = f.String("rope_type");
  } else if (f.Has("type")) {
    type = f.String("type");
  }
  if (f.Has("rope_theta")) rope.theta = f.Number("rope_theta");
  if (type == "default") {
    // nothing else
  } else if (type == "linear") {
    rope.factor = f.Positive("factor", 0);
    if (rope.factor == 0) f.Fail("factor", "missing (rope type linear)");
  } else if (type == "llama3") {
    for (const char* key : {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
      if (!f.Has(key)) f.Fail(key, "missing (rope type llama3)");
    }
    rope.factor = f.Positive("factor", 1);
    rope.low_freq_factor = f.Positive("low_freq_factor", 1);
    rope.high_freq_factor = f.Positive("high_freq_factor", 4);
    rope.original_max_position_embeddings = f.Count("original_max_position_embeddings");
    if (!(rope.high_freq_factor > rope.low_freq_factor)) {
      f.Fail("high_freq_factor", "must exceed low_freq_factor");
    }
  } else {
    f.Fail(f.Has("rope_type") ? "rope_type" : "type",
           "unsupported rope type " + type + " (default, linear or llama3)");
  }
  rope.type = type;
}

RopeConfig ParseRope(const Fields& f, const json& config) {
  RopeConfig rope;
  if (f.Has("rope_theta")) rope.theta = f.Number("rope_theta");
  if (f.Has("rope_parameters")) {
    ParseRopeScaling(config.at("rope_parameters"), f.where() + ": rope_parameters", rope);
  } else if (f.Has("rope_scaling")) {
    ParseRopeScaling(config.at("rope_scaling"), f.where() + ": rope_scaling", rope);
  }
  if (!(rope.theta > 0)) f.Fail("rope_theta", "expected a positive number");
  return rope;
}

// Sliding windows per layer: Mistral's applies to every layer; Qwen's to
// the layers layer_types (or use_sliding_window with max_window_layers) name.
std::vector<size_t> ParseWindows(const Fields& f, const json& config, Architecture a, size_t layers) {
  std::vector<size_t> windows(layers, 0);
  if (a == Architecture::kLlama || !f.Has("sliding_window")) return windows;
  const size_t window = f.Count("sliding_window");
  if (a == Architecture::kMistral) {
    windows.assign(layers, window);
    return windows;
  }
  if (f.Has("layer_types")) {
    const json& types = config.at("layer_types");
    if (!types.is_array() || types.size() != layers) {
      f.Fail("layer_types", "expected a list of " + std::to_string(layers) + " layer types");
    }
    for (size_t i = 0; i < layers; ++i) {
      const std::string type = types[i].is_string() ? types[i].get<std::string>() : types[i].dump();
      if (type == "sliding_attention") {
        windows[i] = window;
      } else if (type != "full_attention") {
        f.Fail("layer_types", "layer " + std::to_string(i) + ": unsupported type " + type +
                                  " (full_attention or sliding_attention)");
      }
    }
    return windows;
  }
  if (f.Bool("use_sliding_window", false)) {
    const size_t first = f.Has("max_window_layers") ? f.Count("max_window_layers") : 0;
    for (size_t i = first; i < layers; ++i) windows[i] = window;
  }
  return windows;
}

void ParseGeneration(const std::string& text, const std::string& path, LlmConfig& c) {
  const json j = ParseJson(text, path);
  const Fields f(j, path);
  for (int32_t id : f.Ids("eos_token_id")) {
    if (std::find(c.eos_ids.begin(), c.eos_ids.end(), id) == c.eos_ids.end()) c.eos_ids.push_back(id);
  }
  const std::vector<int32_t> bos = f.Ids("bos_token_id");
  if (c.bos_id < 0 && !bos.empty()) c.bos_id = bos[0];
  GenerationDefaults& g = c.generation;
  g.do_sample = f.Bool("do_sample", false);
  if (f.Has("temperature")) g.temperature = f.Number("temperature");
  if (f.Has("top_p")) g.top_p = f.Number("top_p");
  if (f.Has("top_k")) {
    const json& v = f.At("top_k");
    if (!v.is_number_integer() || v.get<int64_t>() < 0) f.Fail("top_k", "expected an integer >= 0, got " + v.dump());
    g.top_k = v.get<size_t>();
  }
  if (!(g.temperature >= 0)) f.Fail("temperature", "expected a number >= 0");
  if (!(g.top_p > 0 && g.top_p <= 1)) f.Fail("top_p", "expected a number in (0, 1]");
}

}  // namespace

const char* Name(Architecture architecture) {
  switch (architecture) {
    case Architecture::kLlama: return "LlamaForCausalLM";
    case Architecture::kQwen2: return "Qwen2ForCausalLM";
    case Architecture::kQwen3: return "Qwen3ForCausalLM";
    case Architecture::kMistral: return "MistralForCausalLM";
  }
  return "?";
}

LlmConfig LlmConfig::Parse(const std::string& config_json, const std::string& generation_json,
                           const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  const json j = ParseJson(config_json, path);
  const Fields f(j, path);
  LlmConfig c;
  c.dir = dir;
  c.architecture = ParseArchitecture(f);
  c.vocab_size = f.Count("vocab_size");
  c.hidden_size = f.Count("hidden_size");
  c.intermediate_size = f.Count("intermediate_size");
  c.layers = f.Count("num_hidden_layers");
  c.q_heads = f.Count("num_attention_heads");
  c.kv_heads = f.Count("num_key_value_heads", c.q_heads);
  if (c.q_heads % c.kv_heads != 0) {
    f.Fail("num_key_value_heads", std::to_string(c.kv_heads) + " does not divide num_attention_heads (" +
                                      std::to_string(c.q_heads) + ")");
  }
  if (f.Has("head_dim")) {
    c.head_dim = f.Count("head_dim");
  } else {
    if (c.hidden_size % c.q_heads != 0) {
      f.Fail("hidden_size", std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads (" +
                                std::to_string(c.q_heads) + "), and there is no head_dim");
    }
    c.head_dim = c.hidden_size / c.q_heads;
  }
  if (c.head_dim % 2 != 0) f.Fail("head_dim", std::to_string(c.head_dim) + " is odd (RoPE rotates pairs)");
  c.rms_norm_eps = f.Positive("rms_norm_eps", 1e-6);
  c.max_position_embeddings = f.Count("max_position_embeddings");
  c.tie_word_embeddings = f.Bool("tie_word_embeddings", false);
  if (f.Has("hidden_act") && f.String("hidden_act") != "silu") {
    f.Fail("hidden_act", "unsupported activation " + f.String("hidden_act") + " (silu)");
  }
  if (f.Bool("mlp_bias", false)) f.Fail("mlp_bias", "MLP biases are not supported");
  const bool attention_bias = f.Bool("attention_bias", false);
  switch (c.architecture) {
    case Architecture::kQwen2:  // q/k/v always have biases, o_proj never
      c.qkv_bias = true;
      break;
    case Architecture::kQwen3:
      c.qk_norm = true;
      c.qkv_bias = c.o_bias = attention_bias;
      break;
    case Architecture::kLlama:
    case Architecture::kMistral:
      c.qkv_bias = c.o_bias = attention_bias;
      break;
  }
  c.layer_windows = ParseWindows(f, j, c.architecture, c.layers);
  c.rope = ParseRope(f, j);
  if (c.rope.type == "llama3" && c.rope.original_max_position_embeddings == 0) {
    f.Fail("rope_scaling", "llama3 needs original_max_position_embeddings");
  }
  c.dtype = ParseDeclaredDType(f);
  const std::vector<int32_t> bos = f.Ids("bos_token_id");
  c.bos_id = bos.empty() ? -1 : bos[0];
  c.eos_ids = f.Ids("eos_token_id");
  if (!generation_json.empty()) {
    ParseGeneration(generation_json, (std::filesystem::path(dir) / "generation_config.json").string(), c);
  }
  for (int32_t id : c.eos_ids) {
    if (size_t(id) >= c.vocab_size) f.Fail("eos_token_id", std::to_string(id) + " is outside the vocabulary");
  }
  return c;
}

LlmConfig LlmConfig::FromDirectory(const std::string& dir) {
  const std::filesystem::path root(dir);
  LANDMARK_CHECK_ARG(std::filesystem::is_directory(root), dir + ": not a model directory");
  const std::string config = (root / "config.json").string();
  LANDMARK_CHECK_ARG(std::filesystem::exists(config), dir + ": no config.json (not a Hugging Face model directory)");
  const std::string generation = (root / "generation_config.json").string();
  return Parse(ReadText(config), std::filesystem::exists(generation) ? ReadText(generation) : "", dir);
}

uint64_t LlmConfig::matmul_parameters() const {
  const uint64_t D = hidden_size, F = intermediate_size, q = q_heads * head_dim, kv = kv_heads * head_dim;
  const uint64_t layer = D * q + 2 * D * kv + q * D + 3 * D * F;
  return layers * layer + uint64_t(vocab_size) * D;
}

uint64_t LlmConfig::parameters() const {
  const uint64_t D = hidden_size, q = q_heads * head_dim, kv = kv_heads * head_dim;
  uint64_t n = matmul_parameters() + (tie_word_embeddings ? 0 : uint64_t(vocab_size) * D) + D;  // + final norm
  const uint64_t per_layer = 2 * D + (qkv_bias ? q + 2 * kv : 0) + (o_bias ? D : 0) + (qk_norm ? 2 * head_dim : 0);
  return n + layers * per_layer;
}

}  // namespace landmark::llm
