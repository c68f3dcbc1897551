// VerifyStore: every check a damaged store can fail, each problem reported
// with the file it concerns; never throws for damage.

#include <xxhash.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "landmark/store.h"
#include "src/io/mapped_file.h"
#include "src/store/append_file.h"
#include "src/store/format.h"

namespace landmark {

std::vector<std::string> VerifyStore(const std::string& dir) {
  using store::JoinPath;
  std::vector<std::string> problems;
  store::Manifest m;
  try {
    m = store::Manifest::Read(dir);
  } catch (const Error& e) {
    return {e.what()};  // nothing else can be checked without a manifest
  }
  std::map<std::string, std::unique_ptr<MappedFile>> mapped;
  for (const auto& [name, entry] : m.files) {
    std::unique_ptr<MappedFile> file;
    try {
      file = std::make_unique<MappedFile>(JoinPath(dir, name), /*follow_symlinks=*/false);
    } catch (const Error& e) {
      problems.push_back(e.what());
      continue;
    }
    if (file->size() < entry.bytes) {
      problems.push_back(file->path() + ": " + std::to_string(file->size()) + " bytes, the manifest says " +
                         std::to_string(entry.bytes) + " (truncated)");
      continue;
    }
    for (const store::Region& r : entry.regions) {
      const uint64_t hash = r.bytes ? XXH3_64bits(file->data() + r.offset, r.bytes) : XXH3_64bits("", 0);
      if (hash != r.xxh3) problems.push_back(store::ChecksumMismatch(file->path(), r));
    }
    mapped[name] = std::move(file);
  }
  // Text offsets: non-decreasing, ending at text.bin's size.
  if (m.text && mapped.count(store::kTextIndex) && mapped.count(store::kText)) {
    const unsigned char* index = mapped[store::kTextIndex]->data();
    uint64_t previous = 0;
    for (size_t c = 0; c < m.chunks; ++c) {
      uint64_t end;
      std::memcpy(&end, index + c * 8, 8);
      if (end < previous || end > m.files[store::kText].bytes) {
        problems.push_back(JoinPath(dir, store::kTextIndex) + ": offset of chunk " + std::to_string(c) +
                           " is out of order or past text.bin");
        break;
      }
      previous = end;
    }
    if (m.chunks && previous != m.files[store::kText].bytes) {
      problems.push_back(JoinPath(dir, store::kTextIndex) + ": the last offset does not end text.bin");
    }
  }
  return problems;
}

}  // namespace landmark
