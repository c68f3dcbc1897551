// LlmModel::Load: config, then the checkpoint (one file or shards through
// model.safetensors.index.json), every tensor checked by name and shape
// before anything is built; matrices borrowed from the maps, never copied.
#include "src/llm/weights.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "landmark/error.h"
#include "src/kernels/kernels.h"

namespace landmark::llm {
namespace {

std::string Layer(size_t i) { return "model.layers." + std::to_string(i) + "."; }

// Where each tensor is: one mapped file, or the shards of an index.
class Checkpoint {
 public:
  Checkpoint(const std::string& dir, std::vector<SafeTensors>& files) : files_(files) {
    const std::filesystem::path root(dir);
    const std::filesystem::path index = root / "model.safetensors.index.json";
    const std::filesystem::path single = root / "model.safetensors";
    if (std::filesystem::exists(index)) {
      searched_ = index.string() + "'s weight_map";
      ReadIndex(root, index.string());
    } else {
      LANDMARK_CHECK_ARG(std::filesystem::exists(single),
                         dir + ": no model.safetensors or model.safetensors.index.json");
      searched_ = single.string();
      files_.push_back(SafeTensors::Open(single.string()));
    }
  }

  // The tensor `name` of `shape`; errors name the file and the tensor.
  const TensorView& Get(const std::string& name, const std::vector<size_t>& shape) const {
    size_t file = 0;
    if (!where_.empty()) {
      const auto it = where_.find(name);
      LANDMARK_CHECK_ARG(it != where_.end(), name + ": missing (not in " + searched_ + ")");
      file = it->second;
    }
    const SafeTensors& f = files_[file];
    LANDMARK_CHECK_ARG(f.Has(name), name + ": missing (not in " + f.path() + (where_.empty() ? "" : ", where " + searched_ + " puts it") + ")");
    const TensorView& t = f.Get(name);
    LANDMARK_CHECK_ARG(t.shape == shape, f.path() + ": " + name + " has shape " + t.ShapeString() + ", expected " +
                                             ShapeString(shape));
    return t;
  }

 private:
  void ReadIndex(const std::filesystem::path& root, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception& e) {
      LANDMARK_THROW(path + ": not valid JSON (" + std::string(e.what()) + ")");
    }
    LANDMARK_CHECK_ARG(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
                       path + ": weight_map: missing or not an object");
    std::map<std::string, size_t> opened;
    for (const auto& [name, value] : j["weight_map"].items()) {
      LANDMARK_CHECK_ARG(value.is_string(), path + ": weight_map: " + name + ": expected a file name");
      const std::string file = value.get<std::string>();
      auto it = opened.find(file);
      if (it == opened.end()) {
        const std::filesystem::path shard = root / file;
        LANDMARK_CHECK_ARG(std::filesystem::exists(shard),
                           path + ": weight_map puts " + name + " in " + file + ", which does not exist");
        files_.push_back(SafeTensors::Open(shard.string()));
        it = opened.emplace(file, files_.size() - 1).first;
      }
      where_[name] = it->second;
    }
  }

  std::vector<SafeTensors>& files_;
  std::map<std::string, size_t> where_;  // tensor → file (sharded)
  std::string searched_;
};

std::vector<float> Widened(const TensorView& t) {
  std::vector<float> v(t.elements);
  ConvertToF32(t.data, t.dtype, t.elements, v.data());
  return v;
}

}  // namespace

void Projection::Forward(const float* x, size_t rows, float* y, bool accumulate) const {
  weight.Forward(x, rows, y, accumulate);
  if (bias.empty()) return;
  for (size_t r = 0; r < rows; ++r) AddInPlace(y + r * weight.out(), bias.data(), bias.size());
}

std::vector<TensorSpec> TensorSpecs(const LlmConfig& c) {
  const size_t D = c.hidden_size, F = c.intermediate_size, d = c.head_dim;
  const size_t q = c.q_heads * d, kv = c.kv_heads * d;
  std::vector<TensorSpec> specs = {{"model.embed_tokens.weight", {c.vocab_size, D}}};
  for (size_t i = 0; i < c.layers; ++i) {
    const std::string p = Layer(i);
    specs.push_back({p + "input_layernorm.weight", {D}, Init::kNorm});
    for (auto [name, rows] : {std::pair<const char*, size_t>{"q_proj", q}, {"k_proj", kv}, {"v_proj", kv}}) {
      specs.push_back({p + "self_attn." + name + ".weight", {rows, D}});
      if (c.qkv_bias) specs.push_back({p + "self_attn." + name + ".bias", {rows}, Init::kBias});
    }
    specs.push_back({p + "self_attn.o_proj.weight", {D, q}});
    if (c.o_bias) specs.push_back({p + "self_attn.o_proj.bias", {D}, Init::kBias});
    if (c.qk_norm) {
      specs.push_back({p + "self_attn.q_norm.weight", {d}, Init::kNorm});
      specs.push_back({p + "self_attn.k_norm.weight", {d}, Init::kNorm});
    }
    specs.push_back({p + "post_attention_layernorm.weight", {D}, Init::kNorm});
    specs.push_back({p + "mlp.gate_proj.weight", {F, D}});
    specs.push_back({p + "mlp.up_proj.weight", {F, D}});
    specs.push_back({p + "mlp.down_proj.weight", {D, F}});
  }
  specs.push_back({"model.norm.weight", {D}, Init::kNorm});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, D}});
  return specs;
}

std::unique_ptr<LlmModel::Impl> LoadWeights(LlmConfig config) {
  auto m = std::make_unique<LlmModel::Impl>();
  m->config = std::move(config);
  const LlmConfig& c = m->config;
  const Checkpoint checkpoint(c.dir, m->files);
  std::map<std::string, const TensorView*> tensors;
  for (const TensorSpec& spec : TensorSpecs(c)) tensors[spec.name] = &checkpoint.Get(spec.name, spec.shape);
  auto matrix = [&](const std::string& name) {
    const TensorView& t = *tensors.at(name);
    return Linear::Borrow(t.data, t.dtype, t.shape[0], t.shape[1]);
  };
  auto vector = [&](const std::string& name) { return Widened(*tensors.at(name)); };
  auto projection = [&](const std::string& name, bool bias) {
    Projection p{matrix(name + ".weight"), {}};
    if (bias) p.bias = vector(name + ".bias");
    return p;
  };
  const TensorView& embed = *tensors.at("model.embed_tokens.weight");
  m->embed = embed.data;
  m->embed_dtype = embed.dtype;
  for (size_t i = 0; i < c.layers; ++i) {
    const std::string p = Layer(i);
    LayerWeights w;
    w.input_norm = vector(p + "input_layernorm.weight");
    w.q = projection(p + "self_attn.q_proj", c.qkv_bias);
    w.k = projection(p + "self_attn.k_proj", c.qkv_bias);
    w.v = projection(p + "self_attn.v_proj", c.qkv_bias);
    w.o = projection(p + "self_attn.o_proj", c.o_bias);
    if (c.qk_norm) {
      w.q_norm = vector(p + "self_attn.q_norm.weight");
      w.k_norm = vector(p + "self_attn.k_norm.weight");
    }
    w.mlp = Mlp(MlpActivation::kSwiGlu, vector(p + "post_attention_layernorm.weight"), float(c.rms_norm_eps),
                matrix(p + "mlp.gate_proj.weight"), matrix(p + "mlp.down_proj.weight"), matrix(p + "mlp.up_proj.weight"));
    m->layers.push_back(std::move(w));
  }
  m->final_norm = vector("model.norm.weight");
  m->lm_head = c.tie_word_embeddings ? matrix("model.embed_tokens.weight") : matrix("lm_head.weight");
  return m;
}

LlmModel::LlmModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LlmModel::~LlmModel() = default;
LlmModel::LlmModel(LlmModel&&) noexcept = default;
LlmModel& LlmModel::operator=(LlmModel&&) noexcept = default;

LlmModel LlmModel::Load(const std::string& dir) { return LlmModel(LoadWeights(LlmConfig::FromDirectory(dir))); }

const LlmConfig& LlmModel::config() const { return impl_->config; }
DType LlmModel::weight_dtype() const { return impl_->layers.front().q.weight.dtype(); }

uint64_t LlmModel::weight_bytes() const {
  uint64_t bytes = impl_->lm_head.weight_bytes();
  for (const LayerWeights& w : impl_->layers) {
    for (const Projection* p : {&w.q, &w.k, &w.v, &w.o}) bytes += p->weight.weight_bytes();
    bytes += w.mlp.matrix_bytes();
  }
  return bytes;
}

uint64_t LlmModel::file_bytes() const {
  uint64_t bytes = 0;
  for (const SafeTensors& f : impl_->files) bytes += std::filesystem::file_size(f.path());
  return bytes;
}

std::vector<std::string> LlmModel::files() const {
  std::vector<std::string> paths;
  for (const SafeTensors& f : impl_->files) paths.push_back(f.path());
  return paths;
}

}  // namespace landmark::llm
