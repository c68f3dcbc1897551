// A temporary directory for one test, removed with everything in it.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace landmark::test {

struct TempDir {
  std::filesystem::path path;
  // `create` false: only the name is reserved (for code that must create it).
  explicit TempDir(const std::string& tag, bool create = true) {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("landmark-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    if (create) std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string str() const { return path.string(); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// A store directory: named, left for StoreWriter::Create to make.
struct TempStoreDir : TempDir {
  explicit TempStoreDir(const std::string& tag) : TempDir(tag, false) {}
};

// A whole file's bytes ("" if it cannot be read), and a file replaced by `bytes`.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
}

}  // namespace landmark::test
