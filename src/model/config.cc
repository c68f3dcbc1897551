// ModelConfig: the "landmark.model" metadata JSON (docs/model.md).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>

#include "landmark/error.h"
#include "landmark/model.h"

namespace landmark {
namespace {

size_t SizeField(const nlohmann::json& j, const char* key, const std::string& what) {
  LANDMARK_CHECK_ARG(j.contains(key), what + ": the model config lacks '" + std::string(key) + "'");
  const nlohmann::json& v = j.at(key);
  LANDMARK_CHECK_ARG(v.is_number_integer() && v.get<int64_t>() > 0,
                     what + ": model config '" + std::string(key) + "' must be a positive integer, is " + v.dump());
  return v.get<size_t>();
}

double RealField(const nlohmann::json& j, const char* key, const std::string& what) {
  LANDMARK_CHECK_ARG(j.contains(key), what + ": the model config lacks '" + std::string(key) + "'");
  const nlohmann::json& v = j.at(key);
  LANDMARK_CHECK_ARG(v.is_number() && v.get<double>() > 0,
                     what + ": model config '" + std::string(key) + "' must be a positive number, is " + v.dump());
  return v.get<double>();
}

}  // namespace

ModelConfig ModelConfig::FromJson(const std::string& text, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    LANDMARK_THROW(what + ": the model config is not valid JSON (" + std::string(e.what()) + ")");
  }
  LANDMARK_CHECK_ARG(j.is_object(), what + ": the model config is not a JSON object");
  LANDMARK_CHECK_ARG(j.contains("format") && (j["format"] == 1 || j["format"] == 2),
                     what + ": model config format " + (j.contains("format") ? j["format"].dump() : "missing") +
                         " (this build reads formats 1 and 2)");
  ModelConfig c;
  // Format 2 adds "fusion"; a format-1 file is hsa (a reader of format 1
  // alone refuses format 2 instead of reading a joint model as hsa).
  const bool format2 = j["format"] == 2;
  LANDMARK_CHECK_ARG(format2 == j.contains("fusion"),
                     what + (format2 ? ": model config format 2 lacks 'fusion'"
                                     : ": model config 'fusion' needs format 2"));
  if (format2) {
    const nlohmann::json& f = j["fusion"];
    LANDMARK_CHECK_ARG(f.is_string() && (f == "hsa" || f == "joint"),
                       what + ": model config 'fusion' is " + f.dump() + " (expected \"hsa\" or \"joint\")");
    c.fusion = ParseFusion(f.get<std::string>());
  }
  c.vocab = SizeField(j, "vocab", what);
  c.d_model = SizeField(j, "d_model", what);
  c.heads = SizeField(j, "heads", what);
  c.head_dim = SizeField(j, "head_dim", what);
  c.mlp_hidden = SizeField(j, "mlp_hidden", what);
  c.window = SizeField(j, "window", what);
  c.chunk = SizeField(j, "chunk", what);
  c.top_k = SizeField(j, "top_k", what);
  c.lower = SizeField(j, "lower", what);
  c.rope_theta = RealField(j, "rope_theta", what);
  c.norm_eps = RealField(j, "norm_eps", what);
  LANDMARK_CHECK_ARG(j.contains("upper") && j["upper"].is_array(),
                     what + ": model config 'upper' must be a list of \"hsa\" / \"gmu\"");
  c.upper.clear();
  for (const nlohmann::json& kind : j["upper"]) {
    const std::optional<LayerKind> k = kind.is_string() ? ParseLayerKind(kind.get<std::string>()) : std::nullopt;
    LANDMARK_CHECK_ARG(k.has_value(),
                       what + ": model config 'upper' holds " + kind.dump() + " (expected \"hsa\" or \"gmu\")");
    c.upper.push_back(*k);
  }
  c.Validate(what);
  return c;
}

void ModelConfig::Validate(const std::string& what) const {
  LANDMARK_CHECK_ARG(heads * head_dim == d_model, what + ": model config heads (" + std::to_string(heads) +
                                                      ") × head_dim (" + std::to_string(head_dim) +
                                                      ") must equal d_model (" + std::to_string(d_model) + ")");
  LANDMARK_CHECK_ARG(head_dim % 2 == 0, what + ": model config head_dim must be even (RoPE pairs)");
  LANDMARK_CHECK_ARG(vocab >= 128 && vocab <= 256, what + ": model config vocab must be 128..256 (bytes)");
  LANDMARK_CHECK_ARG(!upper.empty() && upper[0] == LayerKind::kHsa,
                     what + ": model config 'upper' must start with an \"hsa\" block");
  LANDMARK_CHECK_ARG(window >= 2, what + ": model config window must be at least 2");
  // What the runtime can use: every block keeps W−1 rows of keys and values
  // and the store's chunks are at most 65536 tokens (a window of 2^62 would
  // allocate without bound).
  auto at_most = [&](size_t value, size_t limit, const char* key) {
    LANDMARK_CHECK_ARG(value <= limit, what + ": model config '" + std::string(key) + "' is " + std::to_string(value) +
                                           ", at most " + std::to_string(limit));
  };
  at_most(window, 65536, "window");
  at_most(chunk, 65536, "chunk");
  at_most(top_k, 65536, "top_k");
  at_most(d_model, 65536, "d_model");
  at_most(heads, 4096, "heads");
  at_most(mlp_hidden, 1 << 20, "mlp_hidden");
  at_most(lower, 1024, "lower");
  at_most(upper.size(), 1024, "upper");
}

std::string ModelConfig::ToJson() const {
  nlohmann::ordered_json j;
  // hsa stays format 1: the shipped weights' metadata reads as before.
  j["format"] = fusion == Fusion::kHsa ? 1 : 2;
  j["vocab"] = vocab;
  j["d_model"] = d_model;
  j["heads"] = heads;
  j["head_dim"] = head_dim;
  j["mlp_hidden"] = mlp_hidden;
  j["window"] = window;
  j["chunk"] = chunk;
  j["top_k"] = top_k;
  j["lower"] = lower;
  j["upper"] = nlohmann::json::array();
  for (LayerKind k : upper) j["upper"].push_back(Name(k));
  j["rope_theta"] = rope_theta;
  j["norm_eps"] = norm_eps;
  if (fusion != Fusion::kHsa) j["fusion"] = Name(fusion);
  return j.dump();
}

uint64_t ModelConfig::parameters() const {
  const uint64_t D = d_model, F = mlp_hidden;
  const uint64_t block = 4 * D * D + 2 * D * F + 2 * D;
  uint64_t n = 2 * vocab * D + D + (lower + upper.size()) * block + 3 * D * D + 2 * D;
  for (LayerKind k : upper) n += k == LayerKind::kHsa ? 3 * D * D + 2 * D : 2 * D * D + D;
  return n;
}

double ModelConfig::ingest_flops_per_token() const {
  const double D = double(d_model), F = double(mlp_hidden);
  const double block = 2 * (4 * D * D + 2 * D * F) + 2 * 2 * double(window) * D;  // projections + q·k, p·v
  return double(lower) * block + 2 * (2 * D * D) + 2 * D * D / double(chunk);     // + memory K, V, landmark
}

}  // namespace landmark
