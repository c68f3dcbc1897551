// The byte model in C++ against the double-precision reference written from
// docs/model.md, the streaming paths (segments, appends, questions) against
// the one-shot forward, and every bad input refused by name.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "landmark/model.h"
#include "src/io/safetensors.h"
#include "tests/reference/model_reference.h"
#include "tests/model/model_test_util.h"
#include "tests/temp_dir.h"

namespace landmark {
namespace {

using test::Text;
using test::TinyConfig;
using test::TinyModel;

// max |got − want| / max(|want|, 1).
template <typename A, typename B>
double MaxError(const A& got, const B& want) {
  REQUIRE(got.size() == want.size());
  double e = 0;
  for (size_t i = 0; i < got.size(); ++i) e = std::max(e, std::abs(double(got[i]) - double(want[i])) / std::max(std::abs(double(want[i])), 1.0));
  return e;
}

std::vector<float> Rows(const std::vector<float>& all, size_t first, size_t count, size_t width) {
  return std::vector<float>(all.begin() + first * width, all.begin() + (first + count) * width);
}

TEST_CASE("model: logits, chunk memory and landmarks match the double reference (hsa and joint fusion)") {
  const std::vector<LayerKind> sambay = {LayerKind::kHsa, LayerKind::kGmu, LayerKind::kHsa, LayerKind::kGmu};
  const std::vector<LayerKind> pure = {LayerKind::kHsa, LayerKind::kHsa};
  for (const auto& [upper, fusion] : {std::pair{sambay, Fusion::kHsa}, std::pair{pure, Fusion::kHsa},
                                      std::pair{sambay, Fusion::kJoint}, std::pair{pure, Fusion::kJoint}}) {
    ModelConfig c = TinyConfig();
    c.upper = upper;
    c.fusion = fusion;
    CAPTURE(c.ToJson());
    const TinyModel tiny(c);
    const Model model = Model::Load(tiny.path);
    CHECK(model.config().fusion == c.fusion);  // read back from the metadata (format 2 for joint)
    const std::string text = Text(300, 1) + "\xc3\xa9\n";  // bytes past the vocab read as '?'
    const test::ModelReference ref = test::RunModelReference(tiny.path, text);
    test::TempStoreDir store("model-store");
    const std::vector<float> logits = SequenceLogits(model, text, store.str(), 64);
    CHECK(MaxError(logits, ref.logits) < 2e-4);

    const StoreReader reader = StoreReader::Open(store.str());
    REQUIRE(reader.tokens() == text.size());
    REQUIRE(reader.chunks() == text.size() / c.chunk);
    const size_t D = c.d_model, d = c.head_dim, S = c.chunk;
    std::vector<float> k, v, want_k, want_v;
    for (size_t t = 0; t < reader.tokens(); ++t) {
      for (size_t h = 0; h < c.heads; ++h) {
        const ChunkKV kv = reader.chunk(t / S, h);
        for (size_t i = 0; i < d; ++i) {
          k.push_back(static_cast<const float*>(kv.keys)[(t % S) * d + i]);
          v.push_back(static_cast<const float*>(kv.values)[(t % S) * d + i]);
          want_k.push_back(float(ref.memory_k[t * D + h * d + i]));
          want_v.push_back(float(ref.memory_v[t * D + h * d + i]));
        }
      }
    }
    CHECK(MaxError(k, want_k) < 1e-4);
    CHECK(MaxError(v, want_v) < 1e-4);
    const float* l = static_cast<const float*>(reader.landmarks());
    CHECK(MaxError(std::vector<float>(l, l + reader.chunks() * D), ref.landmarks) < 1e-4);
  }
}

TEST_CASE("model: segments, appends and questions give the one-shot logits") {
  const TinyModel tiny;
  const Model model = Model::Load(tiny.path);
  const ModelConfig& c = model.config();
  const std::string doc = Text(203, 2), question = Text(12, 3);
  test::TempStoreDir whole("model-whole");
  const std::vector<float> all = SequenceLogits(model, doc + question, whole.str(), 4096);
  test::TempStoreDir seg7("model-seg7");
  CHECK(MaxError(SequenceLogits(model, doc + question, seg7.str(), 7), all) < 1e-5);

  // The document ingested in two appends, 1 and 13 tokens per segment.
  test::TempStoreDir store("model-appended");
  ModelIngestOptions options;
  options.segment_tokens = 13;
  options.dtype = DType::kF32;  // as SequenceLogits
  {
    ModelIngest first = ModelIngest::Create(model, store.str(), options);
    first.Add(doc.substr(0, 61));
    first.Finish();
  }
  {
    options.segment_tokens = 1;
    ModelIngest more = ModelIngest::Append(model, store.str(), options);
    more.Add(doc.substr(61, 40));
    more.Finish();
    ModelIngest rest = ModelIngest::Append(model, store.str(), options);
    rest.Add(doc.substr(101));
    CHECK(rest.tokens() == doc.size());
    rest.Finish();
  }
  const ModelAnswerer answerer(model, store.str());
  CHECK(answerer.store().tokens() == doc.size());
  const std::vector<float> continued = answerer.Logits(question);
  CHECK(MaxError(continued, Rows(all, doc.size(), question.size(), c.vocab)) < 1e-4);

  // Greedy decoding: the first byte is the argmax after the question, and
  // each next one continues the same computation.
  const ModelAnswer answer = answerer.Ask(question, 5);
  CHECK(answer.steps >= 1);
  // The chunks reported: every HSA block's and head's choice at the
  // question's last byte, as the double reference picks them.
  const test::ModelReference ref = test::RunModelReference(tiny.path, doc + question);
  REQUIRE(!ref.last_chunks.empty());
  CHECK(std::vector<size_t>(answer.chunks.begin(), answer.chunks.end()) == ref.last_chunks);
  CHECK(answer.text.size() <= 5);
  const auto last = continued.end() - ptrdiff_t(c.vocab);
  const size_t first_byte = size_t(std::max_element(last, continued.end()) - last);
  if (first_byte != '\n') {
    REQUIRE(!answer.text.empty());
    CHECK(size_t(static_cast<unsigned char>(answer.text[0])) == first_byte);
    if (answer.text.size() >= 2) {
      const std::vector<float> next = answerer.Logits(question + answer.text.substr(0, 1));
      const auto row = next.end() - ptrdiff_t(c.vocab);
      CHECK(size_t(std::max_element(row, next.end()) - row) == size_t(static_cast<unsigned char>(answer.text[1])));
    }
  }
}

TEST_CASE("model: bf16 weights load widened; stores of any dtype answer") {
  const TinyModel tiny(TinyConfig(), DType::kBF16, 9);
  const Model model = Model::Load(tiny.path);
  CHECK(model.config().upper.size() == 4);
  CHECK(model.digest().size() == 16);
  test::TempStoreDir store("model-bf16");
  ModelIngestOptions options;
  options.dtype = DType::kBF16;
  ModelIngest ingest = ModelIngest::Create(model, store.str(), options);
  ingest.Add(Text(500, 4));
  ingest.Finish();
  const ModelAnswerer answerer(model, store.str());
  const ModelAnswer a = answerer.Ask("vault 731? A:", 4);
  CHECK(a.steps >= 1);
  CHECK(a.bytes_touched > 0);
  CHECK(ReadStoreInfo(store.str()).metadata.at("encoder") == "model");
}

// Rewrites `from` with tensor `name` dropped or replaced by `shape`.
void Rewrite(const std::string& from, const std::string& to, const std::string& name, std::vector<size_t> shape,
             std::map<std::string, std::string> metadata = {}) {
  const SafeTensors f = SafeTensors::Open(from);
  std::vector<TensorToWrite> tensors;
  std::vector<float> zeros(1 << 16);
  for (const std::string& n : f.names()) {
    const TensorView& t = f.Get(n);
    if (n != name) tensors.push_back({n, t.dtype, t.shape, t.data});
    else if (!shape.empty()) tensors.push_back({n, DType::kF32, shape, zeros.data()});
  }
  if (metadata.empty()) metadata = f.metadata();
  WriteSafeTensors(to, tensors, metadata);
}

TEST_CASE("model: bad weights, configs, stores and questions are refused by name") {
  const TinyModel tiny;
  const std::string bad = tiny.dir / "bad.safetensors";
  auto refused = [&](const std::string& what) {
    CAPTURE(what);
    CHECK_THROWS_WITH_AS(Model::Load(bad), doctest::Contains(what.c_str()), Error);
  };
  Rewrite(tiny.path, bad, "upper.1.gmu_win", {});
  refused("no tensor named 'upper.1.gmu_win'");
  Rewrite(tiny.path, bad, "lower.0.w1", {64, 31});
  refused("lower.0.w1 has shape (64, 31), expected (64, 32)");
  Rewrite(tiny.path, bad, "", {}, {{"format", "pt"}});
  refused("no 'landmark.model' metadata");
  const SafeTensors good = SafeTensors::Open(tiny.path);
  std::string json = good.metadata().at("landmark.model");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string j = json;
    const size_t at = j.find(from);
    REQUIRE(at != std::string::npos);
    Rewrite(tiny.path, bad, "", {}, {{"landmark.model", j.replace(at, from.size(), to)}});
  };
  with("\"heads\":2", "\"heads\":3");
  refused("heads (3) × head_dim (16) must equal d_model (32)");
  with("\"upper\":[\"hsa\"", "\"upper\":[\"gmu\"");
  refused("'upper' must start with an \"hsa\" block");
  with("\"upper\":[\"hsa\"", "\"upper\":[\"mlp\"");
  refused("'upper' holds \"mlp\"");
  with("\"window\":16", "\"window\":-1");
  refused("'window' must be a positive integer");
  with("\"format\":1", "\"format\":3");
  refused("format 3");
  with("\"format\":1", "\"format\":2");
  refused("format 2 lacks 'fusion'");
  with("\"norm_eps\":", "\"fusion\":\"joint\",\"norm_eps\":");
  refused("'fusion' needs format 2");
  with("\"format\":1,", "\"format\":2,\"fusion\":\"mixed\",");
  refused("'fusion' is \"mixed\" (expected \"hsa\" or \"joint\")");
  with("\"chunk\":8,", "");
  refused("lacks 'chunk'");
  CHECK_THROWS_WITH_AS(Model::Load(tiny.dir / "missing.safetensors"), doctest::Contains("missing.safetensors"), Error);

  // Stores: not ingested by the model, by another model, unfinished.
  const Model model = Model::Load(tiny.path);
  test::TempStoreDir plain("model-plain");
  StoreOptions o;
  o.shape = {8, 2, 16, DType::kF16, LandmarkKind::kLearned, 2, 16};
  StoreWriter::Create(plain.str(), o).Close();
  CHECK_THROWS_WITH_AS(ModelAnswerer(model, plain.str()), doctest::Contains("no model state"), Error);
  CHECK_THROWS_WITH_AS(ModelIngest::Append(model, plain.str()), doctest::Contains("not a store the model wrote"), Error);
  test::TempStoreDir store("model-other");
  {
    ModelIngest ingest = ModelIngest::Create(model, store.str());
    ingest.Add(Text(100, 5));
    ingest.Finish();
  }
  const TinyModel other(TinyConfig(), DType::kF32, 8);
  CHECK_THROWS_WITH_AS(ModelAnswerer(Model::Load(other.path), store.str()), doctest::Contains("ingested by another model"),
                       Error);
  const ModelAnswerer answerer(model, store.str());
  CHECK_THROWS_WITH_AS(answerer.Ask(std::string(40, 'x')), doctest::Contains("the question is too long"), Error);
  CHECK_THROWS_WITH_AS(answerer.Ask(""), doctest::Contains("empty"), Error);
  {
    StoreWriter w = StoreWriter::Append(store.str());  // tokens the state does not know
    std::vector<float> kv(8 * 32);
    std::vector<float> lm(32);
    TokenBatch b;
    b.tokens = 8;
    b.keys = kv.data();
    b.values = kv.data();
    b.landmarks = lm.data();
    b.landmark_chunks = 1;
    w.Append(b);
    w.Close();
  }
  CHECK_THROWS_WITH_AS(ModelAnswerer(model, store.str()), doctest::Contains("an ingest did not finish"), Error);
}

TEST_CASE("model: the default weights are found through LANDMARK_MODEL") {
  const TinyModel tiny;
  setenv("LANDMARK_MODEL", tiny.path.c_str(), 1);
  CHECK(DefaultModelPath() == tiny.path);
  CHECK(Model::LoadSpec("default").config().d_model == 32);
  setenv("LANDMARK_MODEL", (tiny.dir / "nope.safetensors").c_str(), 1);
  CHECK_THROWS_WITH_AS(DefaultModelPath(), doctest::Contains("nope.safetensors: no such file"), Error);
  unsetenv("LANDMARK_MODEL");
}

}  // namespace
}  // namespace landmark
