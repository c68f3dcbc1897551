// SafeTensors: round trip through WriteSafeTensors, metadata, shape checks,
// and damaged files (every entry is validated at Open).
#include <doctest/doctest.h>

#include <filesystem>

#include "landmark/error.h"
#include "src/io/safetensors.h"
#include "tests/io/io_test_util.h"

namespace landmark {
namespace {

TEST_CASE("safetensors: many tensors and metadata round-trip") {
  test::TempDir dir("safetensors");
  const std::string path = dir / "w.safetensors";
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  const std::vector<bf16> b = {ToBF16(0.5f), ToBF16(-2.0f), ToBF16(3.0f)};
  WriteSafeTensors(path, {{"layers.0.w", DType::kF32, {2, 3}, a.data()}, {"odd", DType::kBF16, {3}, b.data()}},
                   {{"landmark.model", "{\"d\": 3}"}});
  const SafeTensors s = SafeTensors::Open(path);
  CHECK(s.names() == std::vector<std::string>{"layers.0.w", "odd"});
  CHECK(s.metadata().at("landmark.model") == "{\"d\": 3}");
  const TensorView& w = s.Get("layers.0.w", {2, 3});
  CHECK(w.dtype == DType::kF32);
  CHECK(std::vector<float>(static_cast<const float*>(w.data), static_cast<const float*>(w.data) + 6) == a);
  CHECK(reinterpret_cast<uintptr_t>(w.data) % 4 == 0);
  CHECK(LoadAsF32(s.Get("odd").data, DType::kBF16, 1) == -2.0f);
  CHECK_THROWS_WITH_AS(s.Get("missing"), doctest::Contains("no tensor named 'missing'"), Error);
  CHECK_THROWS_WITH_AS(s.Get("layers.0.w", {3, 2}),
                       doctest::Contains("layers.0.w has shape (2, 3), expected (3, 2)"), Error);
  CHECK_THROWS_WITH_AS(WriteSafeTensors(dir / "d.safetensors", {{"x", DType::kF32, {1}, a.data()},
                                                               {"x", DType::kF32, {1}, a.data()}}),
                       doctest::Contains("duplicate"), Error);
  CHECK_FALSE(std::filesystem::exists(dir / "d.safetensors.tmp"));
}

TEST_CASE("safetensors: damaged files name the file and the entry") {
  test::TempDir dir("safetensors-bad");
  const std::vector<float> f(4, 1.0f);
  const std::string path = dir / "bad.safetensors";
  test::WriteFile(path, test::SafetensorsBytes({{"ok", "F32", {4}, test::RawBytes(f)},
                                                {"short", "F32", {8}, test::RawBytes(f)}}, ""));
  CHECK_THROWS_WITH_AS(SafeTensors::Open(path), doctest::Contains("short"), Error);
  test::WriteFile(path, "{}");
  CHECK_THROWS_WITH_AS(SafeTensors::Open(path), doctest::Contains("bad.safetensors"), Error);
  test::WriteFile(path, test::SafetensorsBytes({{"ok", "I64", {2}, test::RawBytes(f)}}, ""));
  CHECK_THROWS_WITH_AS(SafeTensors::Open(path), doctest::Contains("unsupported dtype I64"), Error);
  CHECK_THROWS_AS(SafeTensors::Open(dir / "absent.safetensors"), Error);
}

}  // namespace
}  // namespace landmark
