// Issue 15, the byte model's store state: committed with the K/V as the
// store attachment "model-state" (item 8: an ingest killed at any instant
// answers as of its last commit and resumes exactly), checked by verify
// (item 7), legacy stores with a loose model-state.safetensors, and
// configs and questions whose sizes would overflow or grow without bound.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "landmark/error.h"
#include "landmark/model.h"
#include "src/io/safetensors.h"
#include "tests/model/model_test_util.h"
#include "tests/temp_dir.h"
#include "testing/random_weights.h"

namespace landmark {
namespace {

namespace fs = std::filesystem;
using test::Text;
using test::TinyConfig;
using test::TinyModel;

std::string StateFile(const std::string& store) {
  for (const auto& e : fs::directory_iterator(store)) {
    if (e.path().filename().string().rfind("att-model-state.", 0) == 0) return e.path().string();
  }
  return "";
}

// Every data file's bytes (not the manifest, not the per-commit file names).
std::map<std::string, std::string> DataFiles(const std::string& store) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(store)) {
    const std::string name = e.path().filename().string();
    if (name == "landmarks.bin" || name.rfind("kv-", 0) == 0) files[name] = test::ReadFile(e.path().string());
    if (name.rfind("tail-", 0) == 0) files["tail"] = test::ReadFile(e.path().string());
  }
  files["state"] = std::string(StoreReader::Open(store).attachment("model-state"));
  return files;
}

void Ingest(ModelIngest& ingest, const std::vector<std::string>& documents);

// A new store in `dir` holding `text`, ingested by `model` with `options`.
void CreateStore(const Model& model, const std::string& dir, const std::string& text,
                 const ModelIngestOptions& options = {}) {
  ModelIngest ingest = ModelIngest::Create(model, dir, options);
  Ingest(ingest, {text});
}

void Ingest(ModelIngest& ingest, const std::vector<std::string>& documents) {
  for (const std::string& doc : documents) {
    ingest.BeginDocument();
    for (size_t at = 0; at < doc.size(); at += 100) ingest.Add(std::string_view(doc).substr(at, 100));
  }
  ingest.Finish();
}

TEST_CASE("hardening 08: a model ingest interrupted anywhere answers as of its last commit and resumes exactly") {
  const TinyModel tiny;
  const Model model = Model::Load(tiny.path);
  ModelIngestOptions options;
  options.segment_tokens = 64;
  options.commit_every = 2;  // a commit (with its state) after every segment
  const std::string first = Text(500, 3);
  const std::vector<std::string> documents = {Text(3000, 11), Text(2500, 12)};

  // The reference: the same ingests, never interrupted.
  test::TempStoreDir reference("model-reference");
  {
    ModelIngest a = ModelIngest::Create(model, reference.str(), options);
    Ingest(a, {first});
    options.run = "the long run";
    ModelIngest b = ModelIngest::Append(model, reference.str(), options);
    Ingest(b, documents);
  }

  // A working store, then the long append interrupted again and again at
  // random points (the ingest dropped: the store stays at its last commit;
  // tests/cli/model_kill_resume.py SIGKILLs the CLI at random instants):
  // each interruption leaves a store that verifies and answers, each re-run
  // resumes.
  test::TempStoreDir store("model-killed");
  options.run = "";
  CreateStore(model, store.str(), first, options);
  options.run = "the long run";
  std::mt19937 rng(8);
  const size_t total = documents[0].size() + documents[1].size();
  size_t resumed = 0;
  for (int round = 0; round < 12; ++round) {
    CAPTURE(round);
    {
      ModelIngest ingest = ModelIngest::Append(model, store.str(), options);
      resumed += ingest.resumed_tokens() > 0 ? 1 : 0;
      size_t budget = rng() % total;  // bytes this attempt gets through
      for (const std::string& doc : documents) {
        ingest.BeginDocument();
        for (size_t at = 0; at < doc.size() && budget > 0; at += 100) {
          const std::string_view piece = std::string_view(doc).substr(at, std::min<size_t>(100, budget));
          ingest.Add(piece);
          budget -= piece.size();
        }
      }
    }  // dropped unfinished
    CHECK(VerifyStore(store.str()).empty());
    const ModelAnswerer answerer(model, store.str());  // as of the last commit (upper caches computed)
    CHECK(answerer.Ask("vault 7?", 3).steps >= 1);
  }
  CHECK(resumed >= 6);
  {
    ModelIngest ingest = ModelIngest::Append(model, store.str(), options);
    CHECK(ingest.resumed_tokens() > 0);
    Ingest(ingest, documents);
  }
  // Exactly the uninterrupted result: the same K/V, landmarks, tail and state.
  CHECK(StoreReader::Open(store.str()).tokens() == first.size() + 1 + documents[0].size() + 1 + documents[1].size());
  const auto got = DataFiles(store.str()), want = DataFiles(reference.str());
  REQUIRE(got.size() == want.size());
  for (const auto& file : want) {  // no structured binding: clang 14 cannot capture one in CAPTURE
    const std::string& name = file.first;
    CAPTURE(name);
    CHECK(got.at(name) == file.second);
  }
  const ModelAnswerer a(model, store.str()), b(model, reference.str());
  CHECK(a.Logits("vault 31?") == b.Logits("vault 31?"));
  // A run of other inputs into the finished store appends after it.
  options.run = "another";
  ModelIngest more = ModelIngest::Append(model, store.str(), options);
  CHECK(more.resumed_tokens() == 0);
  Ingest(more, {"vault 7"});
  CHECK(StoreReader::Open(store.str()).tokens() == first.size() + documents[0].size() + documents[1].size() + 10);
}

TEST_CASE("hardening 08: an ingest that throws or is dropped leaves the store at its last commit") {
  const TinyModel tiny;
  const Model model = Model::Load(tiny.path);
  test::TempStoreDir store("model-dropped");
  ModelIngestOptions options;
  options.segment_tokens = 32;
  options.commit_every = 0;  // commits only at Finish
  CreateStore(model, store.str(), Text(300, 1), options);
  {
    ModelIngest b = ModelIngest::Append(model, store.str(), options);
    b.Add(Text(400, 2));  // processed and written, never committed: dropped
  }
  CHECK(StoreReader::Open(store.str()).tokens() == 300);
  CHECK(VerifyStore(store.str()).empty());
  const ModelAnswerer answerer(model, store.str());
  CHECK(answerer.Ask("vault 7?", 2).steps >= 1);
  // Resuming with inputs shorter than what was committed is refused.
  options.run = "r";
  options.commit_every = 1;
  {
    ModelIngest c = ModelIngest::Append(model, store.str(), options);
    c.Add(Text(200, 4));  // commits as it goes; never finished
  }
  ModelIngest d = ModelIngest::Append(model, store.str(), options);
  CHECK(d.resumed_tokens() > 0);
  d.Add("x");
  CHECK_THROWS_WITH_AS(d.Finish(), doctest::Contains("the input ended"), Error);
}

TEST_CASE("hardening 07: verify covers the model state; a scaled or NaN tensor fails verify and ask refuses it") {
  const TinyModel tiny;
  const Model model = Model::Load(tiny.path);
  test::TempStoreDir store("model-verify");
  CreateStore(model, store.str(), Text(700, 5));
  REQUIRE(VerifyStore(store.str()).empty());
  const std::string file = StateFile(store.str()), original = test::ReadFile(file);
  REQUIRE(!file.empty());
  const StoreInfo info = ReadStoreInfo(store.str());
  CHECK(info.attachments.at("model-state").bytes == original.size());
  // Edit one f32 of a tensor in place: scaled, then NaN.
  const SafeTensors state = SafeTensors::Parse(original.data(), original.size(), "state");
  const TensorView& t = state.Get("lower.0.k");
  const size_t at = size_t(static_cast<const char*>(t.data) - original.data()) + 4 * 5;
  for (const float value : {1000.0f, NAN}) {
    CAPTURE(value);
    std::string edited = original;
    float x;
    std::memcpy(&x, edited.data() + at, 4);
    x = std::isnan(value) ? value : x * value;
    std::memcpy(edited.data() + at, &x, 4);
    test::WriteFile(file, edited);
    const auto problems = VerifyStore(store.str());
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find(file + ": checksum mismatch") != std::string::npos);
    CHECK_THROWS_WITH_AS(ModelAnswerer(model, store.str()), doctest::Contains("checksum mismatch"), Error);
    CHECK_THROWS_WITH_AS(ModelIngest::Append(model, store.str()), doctest::Contains("checksum mismatch"), Error);
  }
  test::WriteFile(file, original);
  CHECK(VerifyStore(store.str()).empty());
}

TEST_CASE("hardening 08: a store with a loose model-state.safetensors (before attachments) answers and is migrated") {
  const TinyModel tiny;
  const Model model = Model::Load(tiny.path);
  test::TempStoreDir store("model-legacy");
  CreateStore(model, store.str(), Text(600, 6));
  const ModelAnswerer before(model, store.str());
  const std::vector<float> logits = before.Logits("vault 7?");
  // Rewrite it as an older landmark left it: the state (format 1) in a loose
  // file, no attachment, a manifest without a checksum.
  const std::string file = StateFile(store.str()), bytes = test::ReadFile(file);
  const SafeTensors state = SafeTensors::Parse(bytes.data(), bytes.size(), "state");
  std::vector<TensorToWrite> tensors;
  for (const std::string& name : state.names()) {
    const TensorView& t = state.Get(name);
    tensors.push_back({name, t.dtype, t.shape, t.data});
  }
  std::map<std::string, std::string> metadata;
  for (const char* key : {"tokens", "model_digest", "partial_rows", "landmark.model"}) metadata[key] = state.metadata().at(key);
  metadata["landmark.state"] = "1";
  WriteSafeTensors(store / std::string("model-state.safetensors"), tensors, metadata);
  nlohmann::json j = nlohmann::json::parse(test::ReadFile(store / std::string("manifest.json")));
  j["files"].erase(fs::path(file).filename().string());
  j.erase("attachments");
  j.erase("checksum");
  test::WriteFile(store / std::string("manifest.json"), j.dump(2));
  fs::remove(file);
  REQUIRE(VerifyStore(store.str()).empty());
  {
    const ModelAnswerer legacy(model, store.str());
    CHECK(legacy.Logits("vault 7?") == logits);
  }
  // An append migrates it: the attachment from its first commit, the loose file gone.
  ModelIngest more = ModelIngest::Append(model, store.str());
  Ingest(more, {Text(100, 7)});
  CHECK(!fs::exists(store / std::string("model-state.safetensors")));
  CHECK(StoreReader::Open(store.str()).has_attachment("model-state"));
  CHECK(ModelAnswerer(model, store.str()).Ask("vault 7?", 2).steps >= 1);
}

TEST_CASE("hardening 03 and 12: model windows past what the runtime can use; answers past the window") {
  const TinyModel tiny;
  ModelConfig c = TinyConfig();
  c.window = size_t(1) << 62;
  CHECK_THROWS_WITH_AS(WriteRandomModel(tiny.dir / "huge.safetensors", c, 1, DType::kF32),
                       doctest::Contains("'window' is 4611686018427387904, at most 65536"), Error);
  const Model model = Model::Load(tiny.path);
  test::TempStoreDir store("model-max-bytes");
  CreateStore(model, store.str(), Text(100, 9));
  const ModelAnswerer answerer(model, store.str());
  CHECK_THROWS_WITH_AS(answerer.Ask("vault 7?", SIZE_MAX), doctest::Contains("the question is too long"), Error);
}

}  // namespace
}  // namespace landmark
