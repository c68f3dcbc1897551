// LlmConfig from a Hugging Face config.json (classic `rope_theta` +
// `rope_scaling`, or transformers 5's `rope_parameters`) and
// generation_config.json.
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "landmark/error.h"
#include "landmark/llm.h"

namespace landmark {
namespace {

using json = nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LANDMARK_CHECK_ARG(in.good(), path + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  LANDMARK_CHECK_ARG(!in.bad(), path + ": read error");
  return s.str();
}

json Parse(const std::string& text, const std::string& where) {
  try {
    json j = json::parse(text);
    LANDMARK_CHECK_ARG(j.is_object(), where + ": not a JSON object");
    return j;
  } catch (const json::parse_error& e) {
    LANDMARK_THROW(where + ": not valid JSON (" + e.what() + ")");
  }
}

// A field's value, type-checked; `fallback` when absent or null (nullptr: required).
struct Fields {
  const json& j;
  std::string where;

  bool Has(const char* key) const { return j.contains(key) && !j[key].is_null(); }

  size_t Size(const char* key, const size_t* fallback = nullptr, size_t max = size_t(1) << 40) const {
    if (!Has(key)) {
      LANDMARK_CHECK_ARG(fallback != nullptr, where + ": '" + key + "' is missing");
      return *fallback;
    }
    LANDMARK_CHECK_ARG(j[key].is_number_unsigned() && j[key].get<uint64_t>() <= max,
                       where + ": '" + key + "' must be an integer in [0, " + std::to_string(max) + "], not " +
                           j[key].dump());
    return j[key].get<size_t>();
  }
  double Number(const char* key, double fallback, bool required = false) const {
    if (!Has(key)) {
      LANDMARK_CHECK_ARG(!required, where + ": '" + key + "' is missing");
      return fallback;
    }
    LANDMARK_CHECK_ARG(j[key].is_number(), where + ": '" + key + "' must be a number, not " + j[key].dump());
    return j[key].get<double>();
  }
  bool Bool(const char* key, bool fallback) const {
    if (!Has(key)) return fallback;
    LANDMARK_CHECK_ARG(j[key].is_boolean(), where + ": '" + key + "' must be true or false, not " + j[key].dump());
    return j[key].get<bool>();
  }
  std::string String(const char* key, const std::string& fallback) const {
    if (!Has(key)) return fallback;
    LANDMARK_CHECK_ARG(j[key].is_string(), where + ": '" + key + "' must be a string, not " + j[key].dump());
    return j[key].get<std::string>();
  }
  // An id or a list of ids (eos_token_id).
  std::vector<int32_t> Ids(const char* key) const {
    std::vector<int32_t> ids;
    if (!Has(key)) return ids;
    auto one = [&](const json& v) {
      LANDMARK_CHECK_ARG(v.is_number_unsigned() && v.get<uint64_t>() < (uint64_t(1) << 31),
                         where + ": '" + key + "' must be a token id or a list of them, not " + j[key].dump());
      ids.push_back(v.get<int32_t>());
    };
    if (j[key].is_array()) {
      for (const json& v : j[key]) one(v);
    } else {
      one(j[key]);
    }
    return ids;
  }
};

void AddIds(std::vector<int32_t>& to, const std::vector<int32_t>& ids) {
  for (int32_t id : ids) {
    if (std::find(to.begin(), to.end(), id) == to.end()) to.push_back(id);
  }
}

}  // namespace

const char* Name(LlmArchitecture a) {
  switch (a) {
    case LlmArchitecture::kLlama: return "LlamaForCausalLM";
    case LlmArchitecture::kQwen2: return "Qwen2ForCausalLM";
    case LlmArchitecture::kQwen3: return "Qwen3ForCausalLM";
    case LlmArchitecture::kMistral: return "MistralForCausalLM";
  }
  return "?";
}

LlmConfig LlmConfig::FromJson(const std::string& text, const std::string& where) {
  const json j = Parse(text, where);
  const Fields f{j, where};
  LlmConfig c;
  LANDMARK_CHECK_ARG(j.contains("architectures") && j["architectures"].is_array() && j["architectures"].size() == 1 &&
                         j["architectures"][0].is_string(),
                     where + ": 'architectures' must list one architecture");
  const std::string arch = j["architectures"][0].get<std::string>();
  bool known = false;
  for (LlmArchitecture a : {LlmArchitecture::kLlama, LlmArchitecture::kQwen2, LlmArchitecture::kQwen3,
                            LlmArchitecture::kMistral}) {
    if (arch == Name(a)) {
      c.architecture = a;
      known = true;
    }
  }
  LANDMARK_CHECK_ARG(known, where + ": architecture '" + arch +
                                "' is not supported (LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, "
                                "MistralForCausalLM)");
  c.model_type = f.String("model_type", "");
  c.vocab_size = f.Size("vocab_size");
  c.hidden = f.Size("hidden_size");
  c.intermediate = f.Size("intermediate_size");
  c.layers = f.Size("num_hidden_layers", nullptr, 4096);
  c.q_heads = f.Size("num_attention_heads", nullptr, 4096);
  c.kv_heads = f.Size("num_key_value_heads", &c.q_heads, 4096);
  LANDMARK_CHECK_ARG(c.vocab_size > 0 && c.hidden > 0 && c.intermediate > 0 && c.layers > 0 && c.q_heads > 0 &&
                         c.kv_heads > 0,
                     where + ": sizes must be positive");
  LANDMARK_CHECK_ARG(c.q_heads % c.kv_heads == 0, where + ": num_attention_heads (" + std::to_string(c.q_heads) +
                                                      ") is not a multiple of num_key_value_heads (" +
                                                      std::to_string(c.kv_heads) + ")");
  const size_t default_head_dim = c.hidden / c.q_heads;
  c.head_dim = f.Size("head_dim", &default_head_dim, 1024);
  LANDMARK_CHECK_ARG(c.head_dim > 0 && c.head_dim % 2 == 0,
                     where + ": head_dim must be even and positive (RoPE pairs dimensions), not " +
                         std::to_string(c.head_dim));
  LANDMARK_CHECK_ARG(f.Has("head_dim") || c.hidden % c.q_heads == 0,
                     where + ": hidden_size is not a multiple of num_attention_heads and no head_dim is given");
  c.max_positions = f.Size("max_position_embeddings");
  LANDMARK_CHECK_ARG(c.max_positions > 0, where + ": max_position_embeddings must be positive");
  c.rms_eps = f.Number("rms_norm_eps", 1e-6);
  LANDMARK_CHECK_ARG(c.rms_eps > 0 && c.rms_eps < 1, where + ": rms_norm_eps out of range");
  const std::string act = f.String("hidden_act", "silu");
  LANDMARK_CHECK_ARG(act == "silu", where + ": hidden_act '" + act + "' is not supported (silu)");
  LANDMARK_CHECK_ARG(!f.Bool("mlp_bias", false), where + ": mlp_bias is not supported");
  c.tie_embeddings = f.Bool("tie_word_embeddings", false);
  c.qkv_bias = c.architecture == LlmArchitecture::kQwen2 || f.Bool("attention_bias", false);
  c.qk_norm = c.architecture == LlmArchitecture::kQwen3;
  // Sliding windows: Mistral's sliding_window; Qwen's only with use_sliding_window.
  const bool window = c.architecture == LlmArchitecture::kMistral ||
                      ((c.architecture == LlmArchitecture::kQwen2 || c.architecture == LlmArchitecture::kQwen3) &&
                       f.Bool("use_sliding_window", false));
  const size_t none = 0;
  if (window) c.sliding_window = f.Size("sliding_window", &none);
  LANDMARK_CHECK_ARG(!(window && (c.architecture != LlmArchitecture::kMistral) && c.sliding_window > 0 &&
                       f.Size("max_window_layers", &c.layers) < c.layers),
                     where + ": sliding windows on only some layers (max_window_layers) are not supported");

  // RoPE: classic rope_theta + rope_scaling, or rope_parameters.
  c.rope_theta = f.Number("rope_theta", 10000.0);
  const json* rope = nullptr;
  if (f.Has("rope_parameters")) rope = &j["rope_parameters"];
  if (f.Has("rope_scaling")) rope = &j["rope_scaling"];
  if (rope) {
    LANDMARK_CHECK_ARG(rope->is_object(), where + ": rope_scaling / rope_parameters must be an object");
    const Fields r{*rope, where + ": rope_parameters"};
    c.rope_theta = r.Number("rope_theta", c.rope_theta);
    c.rope_type = r.String("rope_type", r.String("type", "default"));
    if (c.rope_type == "linear") {
      c.rope_factor = r.Number("factor", 1.0, true);
    } else if (c.rope_type == "llama3") {
      c.rope_factor = r.Number("factor", 1.0, true);
      c.rope_low_freq_factor = r.Number("low_freq_factor", 1.0, true);
      c.rope_high_freq_factor = r.Number("high_freq_factor", 4.0, true);
      c.rope_original_max_positions = r.Size("original_max_position_embeddings");
      LANDMARK_CHECK_ARG(c.rope_high_freq_factor > c.rope_low_freq_factor && c.rope_original_max_positions > 0,
                         where + ": llama3 RoPE needs high_freq_factor > low_freq_factor and a positive "
                                 "original_max_position_embeddings");
    } else {
      LANDMARK_CHECK_ARG(c.rope_type == "default", where + ": RoPE type '" + c.rope_type +
                                                       "' is not supported (default, linear, llama3)");
    }
    LANDMARK_CHECK_ARG(c.rope_factor > 0, where + ": RoPE factor must be positive");
  }
  LANDMARK_CHECK_ARG(c.rope_theta > 1, where + ": rope_theta must be > 1");
  const std::vector<int32_t> bos = f.Ids("bos_token_id");
  c.bos_id = bos.empty() ? -1 : bos[0];
  c.eos_ids = f.Ids("eos_token_id");
  for (int32_t id : c.eos_ids) {
    LANDMARK_CHECK_ARG(size_t(id) < c.vocab_size, where + ": eos_token_id " + std::to_string(id) + " ≥ vocab_size");
  }
  const std::string dtype = f.String("torch_dtype", f.String("dtype", "float32"));
  c.dtype = dtype == "bfloat16" ? DType::kBF16 : dtype == "float16" ? DType::kF16 : DType::kF32;
  return c;
}

LlmConfig LlmConfig::FromDirectory(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  LANDMARK_CHECK_ARG(std::filesystem::is_directory(dir), dir + ": not a model directory");
  LANDMARK_CHECK_ARG(std::filesystem::exists(path), dir + ": no config.json (a Hugging Face model directory holds "
                                                           "config.json, *.safetensors and tokenizer.json)");
  LlmConfig c = FromJson(ReadFile(path), path);
  const std::string generation = (std::filesystem::path(dir) / "generation_config.json").string();
  if (std::filesystem::exists(generation)) {
    const json j = Parse(ReadFile(generation), generation);
    const Fields f{j, generation};
    const std::vector<int32_t> eos = f.Ids("eos_token_id");
    for (int32_t id : eos) {
      LANDMARK_CHECK_ARG(size_t(id) < c.vocab_size,
                         generation + ": eos_token_id " + std::to_string(id) + " ≥ vocab_size");
    }
    AddIds(c.eos_ids, eos);
    if (c.bos_id < 0) {
      const std::vector<int32_t> bos = f.Ids("bos_token_id");
      if (!bos.empty()) c.bos_id = bos[0];
    }
  }
  return c;
}

uint64_t LlmConfig::layer_parameters() const {
  const uint64_t D = hidden, q = q_heads * head_dim, kv = kv_heads * head_dim;
  return uint64_t(layers) * (D * q + 2 * D * kv + q * D + 3 * D * intermediate);
}

uint64_t LlmConfig::parameters() const {
  const uint64_t embed = uint64_t(vocab_size) * hidden;
  uint64_t p = layer_parameters() + embed * (tie_embeddings ? 1 : 2) + hidden;
  p += uint64_t(layers) * (2 * hidden + (qk_norm ? 2 * head_dim : 0) +
                           (qkv_bias ? (q_heads + 2 * kv_heads) * head_dim : 0));
  return p;
}

double LlmConfig::matmul_flops_per_token(bool lm_head) const {
  return 2.0 * double(layer_parameters()) + (lm_head ? 2.0 * double(vocab_size) * double(hidden) : 0.0);
}

std::string LlmConfig::Describe() const {
  return fmt::format("{} ({}): {} layers, hidden {}, {} query / {} kv heads of {}, MLP {}, vocab {}, "
                     "trained context {}, RoPE θ {} ({}){}{}{}",
                     Name(architecture), Name(dtype), layers, hidden, q_heads, kv_heads, head_dim, intermediate,
                     vocab_size, max_positions, rope_theta, rope_type, tie_embeddings ? ", tied embeddings" : "",
                     qkv_bias ? ", q/k/v bias" : "", sliding_window ? fmt::format(", window {}", sliding_window) : "");
}

}  // namespace landmark
