// The device choice: names, auto's fallback to the CPU, and a clear error
// for --device cuda where CUDA is unavailable. Runs everywhere.
#include <doctest/doctest.h>

#include <string>

#include "landmark/device.h"
#include "landmark/error.h"
#include "landmark/prefill.h"
#include "landmark/retriever.h"
#include "landmark/store.h"
#include "tests/temp_dir.h"

namespace landmark::test {
namespace {

TEST_CASE("device names parse and print; unknown names are refused") {
  for (Device d : {Device::kAuto, Device::kCpu, Device::kCuda}) CHECK(ParseDevice(Name(d)) == d);
  CHECK_THROWS_WITH_AS(ParseDevice("gpu"), doctest::Contains("unknown device 'gpu'"), Error);
  CHECK(ParseGpuKv("stream") == GpuKv::kStream);
  CHECK_THROWS_AS(ParseGpuKv("disk"), Error);
}

TEST_CASE("auto resolves to what the report says; cpu is always cpu") {
  const DeviceReport& r = Devices();
  CHECK(ResolveDevice(Device::kCpu) == Device::kCpu);
  CHECK(ResolveDevice(Device::kAuto) == r.auto_choice);
  const std::string text = r.ToText();
  CHECK(text.find("auto picks: " + std::string(Name(r.auto_choice))) != std::string::npos);
  if (r.auto_choice == Device::kCpu) {
    CHECK(!r.cuda_status.empty());
    CHECK_THROWS_WITH_AS(ResolveDevice(Device::kCuda), doctest::Contains("CUDA is not available"), Error);
  } else {
    CHECK(!r.gpus.empty());
    CHECK(ResolveDevice(Device::kCuda) == Device::kCuda);
  }
}

TEST_CASE("without CUDA the engine falls back to the CPU under auto and refuses cuda") {
  if (Devices().auto_choice == Device::kCuda) return;  // covered by backend.cuda_vs_cpu
  TempStoreDir dir("device-fallback");
  StoreOptions o;
  o.shape = {16, 1, 8, DType::kF32, LandmarkKind::kMean, 0, 0};
  {
    StoreWriter w = StoreWriter::Create(dir.str(), o);
    std::vector<float> k(64 * 8, 0.5f), v(64 * 8, 1.0f);
    TokenBatch b;
    b.tokens = 64;
    b.keys = k.data();
    b.values = v.data();
    w.Append(b);
    w.Close();
  }
  const StoreReader store = StoreReader::Open(dir.str());
  RetrieverConfig c;
  c.top_k = 2;
  const Retriever automatic(store, c);
  CHECK(automatic.device() == Device::kCpu);
  CHECK_FALSE(automatic.kv_on_gpu());
  c.device = Device::kCuda;
  CHECK_THROWS_WITH_AS(Retriever(store, c), doctest::Contains("CUDA is not available"), Error);

  const std::vector<float> q(64 * 8, 0.1f);
  std::vector<float> out(64 * 8);
  SparsePrefillOptions p;
  p.policy = PrefillPolicy::kDense;
  const KVSequence kv = KVSequence::TokenMajor(q.data(), q.data(), DType::kF32, 64, 1, 8);
  CHECK(SparsePrefill(q.data(), 1, kv, out.data(), nullptr, p).device == Device::kCpu);
  p.device = Device::kCuda;
  CHECK_THROWS_WITH_AS(SparsePrefill(q.data(), 1, kv, out.data(), nullptr, p), doctest::Contains("CUDA is not available"),
                       Error);
}

}  // namespace
}  // namespace landmark::test
