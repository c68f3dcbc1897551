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
#include <random>

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "src/io/safetensors.h"
#include "src/io/mapped_file.h"
#include "src/model/layers.h"

namespace landmark {
namespace {

constexpr const char* kConfigKey = "landmark.model";

// A tensor's values as f32 after checking its shape and values.
std::vector<float> Values(const SafeTensors& file, const std::string& name, std::vector<size_t> shape) {
  const TensorView& t = file.Get(name, shape);
  std::vector<float> out(t.elements);
  ConvertToF32(t.data, t.dtype, t.elements, out.data());
  for (float x : out) LANDMARK_CHECK_ARG(std::isfinite(x), t.name + ": holds a non-finite value");
  return out;
}

// [rows][in] matrices stacked along the output dimension (one matmul for
// q, k and v), in the file's dtype when that is bf16 (oneDNN's bf16 matmul
// where the CPU has AVX512_BF16, as the model was trained; half the bytes
// per decode step), else f32.
Linear Stacked(const SafeTensors& file, const std::vector<std::string>& names, size_t rows, size_t in) {
  bool bf16 = true;
  for (const std::string& name : names) bf16 = bf16 && file.Has(name) && file.Get(name).dtype == DType::kBF16;
  std::vector<float> w;
  for (const std::string& name : names) {
    const std::vector<float> part = Values(file, name, {rows, in});
    w.insert(w.end(), part.begin(), part.end());
  }
  if (bf16) {  // exact: the values came from bf16
    std::vector<uint16_t> b(w.size());
    ConvertFromF32(w.data(), w.size(), DType::kBF16, b.data());
    return Linear(b.data(), DType::kBF16, rows * names.size(), in);
  }
  return Linear(w.data(), DType::kF32, rows * names.size(), in);
}

Linear Matrix(const SafeTensors& file, const std::string& name, size_t rows, size_t in) {
  return Stacked(file, {name}, rows, in);
}

SwaMlpWeights LoadSwaMlp(const SafeTensors& f, const std::string& p, const ModelConfig& c) {
  const size_t D = c.d_model, F = c.mlp_hidden;
  SwaMlpWeights w;
  w.attn_norm = Values(f, p + "attn_norm", {D});
  w.mlp_norm = Values(f, p + "mlp_norm", {D});
  w.wqkv = Stacked(f, {p + "wq", p + "wk", p + "wv"}, D, D);
  w.wo = Matrix(f, p + "wo", D, D);
  w.w1 = Matrix(f, p + "w1", F, D);
  w.w2 = Matrix(f, p + "w2", D, F);
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
  m->embed = Values(f, "embed", {c.vocab, D});
  for (size_t i = 0; i < c.lower; ++i) m->lower.push_back(LoadSwaMlp(f, "lower." + std::to_string(i) + ".", c));
  m->memory_norm = Values(f, "memory.norm", {D});
  m->landmark_norm = Values(f, "memory.landmark_norm", {D});
  m->memory_wk = Matrix(f, "memory.wk", D, D);
  m->memory_wv = Matrix(f, "memory.wv", D, D);
  m->memory_wl = Matrix(f, "memory.wl", D, D);
  for (size_t j = 0; j < c.upper.size(); ++j) {
    const std::string p = "upper." + std::to_string(j) + ".";
    UpperWeights u;
    u.kind = c.upper[j];
    u.swa = LoadSwaMlp(f, p, c);
    if (u.kind == BlockKind::kHsa) {
      u.hsa_norm = Values(f, p + "hsa_norm", {D});
      u.hsa_r_norm = Values(f, p + "hsa_r_norm", {D});
      u.hsa_wrq = Stacked(f, {p + "hsa_wr", p + "hsa_wq"}, D, D);
      u.hsa_wo = Matrix(f, p + "hsa_wo", D, D);
    } else {
      u.gmu_norm = Values(f, p + "gmu_norm", {D});
      u.gmu_win = Matrix(f, p + "gmu_win", D, D);
      u.gmu_wout = Matrix(f, p + "gmu_wout", D, D);
    }
    m->upper.push_back(std::move(u));
  }
  m->final_norm = Values(f, "final_norm", {D});
  m->lm_head = Matrix(f, "lm_head", c.vocab, D);
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
  // SambaY one, then the pure-HSA one of older trees); a default.safetensors
  // put beside it takes precedence.
  std::string missing;
  for (const char* name : {"models/default.safetensors", "models/lm-gmu.safetensors", "models/lm-hsa.safetensors"}) {
    try {
      return FindShippedFile(name);
    } catch (const Error& e) {
      missing += std::string(missing.empty() ? "" : "\n") + e.what();
    }
  }
  LANDMARK_THROW("the default model weights: " + missing + "\nset LANDMARK_MODEL=FILE or pass --model FILE");
}

Model Model::LoadSpec(const std::string& spec) { return Load(spec == "default" ? DefaultModelPath() : spec); }

void WriteRandomModel(const std::string& path, const ModelConfig& c, uint64_t seed, DType dtype) {
  c.Validate(path);
  LANDMARK_CHECK_ARG(dtype == DType::kF32 || dtype == DType::kBF16, path + ": random weights are f32 or bf16");
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::pair<std::string, std::vector<size_t>>> shapes;
  std::vector<std::vector<float>> values;
  const size_t D = c.d_model, F = c.mlp_hidden;
  auto add = [&](const std::string& name, std::vector<size_t> shape, float scale, bool ones = false) {
    size_t n = 1;
    for (size_t s : shape) n *= s;
    std::vector<float> v(n);
    for (float& x : v) x = ones ? 1.0f + 0.1f * normal(rng) : scale * normal(rng);
    shapes.push_back({name, shape});
    values.push_back(std::move(v));
  };
  const float sD = 1.0f / std::sqrt(float(D)), sF = 1.0f / std::sqrt(float(F));
  auto swa_mlp = [&](const std::string& p) {
    add(p + "attn_norm", {D}, 0, true);
    add(p + "mlp_norm", {D}, 0, true);
    for (const char* w : {"wq", "wk", "wv", "wo"}) add(p + w, {D, D}, sD);
    add(p + "w1", {F, D}, sD);
    add(p + "w2", {D, F}, sF);
  };
  add("embed", {c.vocab, D}, 1.0f);
  for (size_t i = 0; i < c.lower; ++i) swa_mlp("lower." + std::to_string(i) + ".");
  add("memory.norm", {D}, 0, true);
  add("memory.landmark_norm", {D}, 0, true);
  for (const char* w : {"memory.wk", "memory.wv", "memory.wl"}) add(w, {D, D}, sD);
  for (size_t j = 0; j < c.upper.size(); ++j) {
    const std::string p = "upper." + std::to_string(j) + ".";
    swa_mlp(p);
    if (c.upper[j] == BlockKind::kHsa) {
      add(p + "hsa_norm", {D}, 0, true);
      add(p + "hsa_r_norm", {D}, 0, true);
      for (const char* w : {"hsa_wr", "hsa_wq", "hsa_wo"}) add(p + w, {D, D}, sD);
    } else {
      add(p + "gmu_norm", {D}, 0, true);
      for (const char* w : {"gmu_win", "gmu_wout"}) add(p + w, {D, D}, sD);
    }
  }
  add("final_norm", {D}, 0, true);
  add("lm_head", {c.vocab, D}, sD);
  std::vector<std::vector<uint16_t>> halves(values.size());
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < values.size(); ++i) {
    const void* data = values[i].data();
    if (dtype == DType::kBF16) {
      halves[i].resize(values[i].size());
      ConvertFromF32(values[i].data(), values[i].size(), DType::kBF16, halves[i].data());
      data = halves[i].data();
    }
    tensors.push_back({shapes[i].first, dtype, shapes[i].second, data});
  }
  WriteSafeTensors(path, tensors, {{kConfigKey, c.ToJson()}});
}

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
