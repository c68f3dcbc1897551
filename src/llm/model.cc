// LlmModel::Load: config.json, the safetensors shards (one file, or many
// named by model.safetensors.index.json), every tensor the architecture
// needs checked by name, shape and dtype, and the tokenizer.
#include <xxhash.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "landmark/error.h"
#include "landmark/kernels.h"
#include "src/llm/model_impl.h"

namespace landmark {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LANDMARK_CHECK_ARG(in.good(), path + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Tensor name -> the shard that holds it.
class WeightIndex {
 public:
  WeightIndex(const std::string& dir, std::vector<std::unique_ptr<SafeTensors>>& shards) : dir_(dir) {
    const fs::path index = fs::path(dir) / "model.safetensors.index.json";
    std::vector<std::string> files;
    if (fs::exists(index)) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(ReadAll(index.string()));
      } catch (const nlohmann::json::parse_error& e) {
        LANDMARK_THROW(index.string() + ": not valid JSON (" + e.what() + ")");
      }
      LANDMARK_CHECK_ARG(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
                         index.string() + ": no 'weight_map' object");
      std::map<std::string, size_t> file_index;
      for (const auto& [name, file] : j["weight_map"].items()) {
        LANDMARK_CHECK_ARG(file.is_string(), index.string() + ": weight_map['" + name + "'] is not a file name");
        const std::string f = file.get<std::string>();
        LANDMARK_CHECK_ARG(f.find('/') == std::string::npos && f != ".." && !f.empty(),
                           index.string() + ": weight_map['" + name + "'] = '" + f + "' is not a file in the directory");
        auto [it, added] = file_index.emplace(f, files.size());
        if (added) files.push_back(f);
        where_[name] = it->second;
      }
    } else if (fs::exists(fs::path(dir) / "model.safetensors")) {
      files.push_back("model.safetensors");
    } else {
      for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".safetensors") files.push_back(e.path().filename().string());
      }
      std::sort(files.begin(), files.end());
      LANDMARK_CHECK_ARG(!files.empty(), dir + ": no model.safetensors, model.safetensors.index.json or *.safetensors");
    }
    for (const std::string& f : files) {
      const fs::path path = fs::path(dir) / f;
      LANDMARK_CHECK_ARG(fs::exists(path), path.string() + ": missing (named by model.safetensors.index.json)");
      shards.push_back(std::make_unique<SafeTensors>(SafeTensors::Open(path.string())));
      shards_.push_back(shards.back().get());
    }
    if (where_.empty()) {  // no index: every shard's names
      for (size_t i = 0; i < shards_.size(); ++i) {
        for (const std::string& name : shards_[i]->names()) where_.emplace(name, i);
      }
    }
  }

  bool Has(const std::string& name) const { return where_.count(name) != 0; }

  const TensorView& Get(const std::string& name, const std::vector<size_t>& shape) const {
    auto it = where_.find(name);
    if (it == where_.end()) {
      std::string files;
      for (const SafeTensors* s : shards_) files += (files.empty() ? "" : ", ") + fs::path(s->path()).filename().string();
      LANDMARK_THROW(dir_ + ": no tensor '" + name + "' (searched " + files + ")");
    }
    return shards_[it->second]->Get(name, shape);
  }

  Linear Matrix(const std::string& name, size_t out, size_t in) const {
    const TensorView& t = Get(name, {out, in});
    return Linear::View(t.data, t.dtype, out, in);
  }

  std::vector<float> Vector(const std::string& name, size_t n, size_t tile = 1) const {
    const TensorView& t = Get(name, {n});
    std::vector<float> v(n * tile);
    for (size_t i = 0; i < tile; ++i) ConvertToF32(t.data, t.dtype, n, v.data() + i * n);
    return v;
  }

 private:
  std::string dir_;
  std::vector<const SafeTensors*> shards_;
  std::map<std::string, size_t> where_;
};

std::string Digest(const std::string& dir, const std::vector<std::unique_ptr<SafeTensors>>& shards) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (const char* name : {"config.json", "tokenizer.json"}) {
    const std::string text = ReadAll((fs::path(dir) / name).string());
    XXH3_64bits_update(state, text.data(), text.size());
  }
  for (const auto& s : shards) {
    for (const std::string& name : s->names()) {
      const TensorView& t = s->Get(name);
      XXH3_64bits_update(state, name.data(), name.size());
      const std::string shape = t.ShapeString() + Name(t.dtype);
      XXH3_64bits_update(state, shape.data(), shape.size());
      // A sample of the values: weights that changed are noticed without reading them all.
      const size_t bytes = t.elements * SizeOf(t.dtype);
      XXH3_64bits_update(state, t.data, std::min<size_t>(bytes, 256));
    }
  }
  const uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace

LlmModel::LlmModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LlmModel::~LlmModel() = default;
LlmModel::LlmModel(LlmModel&&) noexcept = default;
LlmModel& LlmModel::operator=(LlmModel&&) noexcept = default;

const LlmConfig& LlmModel::config() const { return impl_->config; }
const Tokenizer& LlmModel::tokenizer() const { return *impl_->tokenizer; }
const std::string& LlmModel::dir() const { return impl_->dir; }
uint64_t LlmModel::weight_bytes() const { return impl_->weight_bytes; }
const std::string& LlmModel::digest() const { return impl_->digest; }

LlmModel LlmModel::Load(const std::string& dir) {
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.dir = dir;
  m.config = LlmConfig::FromDirectory(dir);
  const LlmConfig& c = m.config;
  LANDMARK_CHECK_ARG(fs::exists(fs::path(dir) / "tokenizer.json"), dir + ": no tokenizer.json");
  m.tokenizer = std::make_unique<Tokenizer>(Tokenizer::FromDirectory(dir));
  LANDMARK_CHECK_ARG(m.tokenizer->vocab_size() <= c.vocab_size,
                     dir + ": the tokenizer has " + std::to_string(m.tokenizer->vocab_size()) +
                         " tokens, more than the model's vocab_size " + std::to_string(c.vocab_size));
  const WeightIndex w(dir, m.shards);
  const size_t D = c.hidden, dh = c.head_dim, q = c.q_heads * dh, kv = c.kv_heads * dh, F = c.intermediate;
  m.embed = w.Get("model.embed_tokens.weight", {c.vocab_size, D});
  m.layers.resize(c.layers);
  for (size_t l = 0; l < c.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LlmLayerWeights& L = m.layers[l];
    L.input_norm = w.Vector(p + "input_layernorm.weight", D);
    L.post_norm = w.Vector(p + "post_attention_layernorm.weight", D);
    L.q = w.Matrix(p + "self_attn.q_proj.weight", q, D);
    L.k = w.Matrix(p + "self_attn.k_proj.weight", kv, D);
    L.v = w.Matrix(p + "self_attn.v_proj.weight", kv, D);
    L.o = w.Matrix(p + "self_attn.o_proj.weight", D, q);
    if (c.qkv_bias) {
      L.q_bias = w.Vector(p + "self_attn.q_proj.bias", q);
      L.k_bias = w.Vector(p + "self_attn.k_proj.bias", kv);
      L.v_bias = w.Vector(p + "self_attn.v_proj.bias", kv);
    }
    if (c.qk_norm) {
      L.q_norm = w.Vector(p + "self_attn.q_norm.weight", dh, c.q_heads);
      L.k_norm = w.Vector(p + "self_attn.k_norm.weight", dh, c.kv_heads);
    }
    L.gate = w.Matrix(p + "mlp.gate_proj.weight", F, D);
    L.up = w.Matrix(p + "mlp.up_proj.weight", F, D);
    L.down = w.Matrix(p + "mlp.down_proj.weight", D, F);
    for (const Linear* x : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) m.weight_bytes += x->weight_bytes();
  }
  m.final_norm = w.Vector("model.norm.weight", D);
  if (c.tie_embeddings || !w.Has("lm_head.weight")) {
    LANDMARK_CHECK_ARG(c.tie_embeddings, dir + ": no tensor 'lm_head.weight' and tie_word_embeddings is false");
    m.lm_head = Linear::View(m.embed.data, m.embed.dtype, c.vocab_size, D);
  } else {
    m.lm_head = w.Matrix("lm_head.weight", c.vocab_size, D);
  }
  m.weight_bytes += m.lm_head.weight_bytes();
  if (!m.layers.empty()) m.config.dtype = m.embed.dtype;
  m.digest = Digest(dir, m.shards);
  return LlmModel(std::move(impl));
}

}  // namespace landmark
