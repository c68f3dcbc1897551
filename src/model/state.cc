// DocumentState as a .safetensors image (f32 tensors, the counts in
// metadata), kept as the store attachment "model-state".
#include "src/model/state.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "landmark/error.h"
#include "src/io/safetensors.h"
#include "src/io/mapped_file.h"

namespace landmark::model {

std::string DocumentState::LegacyPath(const std::string& dir) {
  return (std::filesystem::path(dir) / "model-state.safetensors").string();
}

std::string DocumentState::Serialize(const ModelConfig& config) const {
  const size_t D = config.d_model;
  std::vector<TensorToWrite> tensors;
  auto add = [&](const std::string& name, const std::vector<float>& v, size_t rows) {
    tensors.push_back({name, DType::kF32, {rows, D}, v.data()});
  };
  for (size_t i = 0; i < lower.size(); ++i) {
    add("lower." + std::to_string(i) + ".k", lower[i].k, lower[i].tokens);
    add("lower." + std::to_string(i) + ".v", lower[i].v, lower[i].tokens);
  }
  if (has_upper) {
    for (size_t j = 0; j < upper.size(); ++j) {
      add("upper." + std::to_string(j) + ".k", upper[j].k, upper[j].tokens);
      add("upper." + std::to_string(j) + ".v", upper[j].v, upper[j].tokens);
    }
  }
  add("h_tail", h_tail, h_rows);
  add("partial_sum", partial_sum, 1);
  return SafeTensorsBytes(tensors,
                          {{"landmark.state", "2"},
                           {"tokens", std::to_string(tokens)},
                           {"model_digest", digest},
                           {"partial_rows", std::to_string(partial_rows)},
                           {"upper_caches", has_upper ? "1" : "0"},
                           {"run", run},
                           {"run_first", std::to_string(run_first)},
                           {"run_finished", run_finished ? "1" : "0"},
                           {"landmark.model", config.ToJson()}},
                          kStateAttachment);
}

DocumentState DocumentState::Parse(std::string_view bytes, const std::string& what, const Model::Impl& model,
                                   uint64_t store_tokens) {
  const SafeTensors f = SafeTensors::Parse(bytes.data(), bytes.size(), what);
  const auto& meta = f.metadata();
  auto field = [&](const char* key) {
    auto it = meta.find(key);
    LANDMARK_CHECK_ARG(it != meta.end(), what + ": lacks metadata '" + std::string(key) + "'");
    return it->second;
  };
  auto count = [&](const char* key) -> uint64_t {
    const std::string text = field(key);
    LANDMARK_CHECK_ARG(!text.empty() && text.size() <= 19 && text.find_first_not_of("0123456789") == std::string::npos,
                       what + ": metadata '" + key + "' is not a count: \"" + text + "\"");
    return std::stoull(text);
  };
  const std::string format = field("landmark.state");
  LANDMARK_CHECK_ARG(format == "1" || format == "2", what + ": unknown state format " + format);
  DocumentState s;
  s.digest = field("model_digest");
  LANDMARK_CHECK_ARG(s.digest == model.digest, what + ": ingested by another model (digest " + s.digest + "), not " +
                                                   model.path + " (" + model.digest + ")");
  s.tokens = count("tokens");
  s.partial_rows = count("partial_rows");
  s.has_upper = format == "1" || field("upper_caches") == "1";
  if (format == "2") {
    s.run = field("run");
    s.run_first = count("run_first");
    s.run_finished = field("run_finished") == "1";
    LANDMARK_CHECK_ARG(s.run_first <= s.tokens, what + ": the ingest run begins past the state's end");
  }
  LANDMARK_CHECK_ARG(s.tokens == store_tokens, what + ": the store holds " + std::to_string(store_tokens) +
                                                   " tokens but its model state " + std::to_string(s.tokens) +
                                                   " (an ingest did not finish, or K/V were appended without the "
                                                   "model); ingest again into a new store");
  const size_t D = model.config.d_model;
  auto load = [&](const std::string& name, size_t max_rows, std::vector<float>& out) {
    LANDMARK_CHECK_ARG(f.Has(name), what + ": lacks tensor '" + name + "'");
    const TensorView& t = f.Get(name);
    LANDMARK_CHECK_ARG(t.dtype == DType::kF32 && t.shape.size() == 2 && t.shape[1] == D && t.shape[0] <= max_rows,
                       t.name + ": shape " + t.ShapeString() + " does not fit the model");
    out.resize(t.elements);
    if (t.elements) std::memcpy(out.data(), t.data, t.elements * sizeof(float));
    return t.shape[0];
  };
  const size_t W = model.config.window;
  auto cache = [&](const std::string& prefix) {
    SwaCache c;
    c.tokens = load(prefix + ".k", W - 1, c.k);
    LANDMARK_CHECK_ARG(load(prefix + ".v", W - 1, c.v) == c.tokens, what + ": " + prefix + " k and v differ in length");
    return c;
  };
  for (size_t i = 0; i < model.lower.size(); ++i) s.lower.push_back(cache("lower." + std::to_string(i)));
  if (s.has_upper) {
    for (size_t j = 0; j < model.upper.size(); ++j) s.upper.push_back(cache("upper." + std::to_string(j)));
  }
  s.h_rows = load("h_tail", model.upper.size() * (W - 1), s.h_tail);
  load("partial_sum", 1, s.partial_sum);
  LANDMARK_CHECK_ARG(s.partial_rows < model.config.chunk && s.partial_sum.size() == D &&
                         s.partial_rows == s.tokens % model.config.chunk,
                     what + ": bad partial chunk state");
  LANDMARK_CHECK_ARG(s.h_rows == std::min<uint64_t>(s.tokens, model.upper.size() * (W - 1)),
                     what + ": h_tail holds " + std::to_string(s.h_rows) + " rows, the document's end needs " +
                         std::to_string(std::min<uint64_t>(s.tokens, model.upper.size() * (W - 1))));
  return s;
}

DocumentState DocumentState::Read(const StoreReader& store, const Model::Impl& model) {
  const std::string& dir = store.info().path;
  if (store.has_attachment(kStateAttachment)) {
    return Parse(store.attachment(kStateAttachment), dir + ": attachment " + kStateAttachment, model, store.tokens());
  }
  const std::string legacy = LegacyPath(dir);
  LANDMARK_CHECK_ARG(std::filesystem::exists(legacy),
                     dir + ": no model state (not ingested through the model, or its first commit did not happen); "
                           "ingest it through the byte model (ModelIngest)");
  const MappedFile file(legacy, /*follow_symlinks=*/false);
  return Parse(std::string_view(reinterpret_cast<const char*>(file.data()), file.size()), legacy, model,
               store.tokens());
}

void UpperCaches(const Model::Impl& m, const Retriever& retriever, DocumentState& state, Workspace& ws) {
  const size_t D = m.config.d_model, W = m.config.window, u = m.upper.size();
  state.upper.assign(u, SwaCache());
  state.has_upper = true;
  if (state.h_rows == 0) return;
  std::vector<float> xs = state.h_tail, mem(state.h_rows * D);
  size_t rows = state.h_rows, first = state.tokens - rows, offset = 0;
  for (size_t j = 0; j < u; ++j) {
    UpperBlockForward(m, j, retriever, state.upper[j], xs.data() + offset * D, rows, first, mem.data() + offset * D,
                      ws, nullptr);
    const size_t keep = std::min(rows, (u - 1 - j) * (W - 1)), drop = rows - keep;
    offset += drop;
    first += drop;
    rows = keep;
  }
}

}  // namespace landmark::model
