#include "tests/reference/model_reference.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "landmark/dtype.h"
#include "landmark/model.h"
#include "src/io/safetensors.h"

namespace landmark::test {
namespace {

using Matrix = std::vector<double>;  // row-major

struct Weights {
  const SafeTensors& file;
  Matrix operator()(const std::string& name) const {
    const TensorView& t = file.Get(name);
    Matrix m(t.elements);
    for (size_t i = 0; i < t.elements; ++i) m[i] = LoadAsF32(t.data, t.dtype, i);
    return m;
  }
};

// y[n][out] = x[n][in] · Wᵀ.
Matrix Linear(const Matrix& x, const Matrix& w, size_t in) {
  const size_t n = x.size() / in, out = w.size() / in;
  Matrix y(n * out, 0.0);
  for (size_t t = 0; t < n; ++t)
    for (size_t o = 0; o < out; ++o) {
      double s = 0;
      for (size_t i = 0; i < in; ++i) s += x[t * in + i] * w[o * in + i];
      y[t * out + o] = s;
    }
  return y;
}

Matrix Norm(const Matrix& x, const Matrix& w, size_t d, size_t group, double eps) {
  Matrix y(x.size());
  for (size_t t = 0; t < x.size() / d; ++t)
    for (size_t g = 0; g < d; g += group) {
      double ss = 0;
      for (size_t i = 0; i < group; ++i) ss += x[t * d + g + i] * x[t * d + g + i];
      const double inv = 1.0 / std::sqrt(ss / double(group) + eps);
      for (size_t i = 0; i < group; ++i) y[t * d + g + i] = x[t * d + g + i] * inv * w[g + i];
    }
  return y;
}

void Add(Matrix& x, const Matrix& y) {
  for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
}

// softmax(q·K_jᵀ/√d)·V over the keys `keys` of one head.
void Attend(const double* q, const Matrix& k, const Matrix& v, const std::vector<size_t>& keys, size_t D,
            size_t offset, size_t d, double* out) {
  std::vector<double> s(keys.size());
  double mx = -INFINITY;
  for (size_t i = 0; i < keys.size(); ++i) {
    double dot = 0;
    for (size_t c = 0; c < d; ++c) dot += q[c] * k[keys[i] * D + offset + c];
    s[i] = dot / std::sqrt(double(d));
    mx = std::max(mx, s[i]);
  }
  double total = 0;
  for (double& x : s) total += (x = std::exp(x - mx));
  std::fill_n(out, d, 0.0);
  for (size_t i = 0; i < keys.size(); ++i)
    for (size_t c = 0; c < d; ++c) out[c] += s[i] / total * v[keys[i] * D + offset + c];
}

void Rope(Matrix& x, const ModelConfig& c) {
  const size_t D = c.d_model, d = c.head_dim, half = d / 2;
  for (size_t p = 0; p < x.size() / D; ++p)
    for (size_t h = 0; h < c.heads; ++h)
      for (size_t i = 0; i < half; ++i) {
        const double angle = double(p) * std::pow(c.rope_theta, -2.0 * double(i) / double(d));
        double& a = x[p * D + h * d + i];
        double& b = x[p * D + h * d + half + i];
        const double a0 = a, b0 = b;
        a = a0 * std::cos(angle) - b0 * std::sin(angle);
        b = b0 * std::cos(angle) + a0 * std::sin(angle);
      }
}

// x += SWA(RMSNorm(x)); x += MLP(RMSNorm(x)) split in two so HSA/GMU fit between.
void Swa(Matrix& x, const Weights& w, const std::string& p, const ModelConfig& c) {
  const size_t D = c.d_model, d = c.head_dim, n = x.size() / D;
  const Matrix a = Norm(x, w(p + "attn_norm"), D, D, c.norm_eps);
  Matrix q = Linear(a, w(p + "wq"), D), k = Linear(a, w(p + "wk"), D);
  const Matrix v = Linear(a, w(p + "wv"), D);
  Rope(q, c);
  Rope(k, c);
  Matrix o(n * D);
  for (size_t t = 0; t < n; ++t) {
    std::vector<size_t> keys;
    for (size_t j = t + 1 > c.window ? t + 1 - c.window : 0; j <= t; ++j) keys.push_back(j);
    for (size_t h = 0; h < c.heads; ++h) Attend(&q[t * D + h * d], k, v, keys, D, h * d, d, &o[t * D + h * d]);
  }
  Add(x, Linear(o, w(p + "wo"), D));
}

void Mlp(Matrix& x, const Weights& w, const std::string& p, const ModelConfig& c) {
  const size_t D = c.d_model;
  Matrix hdn = Linear(Norm(x, w(p + "mlp_norm"), D, D, c.norm_eps), w(p + "w1"), D);
  for (double& z : hdn) z = 0.5 * z * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (z + 0.044715 * z * z * z)));
  Add(x, Linear(hdn, w(p + "w2"), c.mlp_hidden));
}

}  // namespace

ModelReference RunModelReference(const std::string& weights_path, std::string_view bytes) {
  const SafeTensors file = SafeTensors::Open(weights_path);
  const ModelConfig c = ModelConfig::FromJson(file.metadata().at("landmark.model"), weights_path);
  const Weights w{file};
  const size_t D = c.d_model, d = c.head_dim, S = c.chunk, n = bytes.size(), V = c.vocab;
  const Matrix embed = w("embed");
  Matrix x(n * D);
  for (size_t t = 0; t < n; ++t) {
    size_t b = static_cast<unsigned char>(bytes[t]);
    if (b >= V) b = '?';
    std::copy_n(&embed[b * D], D, &x[t * D]);
  }
  for (size_t i = 0; i < c.lower; ++i) {
    const std::string p = "lower." + std::to_string(i) + ".";
    Swa(x, w, p, c);
    Mlp(x, w, p, c);
  }
  ModelReference ref;
  const Matrix m = Norm(x, w("memory.norm"), D, D, c.norm_eps);
  ref.memory_k = Linear(m, w("memory.wk"), D);
  ref.memory_v = Linear(m, w("memory.wv"), D);
  const size_t chunks = n / S;
  Matrix means(chunks * D, 0.0);
  for (size_t ch = 0; ch < chunks; ++ch)
    for (size_t t = ch * S; t < (ch + 1) * S; ++t)
      for (size_t i = 0; i < D; ++i) means[ch * D + i] += m[t * D + i] / double(S);
  ref.landmarks = Norm(Linear(means, w("memory.wl"), D), w("memory.landmark_norm"), D, d, c.norm_eps);

  Matrix mem(n * D, 0.0);
  for (size_t j = 0; j < c.upper.size(); ++j) {
    const std::string p = "upper." + std::to_string(j) + ".";
    Swa(x, w, p, c);
    if (c.upper[j] == LayerKind::kHsa) {
      const Matrix u = Norm(x, w(p + "hsa_norm"), D, D, c.norm_eps);
      const Matrix r = Norm(Linear(u, w(p + "hsa_wr"), D), w(p + "hsa_r_norm"), D, d, c.norm_eps);
      const Matrix q = Linear(u, w(p + "hsa_wq"), D);
      Matrix o(n * D, 0.0);
      for (size_t t = 0; t < n; ++t) {
        for (size_t h = 0; h < c.heads; ++h) {
          std::vector<std::pair<double, size_t>> scored;  // (score, chunk)
          for (size_t ch = 0; (ch + 1) * S + c.window <= t + 1; ++ch) {
            double s = 0;
            for (size_t i = 0; i < d; ++i) s += r[t * D + h * d + i] * ref.landmarks[ch * D + h * d + i];
            scored.push_back({s / std::sqrt(double(d)), ch});
          }
          std::stable_sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first > b.first; });
          scored.resize(std::min(scored.size(), c.top_k));
          if (t + 1 == n)
            for (auto& [score, ch] : scored) ref.last_chunks.push_back(ch);
          if (scored.empty()) continue;
          if (c.fusion == Fusion::kJoint) {  // one softmax over every selected chunk's tokens
            std::vector<size_t> keys;
            for (auto& [score, ch] : scored) {
              for (size_t i = 0; i < S; ++i) keys.push_back(ch * S + i);
            }
            Attend(&q[t * D + h * d], ref.memory_k, ref.memory_v, keys, D, h * d, d, &o[t * D + h * d]);
            continue;
          }
          double mx = scored[0].first, total = 0;
          for (auto& s : scored) total += std::exp(s.first - mx);
          std::vector<double> part(d);
          for (auto& [score, ch] : scored) {
            std::vector<size_t> keys(S);
            std::iota(keys.begin(), keys.end(), ch * S);
            Attend(&q[t * D + h * d], ref.memory_k, ref.memory_v, keys, D, h * d, d, part.data());
            for (size_t i = 0; i < d; ++i) o[t * D + h * d + i] += std::exp(score - mx) / total * part[i];
          }
        }
      }
      mem = Linear(o, w(p + "hsa_wo"), D);
      Add(x, mem);
    } else {
      Matrix g = Linear(Norm(x, w(p + "gmu_norm"), D, D, c.norm_eps), w(p + "gmu_win"), D);
      for (size_t i = 0; i < g.size(); ++i) g[i] = mem[i] * g[i] / (1.0 + std::exp(-g[i]));
      Add(x, Linear(g, w(p + "gmu_wout"), D));
    }
    Mlp(x, w, p, c);
  }
  ref.logits = Linear(Norm(x, w("final_norm"), D, D, c.norm_eps), w("lm_head"), D);
  std::sort(ref.last_chunks.begin(), ref.last_chunks.end());
  ref.last_chunks.erase(std::unique(ref.last_chunks.begin(), ref.last_chunks.end()), ref.last_chunks.end());
  return ref;
}

}  // namespace landmark::test
