// Parity with the PyTorch model (train/model.py): the fixture in
// tests/data/model (made once by train/fixture.py; README there) holds a
// tiny model's f32 weights, 300 input bytes and what PyTorch computed from
// them in float64. The C++ inference must reproduce the logits at every
// position and the intermediate lower output, chunk memory and landmarks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "landmark/model.h"
#include "src/io/tensor_file.h"
#include "tests/reference/model_reference.h"
#include "tests/temp_dir.h"

namespace landmark {
namespace {

const std::string kFixture = std::string(LANDMARK_TEST_DATA) + "/model/";

std::vector<float> Load(const std::string& name, size_t elements) {
  const TensorFile t = TensorFile::Open(kFixture + name);
  REQUIRE(t.dtype() == DType::kF32);
  REQUIRE(t.elements() == elements);
  const float* p = static_cast<const float*>(t.data());
  return std::vector<float>(p, p + elements);
}

// max |got − want| / max(|want|, 1) over every element.
double MaxError(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double e = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    e = std::max(e, std::abs(double(got[i]) - double(want[i])) / std::max(std::abs(double(want[i])), 1.0));
  }
  return e;
}

TEST_CASE("model parity: C++ logits and intermediates match the PyTorch fixture") {
  std::ifstream in(kFixture + "tiny_input.bin", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() == 300);
  const Model model = Model::Load(kFixture + "tiny.safetensors");
  const ModelConfig& c = model.config();
  const size_t n = bytes.size(), D = c.d_model, V = c.vocab, chunks = n / c.chunk;

  test::TempStoreDir store("parity");
  const std::vector<float> logits = SequenceLogits(model, bytes, store.str(), 64);
  const std::vector<float> want = Load("tiny_logits.npy", n * V);
  CHECK(MaxError(logits, want) < 2e-5);  // measured 1.6e-6
  // Greedy bytes agree wherever PyTorch's top logit is clear of the second.
  size_t clear = 0, agree = 0;
  for (size_t t = 0; t < n; ++t) {
    std::vector<float> row(want.begin() + t * V, want.begin() + (t + 1) * V);
    const size_t best = size_t(std::max_element(row.begin(), row.end()) - row.begin());
    std::vector<float> sorted = row;
    std::sort(sorted.rbegin(), sorted.rend());
    if (sorted[0] - sorted[1] < 1e-3f) continue;
    ++clear;
    agree += size_t(std::max_element(logits.begin() + t * V, logits.begin() + (t + 1) * V) - (logits.begin() + t * V)) == best;
  }
  CHECK(agree == clear);

  const StoreReader reader = StoreReader::Open(store.str());
  REQUIRE(reader.chunks() == chunks);
  std::vector<float> k, v;
  for (size_t t = 0; t < n; ++t) {
    for (size_t h = 0; h < c.heads; ++h) {
      const ChunkKV kv = reader.chunk(t / c.chunk, h);
      const float* kp = static_cast<const float*>(kv.keys) + (t % c.chunk) * c.head_dim;
      const float* vp = static_cast<const float*>(kv.values) + (t % c.chunk) * c.head_dim;
      k.insert(k.end(), kp, kp + c.head_dim);
      v.insert(v.end(), vp, vp + c.head_dim);
    }
  }
  CHECK(MaxError(k, Load("tiny_memory_k.npy", n * D)) < 1e-4);
  CHECK(MaxError(v, Load("tiny_memory_v.npy", n * D)) < 1e-4);
  const float* l = static_cast<const float*>(reader.landmarks());
  CHECK(MaxError(std::vector<float>(l, l + chunks * D), Load("tiny_landmarks.npy", chunks * D)) < 1e-4);

  // The lower output, seen through the ingest's observer.
  std::vector<float> h(n * D);
  test::TempStoreDir store2("parity-lower");
  ModelIngestOptions options;
  options.keep_newlines = true;
  options.segment_tokens = 37;
  ModelIngest ingest = ModelIngest::Create(model, store2.str(), options);
  ingest.on_lower_output = [&](const float* x, size_t tokens, size_t first) {
    std::copy_n(x, tokens * D, h.begin() + first * D);
  };
  ingest.Add(bytes);
  ingest.Finish();
  CHECK(MaxError(h, Load("tiny_lower_out.npy", n * D)) < 1e-4);

  // The double reference written from docs/model.md agrees with PyTorch too.
  const test::ModelReference ref = test::RunModelReference(kFixture + "tiny.safetensors", bytes);
  CHECK(MaxError(std::vector<float>(ref.logits.begin(), ref.logits.end()), want) < 1e-6);
}

TEST_CASE("model parity: joint fusion (metadata format 2) matches the PyTorch fixture") {
  // The same weights and bytes, read with one softmax over the selected
  // chunks' tokens (train/fixture.py --fusion joint; checked against the
  // numpy reading of docs/model.md by train/naive_reference.py --fusion joint).
  std::ifstream in(kFixture + "tiny_input.bin", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Model model = Model::Load(kFixture + "tiny_joint.safetensors");
  const ModelConfig& c = model.config();
  REQUIRE(c.fusion == Fusion::kJoint);
  test::TempStoreDir store("parity-joint");
  const std::vector<float> logits = SequenceLogits(model, bytes, store.str(), 64);
  const std::vector<float> want = Load("tiny_joint_logits.npy", bytes.size() * c.vocab);
  CHECK(MaxError(logits, want) < 2e-5);
  // The fixture tells the fusions apart: hsa's logits are far from these.
  CHECK(MaxError(Load("tiny_logits.npy", bytes.size() * c.vocab), want) > 0.1);
  const test::ModelReference ref = test::RunModelReference(kFixture + "tiny_joint.safetensors", bytes);
  CHECK(MaxError(std::vector<float>(ref.logits.begin(), ref.logits.end()), want) < 1e-6);
}

}  // namespace
}  // namespace landmark
