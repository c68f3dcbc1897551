// The layer pieces the byte model, the cross-decoder and the LLMs share
// (src/nn: HsaLayer, Mlp, the tensor specs and their random writer,
// LayerKind) against double-precision references written from the math in
// their headers, in the configurations each caller uses.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "landmark/layer_kind.h"
#include "landmark/retriever.h"
#include "landmark/store.h"
#include "src/io/safetensors.h"
#include "src/nn/hsa_layer.h"
#include "src/nn/mlp.h"
#include "src/nn/nn.h"
#include "tests/reference/retrieval_reference.h"
#include "tests/temp_dir.h"
#include "tests/test_util.h"
#include "testing/random_weights.h"

namespace landmark {
namespace {

using test::RandomNormal;
using Vec = std::vector<double>;

// Every tensor of `file` as doubles (the values the layer reads).
std::map<std::string, Vec> ReadAll(const std::string& path) {
  const SafeTensors f = SafeTensors::Open(path);
  std::map<std::string, Vec> out;
  for (const std::string& name : f.names()) {
    const TensorView& t = f.Get(name);
    Vec v(t.elements);
    for (size_t i = 0; i < t.elements; ++i) v[i] = LoadAsF32(t.data, t.dtype, i);
    out[name] = std::move(v);
  }
  return out;
}

Vec MatVec(const Vec& w, const Vec& x) {
  const size_t in = x.size(), out = w.size() / in;
  Vec y(out, 0.0);
  for (size_t o = 0; o < out; ++o) {
    for (size_t i = 0; i < in; ++i) y[o] += w[o * in + i] * x[i];
  }
  return y;
}

// RMSNorm over groups of `group` values (weight over the whole row).
Vec Norm(const Vec& x, const Vec& w, size_t group, double eps) {
  Vec y(x.size());
  for (size_t g = 0; g < x.size(); g += group) {
    double ss = 0;
    for (size_t i = 0; i < group; ++i) ss += x[g + i] * x[g + i];
    const double inv = 1.0 / std::sqrt(ss / double(group) + eps);
    for (size_t i = 0; i < group; ++i) y[g + i] = x[g + i] * inv * w[g + i];
  }
  return y;
}

Vec Row(const std::vector<float>& x, size_t r, size_t width) {
  return Vec(x.begin() + r * width, x.begin() + (r + 1) * width);
}

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// |got − want| ≤ tol·max(1, |want|) everywhere.
void CheckClose(const float* got, const Vec& want, double tol) {
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    REQUIRE(std::fabs(got[i] - want[i]) <= tol * std::max(1.0, std::fabs(want[i])));
  }
}

TEST_CASE("LayerKind: names and parsing from one table") {
  for (LayerKind k : {LayerKind::kHsa, LayerKind::kGmu}) CHECK(ParseLayerKind(Name(k)) == k);
  CHECK(std::string(Name(LayerKind::kGmu)) == "gmu");
  CHECK(!ParseLayerKind("mlp").has_value());
  CHECK(!ParseLayerKind("HSA").has_value());
  CHECK(!ParseLayerKind("").has_value());
}

TEST_CASE("random tensors: one stream per tensor, the initialisation's mean and variance") {
  const TensorSpec matrix{"m", {64, 256}}, embedding{"e", {128, 64}, Init::kEmbedding}, norm{"n", {4096}, Init::kNorm},
      bias{"b", {4096}, Init::kBias};
  auto stats = [](const TensorSpec& s, DType dtype) {
    const std::vector<uint8_t> bytes = RandomTensor(s, 5, 3, dtype);
    const size_t n = bytes.size() / SizeOf(dtype);
    double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; ++i) {
      const double x = LoadAsF32(bytes.data(), dtype, i);
      sum += x, sq += x * x, lo = std::min(lo, x), hi = std::max(hi, x);
    }
    const double mean = sum / double(n);
    return std::vector<double>{mean, sq / double(n) - mean * mean, lo, hi};
  };
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    CAPTURE(Name(dtype));
    const auto m = stats(matrix, dtype), e = stats(embedding, dtype), n = stats(norm, dtype), b = stats(bias, dtype);
    CHECK(std::fabs(m[0]) < 0.01);
    CHECK(m[1] == doctest::Approx(1.0 / 256).epsilon(0.05));  // variance 1/in
    CHECK(e[1] == doctest::Approx(1.0).epsilon(0.05));
    CHECK(n[0] == doctest::Approx(1.0).epsilon(0.01));
    CHECK((n[2] >= 0.9 - 5e-3 && n[3] <= 1.1 + 5e-3));  // bf16: spacing 2^-7 near 1
    CHECK((b[2] >= -0.05 - 3e-4 && b[3] <= 0.05 + 3e-4));
  }
  CHECK(RandomTensor(matrix, 5, 3, DType::kF32) == RandomTensor(matrix, 5, 3, DType::kF32));
  CHECK(RandomTensor(matrix, 5, 3, DType::kF32) != RandomTensor(matrix, 5, 4, DType::kF32));
  CHECK(RandomTensor(matrix, 5, 3, DType::kF32) != RandomTensor(matrix, 6, 3, DType::kF32));
  CHECK_THROWS_WITH_AS(RandomTensor({"v", {8}}, 1, 0, DType::kF32), doctest::Contains("v: a matrix's initialisation"),
                       Error);
  test::TempDir dir("random-tensors");
  CHECK_THROWS_WITH_AS(WriteRandomTensors(dir / "w.safetensors", {matrix}, 1, DType::kF16, {}),
                       doctest::Contains("random weights are f32 or bf16"), Error);
}

TEST_CASE("LoadStackedLinear: one matmul for stacked projections, the file's dtype kept, bad values refused") {
  test::TempDir dir("stacked");
  const size_t rows = 5, in = 12;
  const auto a = RandomNormal(rows * in, 1), b = RandomNormal(rows * in, 2);
  const test::Stored a16 = test::Store(a, DType::kBF16), b16 = test::Store(b, DType::kBF16);
  std::vector<float> bad = a;
  bad[17] = NAN;
  const std::string path = dir / "w.safetensors";
  WriteSafeTensors(path, {{"a", DType::kF32, {rows, in}, a.data()},
                          {"b", DType::kF32, {rows, in}, b.data()},
                          {"a16", DType::kBF16, {rows, in}, a16.data()},
                          {"b16", DType::kBF16, {rows, in}, b16.data()},
                          {"bad", DType::kF32, {rows, in}, bad.data()}});
  const SafeTensors f = SafeTensors::Open(path);
  const auto x = RandomNormal(3 * in, 3);
  for (const auto& c : {std::pair<std::vector<std::string>, DType>{{"a", "b"}, DType::kF32},
                        {{"a16", "b16"}, DType::kBF16},
                        {{"a16", "b"}, DType::kF32}}) {
    const std::vector<std::string>& names = c.first;  // not a structured binding: clang 14 cannot capture one
    const DType dtype = c.second;
    CAPTURE(names[0]);
    CAPTURE(names[1]);
    const Linear l = LoadStackedLinear(f, names, rows, in);
    CHECK(l.dtype() == dtype);
    REQUIRE(l.out() == 2 * rows);
    std::vector<float> y(3 * 2 * rows);
    l.Forward(x.data(), 3, y.data());
    const auto all = ReadAll(path);
    for (size_t r = 0; r < 3; ++r) {
      Vec w = all.at(names[0]);
      w.insert(w.end(), all.at(names[1]).begin(), all.at(names[1]).end());
      CheckClose(&y[r * 2 * rows], MatVec(w, Row(x, r, in)), dtype == DType::kBF16 ? 3e-2 : 1e-5);
    }
  }
  CHECK_THROWS_WITH_AS(LoadStackedLinear(f, {"a", "bad"}, rows, in), doctest::Contains("bad: holds a non-finite value"),
                       Error);
  CHECK_THROWS_WITH_AS(LoadStackedLinear(f, {"a", "c"}, rows, in), doctest::Contains("no tensor named 'c'"), Error);
  CHECK_THROWS_WITH_AS(LoadStackedLinear(f, {"a"}, rows, in + 1), doctest::Contains("a has shape (5, 12), expected (5, 13)"),
                       Error);
}

// The MLP's double reference: u = RMSNorm(x); y = W_2·act(W_1 u [, W_3 u]).
Vec MlpReference(const std::map<std::string, Vec>& w, const std::string& p, MlpActivation act, const Vec& x,
                 double eps) {
  const Vec u = Norm(x, w.at(p + "mlp_norm"), x.size(), eps);
  Vec h = MatVec(w.at(p + "w1"), u);
  if (act == MlpActivation::kGelu) {
    for (double& z : h) z = 0.5 * z * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (z + 0.044715 * z * z * z)));
  } else {
    const Vec up = MatVec(w.at(p + "w3"), u);
    for (size_t i = 0; i < h.size(); ++i) h[i] = h[i] * Sigmoid(h[i]) * up[i];
  }
  return MatVec(w.at(p + "w2"), h);
}

TEST_CASE("Mlp: GELU (the byte model) and SwiGLU (the cross-decoder, the LLMs) match the double reference") {
  test::TempDir dir("mlp");
  const size_t D = 24, F = 40;
  const float eps = 1e-5f;
  for (MlpActivation act : {MlpActivation::kGelu, MlpActivation::kSwiGlu}) {
    for (DType dtype : {DType::kF32, DType::kBF16}) {
      CAPTURE(int(act));
      CAPTURE(Name(dtype));
      const std::string path = dir / "mlp.safetensors";
      WriteRandomTensors(path, Mlp::Tensors("layers.3.", act, D, F), 9, dtype, {});
      const auto w = ReadAll(path);
      CHECK(w.size() == (act == MlpActivation::kGelu ? 3u : 4u));
      const Mlp mlp = Mlp::Load(SafeTensors::Open(path), "layers.3.", act, D, F, eps);
      CHECK(mlp.hidden() == F);
      CHECK(mlp.weight_bytes() == mlp.matrix_bytes() + D * sizeof(float));
      CHECK(mlp.matrix_bytes() == (act == MlpActivation::kGelu ? 2 : 3) * D * F * SizeOf(dtype));
      MlpScratch scratch;
      for (size_t M : {1, 3, 17}) {  // decode-sized (dot products) and oneDNN-sized
        CAPTURE(M);
        const auto x = RandomNormal(M * D, 30 + M);
        std::vector<float> y = x;  // y = x: the residual update in place
        mlp.Forward(y.data(), M, y.data(), /*accumulate=*/true, scratch);
        // bf16 weights may run with bf16 activations (oneDNN on AVX512_BF16).
        const double tol = dtype == DType::kBF16 ? 3e-2 : 2e-5;
        for (size_t r = 0; r < M; ++r) {
          Vec want = MlpReference(w, "layers.3.", act, Row(x, r, D), eps);
          for (size_t i = 0; i < D; ++i) want[i] += x[r * D + i];
          CheckClose(&y[r * D], want, tol);
        }
      }
    }
  }
  CHECK_THROWS_WITH_AS(Mlp(MlpActivation::kGelu, std::vector<float>(D, 1.0f), eps,
                           Linear(RandomNormal(F * D, 1).data(), DType::kF32, F, D),
                           Linear(RandomNormal(D * F, 1).data(), DType::kF32, D, F),
                           Linear(RandomNormal(F * D, 1).data(), DType::kF32, F, D)),
                       doctest::Contains("W_3 is SwiGLU's"), Error);
}

// A store of random K/V (chunk structure in the keys), as the retriever
// tests build them, and its contents as doubles.
struct Store {
  test::TempStoreDir dir{"hsa-layer"};
  size_t n = 203, S = 16, H = 2, d = 8;
  Vec K, V, landmarks;

  explicit Store(bool learned) {
    StoreOptions o;
    o.shape = {S, H, d, DType::kF32, learned ? LandmarkKind::kLearned : LandmarkKind::kMean, learned ? H : 0,
               learned ? d : 0};
    auto keys = RandomNormal(n * H * d, 1), values = RandomNormal(n * H * d, 2);
    for (size_t i = 0; i < keys.size(); ++i) keys[i] += 0.6f * std::sin(float(i / (H * d * S)));
    const auto learned_landmarks = RandomNormal((n / S) * H * d, 3);
    StoreWriter writer = StoreWriter::Create(dir.str(), o);
    TokenBatch b;
    b.tokens = n;
    b.keys = keys.data();
    b.values = values.data();
    if (learned) {
      b.landmarks = learned_landmarks.data();
      b.landmark_chunks = n / S;
    }
    writer.Append(b);
    writer.Close();
    K = test::ToDouble(keys);
    V = test::ToDouble(values);
    const StoreReader reader = StoreReader::Open(dir.str());
    const size_t count = reader.chunks() * H * reader.shape().landmark_values();
    for (size_t i = 0; i < count; ++i) landmarks.push_back(LoadAsF32(reader.landmarks(), DType::kF32, i));
  }
};

// HsaLayer as each caller configures it: the byte model (learned retrieval
// query, HSA fusion without the local term, H_q = kv heads, D = H_q·d) and
// the cross-decoder (mean landmarks, joint fusion with a window, G = 2
// query heads per kv head, D ≠ H_q·d).
TEST_CASE("HsaLayer matches the double reference in the byte model's and the cross-decoder's configurations") {
  for (bool byte_model : {true, false}) {
    CAPTURE(byte_model);
    const Store store(byte_model);
    const StoreReader reader = StoreReader::Open(store.dir.str());
    HsaShape shape;
    shape.q_heads = byte_model ? 2 : 4;
    shape.head_dim = store.d;
    shape.d_model = byte_model ? shape.d_attention() : 12;
    shape.learned_query = byte_model;
    shape.norm_eps = 1e-6f;
    RetrieverConfig rc;
    rc.q_heads = shape.q_heads;
    rc.top_k = 3;
    rc.window = 16;
    rc.fusion = byte_model ? Fusion::kHsa : Fusion::kJoint;
    rc.local_term = !byte_model;
    const Retriever retriever(reader, rc);
    reference::RetrievalSpec spec;
    spec.S = store.S;
    spec.k = rc.top_k;
    spec.window = rc.window;
    spec.joint = !byte_model;

    test::TempDir dir("hsa-weights");
    const std::string path = dir / "hsa.safetensors";
    const std::vector<TensorSpec> specs = HsaLayer::Tensors("upper.1.", shape);
    CHECK(specs.size() == (byte_model ? 5u : 3u));
    WriteRandomTensors(path, specs, 4, DType::kF32, {});
    const HsaLayer layer = HsaLayer::Load(SafeTensors::Open(path), "upper.1.", shape);
    const size_t D = shape.d_model, A = shape.d_attention(), H = store.H, d = store.d, G = shape.q_heads / H;
    CHECK(layer.weight_bytes() == ((byte_model ? 3 : 2) * A * D + D + (byte_model ? A : 0)) * sizeof(float));
    const auto w = ReadAll(path);
    const std::string p = "upper.1.";

    const std::vector<size_t> positions = {store.n - 1, 150, 77, 20, 40};
    const size_t M = positions.size();
    const auto x = RandomNormal(M * D, 8), y0 = RandomNormal(M * D, 9);
    std::vector<float> a(M * A), y = y0;
    const std::vector<RetrievalResult> results =
        layer.Forward(retriever, x.data(), M, positions.data(), false, a.data(), y.data(), /*accumulate=*/true);
    REQUIRE(results.size() == M);
    for (size_t t = 0; t < M; ++t) {
      CAPTURE(positions[t]);
      const Vec u = Norm(Row(x, t, D), w.at(p + "hsa_norm"), D, shape.norm_eps);
      const Vec q = MatVec(w.at(p + "hsa_wq"), u);
      Vec r(H * d, 0.0);
      if (byte_model) {
        r = Norm(MatVec(w.at(p + "hsa_wr"), u), w.at(p + "hsa_r_norm"), d, shape.norm_eps);
      } else {  // the mean of each kv head's group of queries
        for (size_t h = 0; h < H; ++h)
          for (size_t g = 0; g < G; ++g)
            for (size_t i = 0; i < d; ++i) r[h * d + i] += q[(h * G + g) * d + i] / double(G);
      }
      const reference::RetrievalOutput ref = reference::Retrieve(store.K, store.V, store.n, H, d, store.landmarks, H,
                                                                 d, q, shape.q_heads, r, positions[t], spec);
      CHECK(results[t].selections[0].chunks == std::vector<uint32_t>(ref.selected[0].begin(), ref.selected[0].end()));
      CheckClose(&a[t * A], ref.out, 1e-4);
      Vec want = MatVec(w.at(p + "hsa_wo"), ref.out);
      for (size_t i = 0; i < D; ++i) want[i] += y0[t * D + i];
      CheckClose(&y[t * D], want, 1e-4);
    }
    // y may be x (the residual update in place); positions nullptr: the store's end.
    std::vector<float> xy = x, a2(M * A);
    layer.Forward(retriever, xy.data(), M, nullptr, false, a2.data(), xy.data(), /*accumulate=*/true);
    std::vector<float> first(A);
    layer.Forward(retriever, x.data(), 1, positions.data(), false, first.data(), std::vector<float>(D).data());
    for (size_t i = 0; i < A; ++i) CHECK(a2[i] == doctest::Approx(first[i]).epsilon(1e-5));  // row 0 at n − 1 both times
    for (size_t i = 0; i < D; ++i) {
      CHECK(xy[i] == doctest::Approx(x[i] + (y[i] - y0[i])).epsilon(1e-5));
    }
  }
  test::TempDir dir("hsa-bad");
  const HsaShape shape{8, 1, 8, true, 1e-6f};
  WriteRandomTensors(dir / "w.safetensors", HsaLayer::Tensors("", {8, 1, 8, false, 1e-6f}), 1, DType::kF32, {});
  CHECK_THROWS_WITH_AS(HsaLayer::Load(SafeTensors::Open(dir / "w.safetensors"), "", shape),
                       doctest::Contains("no tensor named 'hsa_r_norm'"), Error);
}

}  // namespace
}  // namespace landmark
