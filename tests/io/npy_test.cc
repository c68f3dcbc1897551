// .npy round trips, interoperability with NumPy, and every kind of bad file.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "src/io/npy.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("landmark-npy-" + std::to_string(::getpid()))) {
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// Expects NpyArray::Open(path) to throw a message containing the path and `what`.
void ExpectBad(const std::string& path, const std::string& what) {
  CAPTURE(what);
  try {
    NpyArray::Open(path);
    FAIL("opened a bad file");
  } catch (const Error& e) {
    const std::string message = e.what();
    CAPTURE(message);
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find(what) != std::string::npos);
  }
}

TEST_CASE("npy: write then read every dtype and rank") {
  TempDir dir;
  const std::vector<std::vector<size_t>> shapes = {{}, {0}, {7}, {3, 5}, {4, 2, 3}, {2, 0, 3}};
  for (DType dtype : test::kAllDTypes) {
    for (const auto& shape : shapes) {
      size_t n = 1;
      for (size_t s : shape) n *= s;
      const auto stored = test::Store(test::RandomNormal(n, n + 1), dtype);
      const std::string path = dir / "a.npy";
      WriteNpy(path, stored.data(), dtype, shape);
      const NpyArray array = NpyArray::Open(path);
      CHECK(array.dtype() == dtype);
      CHECK(array.shape() == shape);
      REQUIRE(array.elements() == n);
      for (size_t i = 0; i < n; ++i) REQUIRE(LoadAsF32(array.data(), dtype, i) == stored.values[i]);
      CHECK(reinterpret_cast<uintptr_t>(array.data()) % 64 == 0);  // header padded to 64
    }
  }
}

TEST_CASE("npy: files written by NumPy (v1, v2, v3 headers) read back exactly") {
  TempDir dir;
  const std::string script =
      "import numpy as np, numpy.lib.format as f\n"
      "a = (np.arange(2*3*4, dtype=np.float32) * 0.5 - 3).reshape(2, 3, 4)\n"
      "for v in ((1, 0), (2, 0), (3, 0)):\n"
      "    with open('" + (dir / "v") + "%d.npy' % v[0], 'wb') as o: f.write_array(o, a, version=v)\n"
      "np.save('" + (dir / "h.npy") + "', a.astype(np.float16))\n"
      "np.save('" + (dir / "b.npy") + "', (a.view(np.uint32) >> 16).astype(np.uint16))\n"
      "np.save('" + (dir / "f8.npy") + "', a.astype(np.float64))\n"
      "np.save('" + (dir / "fortran.npy") + "', np.asfortranarray(a))\n";
  WriteAll(dir / "gen.py", script);
  if (std::system(("/usr/bin/python3 " + (dir / "gen.py") + " 2>/dev/null").c_str()) != 0) {
    MESSAGE("skipped: /usr/bin/python3 with numpy is not available");
    return;
  }
  for (const char* name : {"v1.npy", "v2.npy", "v3.npy", "h.npy", "b.npy"}) {
    CAPTURE(name);
    const NpyArray array = NpyArray::Open(dir / name);
    CHECK(array.shape() == std::vector<size_t>{2, 3, 4});
    for (size_t i = 0; i < 24; ++i) CHECK(LoadAsF32(array.data(), array.dtype(), i) == float(i) * 0.5f - 3.0f);
  }
  CHECK(NpyArray::Open(dir / "b.npy").dtype() == DType::kBF16);
  ExpectBad(dir / "f8.npy", "unsupported dtype '<f8'");
  ExpectBad(dir / "fortran.npy", "Fortran-order");
}

TEST_CASE("npy: bad files are refused with a message naming the file") {
  TempDir dir;
  const std::vector<float> values(12, 1.5f);
  const std::string good = dir / "good.npy";
  WriteNpy(good, values.data(), DType::kF32, {3, 4});
  const std::string bytes = ReadAll(good);
  const size_t header_end = bytes.size() - 48;
  auto bad = [&](const std::string& name, const std::string& content, const std::string& what) {
    WriteAll(dir / name, content);
    ExpectBad(dir / name, what);
  };
  bad("empty.npy", "", "empty");
  bad("magic.npy", "\x93NUMPX" + bytes.substr(6), "bad magic");
  bad("short.npy", bytes.substr(0, 5), "not a .npy file");
  bad("truncated-header.npy", bytes.substr(0, 40), "truncated");
  bad("truncated-data.npy", bytes.substr(0, bytes.size() - 4), "truncated");
  bad("extra-data.npy", bytes + "xxxx", "the file has 52");
  bad("version.npy", bytes.substr(0, 6) + "\x07" + bytes.substr(7), "version 7");
  auto with_header = [&](const std::string& header) {
    std::string h = header;
    h.append(header_end - 10 - h.size() - 1, ' ');
    h += '\n';
    return bytes.substr(0, 10) + h + bytes.substr(header_end);
  };
  bad("dtype.npy", with_header("{'descr': '<i4', 'fortran_order': False, 'shape': (3, 4), }"), "'<i4'");
  bad("endian.npy", with_header("{'descr': '>f4', 'fortran_order': False, 'shape': (3, 4), }"), "big-endian");
  bad("shape.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }"), "needs 60 data bytes");
  bad("overflow.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"), "overflows");
  bad("huge.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"), "too large");
  bad("negative.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-3, 4), }"), "non-negative");
  bad("key.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'x': 1}"), "unexpected header key");
  bad("missing.npy", with_header("{'descr': '<f4', 'shape': (3, 4), }"), "lacks");
  bad("garbage.npy", with_header("{'descr': <f4}"), "quoted string");
  bad("unterminated.npy", with_header("{'descr': '<f4"), "unterminated");
  ExpectBad(dir / "does-not-exist.npy", "cannot open");
  ExpectBad(dir.path.string(), "is a directory");
}

TEST_CASE("npy: CheckRank and write failures") {
  TempDir dir;
  const std::vector<float> values(6, 0.0f);
  WriteNpy(dir / "m.npy", values.data(), DType::kF32, {2, 3});
  const NpyArray array = NpyArray::Open(dir / "m.npy");
  CHECK_NOTHROW(array.CheckRank(2, "K"));
  CHECK_THROWS_WITH_AS(array.CheckRank(3, "K"), doctest::Contains("K must have 3 dimensions, has shape (2, 3)"), Error);
  CHECK_THROWS_WITH_AS(WriteNpy("/proc/landmark/x.npy", values.data(), DType::kF32, {6}),
                       doctest::Contains("/proc/landmark/x.npy"), Error);
}

}  // namespace
}  // namespace landmark
