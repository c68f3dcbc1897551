// TensorFile: .npy and .safetensors inputs, and every kind of bad file.
#include <doctest/doctest.h>

#include <cstdint>

#include "landmark/error.h"
#include "src/io/npy.h"
#include "src/io/tensor_file.h"
#include "tests/io/io_test_util.h"

namespace landmark {
namespace {

using test::SafetensorsBytes;
using test::SafetensorsTensor;

void ExpectBad(const std::string& spec, const std::string& what) {
  CAPTURE(spec);
  CHECK_THROWS_WITH_AS(TensorFile::Open(spec), doctest::Contains(what.c_str()), Error);
}

TEST_CASE("tensor files: .npy and .safetensors of every dtype") {
  test::TempDir dir("tensors");
  std::vector<float> f32(2 * 3 * 4);
  for (size_t i = 0; i < f32.size(); ++i) f32[i] = float(i) - 5.5f;
  std::vector<uint16_t> f16(f32.size()), b16(f32.size());
  for (size_t i = 0; i < f32.size(); ++i) {
    f16[i] = ToF16(f32[i]).bits;
    b16[i] = ToBF16(f32[i]).bits;
  }
  test::WriteFile(dir / "m.safetensors",
                  SafetensorsBytes({{"keys", "F32", {2, 3, 4}, test::RawBytes(f32)},
                                    {"half", "F16", {2, 3, 4}, test::RawBytes(f16)},
                                    {"brain", "BF16", {2, 3, 4}, test::RawBytes(b16)}},
                                   "{\"format\":\"pt\"}"));
  WriteNpy(dir / "k.npy", f32.data(), DType::kF32, {2, 3, 4});
  for (const std::string& spec : {dir / "k.npy", dir / "m.safetensors:keys", dir / "m.safetensors:half",
                                 dir / "m.safetensors:brain"}) {
    CAPTURE(spec);
    const TensorFile t = TensorFile::Open(spec);
    CHECK(t.shape() == std::vector<size_t>{2, 3, 4});
    CHECK(t.ShapeString() == "(2, 3, 4)");
    for (size_t i = 0; i < f32.size(); ++i) CHECK(LoadAsF32(t.data(), t.dtype(), i) == f32[i]);
    CHECK_NOTHROW(t.CheckRank(3, "keys"));
    CHECK_THROWS_WITH_AS(t.CheckRank(2, "keys"), doctest::Contains("keys must have 2 dimensions"), Error);
  }
  CHECK(TensorFile::Open(dir / "m.safetensors:brain").dtype() == DType::kBF16);
  test::WriteFile(dir / "one.safetensors", SafetensorsBytes({{"only", "F32", {24}, test::RawBytes(f32)}}));
  CHECK(TensorFile::Open(dir / "one.safetensors").name() == dir / "one.safetensors:only");
}

TEST_CASE("tensor files: bad .safetensors files are refused naming the file") {
  test::TempDir dir("badtensors");
  const std::vector<float> f32(6, 1.0f);
  const std::string good = SafetensorsBytes({{"a", "F32", {2, 3}, test::RawBytes(f32)},
                                             {"b", "F32", {6}, test::RawBytes(f32)}});
  test::WriteFile(dir / "good.safetensors", good);
  ExpectBad(dir / "good.safetensors", "holds 2 tensors (a, b); name one");
  ExpectBad(dir / "good.safetensors:c", "no tensor named 'c'");
  auto bad = [&](const std::string& name, const std::string& bytes, const std::string& what,
                 const char* tensor = ":a") {
    const std::string path = dir / name;
    test::WriteFile(path, bytes);
    ExpectBad(path + tensor, what);
  };
  bad("empty.safetensors", "", "empty");
  bad("short.safetensors", good.substr(0, 5), "truncated");
  bad("truncated.safetensors", good.substr(0, good.size() - 8), "outside the file", ":b");
  std::string huge = good;
  huge[6] = 0x7f;
  bad("header.safetensors", huge, "exceeds the file");
  bad("json.safetensors", good.substr(0, 8) + std::string(good.size() - 8, '{'), "not valid JSON");
  bad("dtype.safetensors", SafetensorsBytes({{"a", "I64", {3}, std::string(24, '\0')}}), "unsupported dtype I64");
  bad("shape.safetensors", SafetensorsBytes({{"a", "F32", {2, 4}, test::RawBytes(f32)}}), "needs 32 bytes");
  ExpectBad(dir / "missing.safetensors:a", "cannot open");
  ExpectBad(dir / "x.bin", "expected a .npy file");
}

}  // namespace
}  // namespace landmark
