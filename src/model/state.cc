// DocumentState as a .safetensors file (f32 tensors, the counts in metadata).
#include "src/model/state.h"

#include <cstring>
#include <filesystem>

#include "landmark/error.h"
#include "landmark/safetensors.h"

namespace landmark::model {

std::string DocumentState::Path(const std::string& dir) {
  return (std::filesystem::path(dir) / "model-state.safetensors").string();
}

void DocumentState::Write(const std::string& dir, const ModelConfig& config) const {
  const size_t D = config.d_model;
  std::vector<TensorToWrite> tensors;
  auto add = [&](const std::string& name, const std::vector<float>& v, size_t rows) {
    tensors.push_back({name, DType::kF32, {rows, D}, v.data()});
  };
  for (size_t i = 0; i < lower.size(); ++i) {
    add("lower." + std::to_string(i) + ".k", lower[i].k, lower[i].tokens);
    add("lower." + std::to_string(i) + ".v", lower[i].v, lower[i].tokens);
  }
  for (size_t j = 0; j < upper.size(); ++j) {
    add("upper." + std::to_string(j) + ".k", upper[j].k, upper[j].tokens);
    add("upper." + std::to_string(j) + ".v", upper[j].v, upper[j].tokens);
  }
  add("h_tail", h_tail, h_rows);
  add("partial_sum", partial_sum, 1);
  WriteSafeTensors(Path(dir), tensors,
                   {{"landmark.state", "1"},
                    {"tokens", std::to_string(tokens)},
                    {"model_digest", digest},
                    {"partial_rows", std::to_string(partial_rows)},
                    {"landmark.model", config.ToJson()}});
}

DocumentState DocumentState::Read(const std::string& dir, const Model::Impl& model, uint64_t store_tokens) {
  const std::string path = Path(dir);
  LANDMARK_CHECK_ARG(std::filesystem::exists(path),
                     dir + ": no model-state.safetensors (not ingested through the model, or the ingest did not "
                           "finish); ingest it with --model");
  const SafeTensors f = SafeTensors::Open(path);
  const auto& meta = f.metadata();
  auto field = [&](const char* key) {
    auto it = meta.find(key);
    LANDMARK_CHECK_ARG(it != meta.end(), path + ": lacks metadata '" + std::string(key) + "'");
    return it->second;
  };
  LANDMARK_CHECK_ARG(field("landmark.state") == "1", path + ": unknown state format " + field("landmark.state"));
  DocumentState s;
  s.digest = field("model_digest");
  LANDMARK_CHECK_ARG(s.digest == model.digest, dir + ": ingested by another model (digest " + s.digest + "), not " +
                                                   model.path + " (" + model.digest + ")");
  try {
    s.tokens = std::stoull(field("tokens"));
    s.partial_rows = std::stoull(field("partial_rows"));
  } catch (const std::logic_error&) {
    LANDMARK_THROW(path + ": bad token counts in the metadata");
  }
  LANDMARK_CHECK_ARG(s.tokens == store_tokens, dir + ": the store holds " + std::to_string(store_tokens) +
                                                   " tokens but its model state " + std::to_string(s.tokens) +
                                                   " (an ingest did not finish); ingest again");
  const size_t D = model.config.d_model;
  auto load = [&](const std::string& name, size_t max_rows, std::vector<float>& out) {
    LANDMARK_CHECK_ARG(f.Has(name), path + ": lacks tensor '" + name + "'");
    const TensorView& t = f.Get(name);
    LANDMARK_CHECK_ARG(t.dtype == DType::kF32 && t.shape.size() == 2 && t.shape[1] == D && t.shape[0] <= max_rows,
                       t.name + ": shape " + t.ShapeString() + " does not fit the model");
    out.resize(t.elements);
    std::memcpy(out.data(), t.data, t.elements * sizeof(float));
    return t.shape[0];
  };
  const size_t W = model.config.window;
  auto cache = [&](const std::string& prefix) {
    SwaCache c;
    c.tokens = load(prefix + ".k", W - 1, c.k);
    LANDMARK_CHECK_ARG(load(prefix + ".v", W - 1, c.v) == c.tokens, path + ": " + prefix + " k and v differ in length");
    return c;
  };
  for (size_t i = 0; i < model.lower.size(); ++i) s.lower.push_back(cache("lower." + std::to_string(i)));
  for (size_t j = 0; j < model.upper.size(); ++j) s.upper.push_back(cache("upper." + std::to_string(j)));
  s.h_rows = load("h_tail", model.upper.size() * (W - 1), s.h_tail);
  load("partial_sum", 1, s.partial_sum);
  LANDMARK_CHECK_ARG(s.partial_rows < model.config.chunk && s.partial_sum.size() == D,
                     path + ": bad partial chunk state");
  return s;
}

}  // namespace landmark::model
