// Model::Load: the weights file of docs/model.md, every tensor checked by
// name and shape; the default weights' location; random weights for tests.
#include <cstdint>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "landmark/error.h"
#include "src/io/mapped_file.h"
#include "src/io/safetensors.h"
#include "src/model/layers.h"

namespace landmark {
namespace {

constexpr const char* kConfigKey = "landmark.model";

std::string Lower(size_t i) { return "lower." + std::to_string(i) + "."; }
std::string Upper(size_t j) { return "upper." + std::to_string(j) + "."; }

HsaShape Hsa(const ModelConfig& c) { return {c.d_model, c.heads, c.head_dim, true, float(c.norm_eps)}; }

// Sliding-window attention and the MLP: every block has them.
std::vector<TensorSpec> SwaMlpTensors(const std::string& p, const ModelConfig& c) {
  const size_t D = c.d_model;
  std::vector<TensorSpec> specs = {{p + "attn_norm", {D}, Init::kNorm}};
  for (const char* w : {"wq", "wk", "wv", "wo"}) specs.push_back({p + w, {D, D}});
  for (TensorSpec& s : Mlp::Tensors(p, MlpActivation::kGelu, D, c.mlp_hidden)) specs.push_back(std::move(s));
  return specs;
}

SwaMlpWeights LoadSwaMlp(const SafeTensors& f, const std::string& p, const ModelConfig& c) {
  const size_t D = c.d_model;
  SwaMlpWeights w;
  w.attn_norm = LoadVector(f, p + "attn_norm", D);
  w.wqkv = LoadStackedLinear(f, {p + "wq", p + "wk", p + "wv"}, D, D);
  w.wo = LoadLinear(f, p + "wo", D, D);
  w.mlp = Mlp::Load(f, p, MlpActivation::kGelu, D, c.mlp_hidden, float(c.norm_eps));
  return w;
}


std::string FileDigest(const std::string& path) {
  const MappedFile f(path);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(f.data(), f.size())));
  return hex;
}

std::filesystem::path ExecutableDir() {
  std::error_code error;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

// Every tensor of docs/model.md's weights file, in file order.
std::vector<TensorSpec> model::ModelTensors(const ModelConfig& c) {
  const size_t D = c.d_model;
  std::vector<TensorSpec> specs = {{"embed", {c.vocab, D}, Init::kEmbedding}};
  auto add = [&](std::vector<TensorSpec> more) {
    for (TensorSpec& s : more) specs.push_back(std::move(s));
  };
  for (size_t i = 0; i < c.lower; ++i) add(SwaMlpTensors(Lower(i), c));
  add({{"memory.norm", {D}, Init::kNorm},
       {"memory.landmark_norm", {D}, Init::kNorm},
       {"memory.wk", {D, D}},
       {"memory.wv", {D, D}},
       {"memory.wl", {D, D}}});
  for (size_t j = 0; j < c.upper.size(); ++j) {
    add(SwaMlpTensors(Upper(j), c));
    add(c.upper[j] == LayerKind::kHsa ? HsaLayer::Tensors(Upper(j), Hsa(c))
                                      : GatedMemoryUnit::Tensors(Upper(j), GmuVariant::kSambaY, D, D));
  }
  add({{"final_norm", {D}, Init::kNorm}, {"lm_head", {c.vocab, D}}});
  return specs;
}

std::map<std::string, std::string> model::ModelMetadata(const ModelConfig& c) { return {{kConfigKey, c.ToJson()}}; }

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
const ModelConfig& Model::config() const { return impl_->config; }
const std::string& Model::path() const { return impl_->path; }
const std::string& Model::digest() const { return impl_->digest; }

Model Model::Load(const std::string& path) {
  const SafeTensors f = SafeTensors::Open(path);
  auto it = f.metadata().find(kConfigKey);
  LANDMARK_CHECK_ARG(it != f.metadata().end(),
                     path + ": no '" + std::string(kConfigKey) + "' metadata (not a landmark model file)");
  auto m = std::make_unique<Impl>();
  m->config = ModelConfig::FromJson(it->second, path);
  m->path = path;
  m->digest = FileDigest(path);
  const ModelConfig& c = m->config;
  const size_t D = c.d_model;
  const float eps = float(c.norm_eps);
  m->embed = LoadValues(f, "embed", {c.vocab, D});
  for (size_t i = 0; i < c.lower; ++i) m->lower.push_back(LoadSwaMlp(f, Lower(i), c));
  m->memory_norm = LoadVector(f, "memory.norm", D);
  m->landmark_norm = LoadVector(f, "memory.landmark_norm", D);
  m->memory_wk = LoadLinear(f, "memory.wk", D, D);
  m->memory_wv = LoadLinear(f, "memory.wv", D, D);
  m->memory_wl = LoadLinear(f, "memory.wl", D, D);
  for (size_t j = 0; j < c.upper.size(); ++j) {
    UpperWeights u;
    u.kind = c.upper[j];
    u.swa = LoadSwaMlp(f, Upper(j), c);
    if (u.kind == LayerKind::kHsa) {
      u.hsa = HsaLayer::Load(f, Upper(j), Hsa(c));
    } else {
      u.gmu = GatedMemoryUnit::Load(f, Upper(j), GmuVariant::kSambaY, D, D, eps);
    }
    m->upper.push_back(std::move(u));
  }
  m->final_norm = LoadVector(f, "final_norm", D);
  m->lm_head = LoadLinear(f, "lm_head", c.vocab, D);
  return Model(std::move(m));
}

std::string FindShippedFile(const std::string& relative) {
  std::vector<std::filesystem::path> places;
  const std::filesystem::path exe = ExecutableDir();
  if (!exe.empty()) {
    places.push_back(exe / ".." / ".." / relative);                  // build/bin in a checkout
    places.push_back(exe / ".." / "share" / "landmark" / relative);  // installed
    places.push_back(exe / ".." / ".." / ".." / relative);           // build/tests/... binaries
  }
#ifdef LANDMARK_SOURCE_DIR
  places.push_back(std::filesystem::path(LANDMARK_SOURCE_DIR) / relative);
#endif
  std::string tried;
  for (const auto& p : places) {
    // Never throws: a place that cannot be searched or read (permissions)
    // is noted and the next one tried.
    std::error_code error;
    const bool regular = std::filesystem::is_regular_file(p, error);
    if (regular && ::access(p.c_str(), R_OK) == 0) {
      const std::filesystem::path canonical = std::filesystem::weakly_canonical(p, error);
      return (error ? p : canonical).string();
    }
    tried += "\n  " + p.lexically_normal().string();
    if (error) {
      tried += " (" + error.message() + ")";
    } else if (regular) {
      tried += std::string(" (") + std::strerror(errno) + ")";
    }
  }
  LANDMARK_THROW(relative + " was not found; looked in:" + tried);
}

std::string DefaultModelPath() {
  if (const char* env = std::getenv("LANDMARK_MODEL"); env && *env) {
    std::error_code error;
    LANDMARK_CHECK_ARG(std::filesystem::exists(env, error),
                       std::string("LANDMARK_MODEL=") + env + ": " + (error ? error.message() : "no such file"));
    return env;
  }
  // The shipped model (train/README.md says which variant and why: the
  // pure-HSA one since phase 7, then the SambaY one); a default.safetensors
  // put beside it takes precedence.
  std::string missing;
  for (const char* name : {"models/default.safetensors", "models/lm-hsa.safetensors", "models/lm-gmu.safetensors"}) {
    try {
      return FindShippedFile(name);
    } catch (const Error& e) {
      missing += std::string(missing.empty() ? "" : "\n") + e.what();
    }
  }
  LANDMARK_THROW("the default model weights: " + missing + "\nset LANDMARK_MODEL=FILE or name a .safetensors file as the model");
}

Model Model::LoadSpec(const std::string& spec) { return Load(spec == "default" ? DefaultModelPath() : spec); }

std::string DocumentBytes(std::string_view text) {
  std::string out(text);
  for (char& ch : out) {
    const unsigned char b = static_cast<unsigned char>(ch);
    if (b >= 128) ch = '?';
    else if (b == '\n' || b == '\r') ch = ' ';
  }
  return out;
}

}  // namespace landmark
