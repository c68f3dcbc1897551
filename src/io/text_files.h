// Text inputs for ingest: files and directories (recursively, in sorted
// order), checked to be UTF-8 text, read in pieces that end at whitespace so
// a file of any size ingests in bounded memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace landmark {

// Files under `inputs` (a file, or a directory walked recursively), sorted
// by path; FIFOs and devices too, which CheckTextFile then refuses. Throws
// landmark::Error for a path that does not exist.
std::vector<std::string> ListTextFiles(const std::vector<std::string>& inputs);

// Why `path` is not ingestible text ("" if it is): not a regular file (a
// FIFO or device: never waited on), empty, binary (a NUL byte), invalid
// UTF-8 (with the byte offset), unreadable. Reads the file once; `hash`
// (if given) receives its ContentHash.
std::string CheckTextFile(const std::string& path, size_t* bytes = nullptr, std::string* hash = nullptr);

// The ingestible text files under `inputs` and their total size; a file
// that is not text is an error naming it with `strict`, else reported to
// `skipped(path, why)` (may be empty) and left out.
struct TextInputs {
  std::vector<std::string> files;
  uint64_t bytes = 0;
  size_t skipped = 0;
};
TextInputs CollectTextFiles(const std::vector<std::string>& inputs, bool strict,
                            const std::function<void(const std::string& path, const std::string& why)>& skipped = {});

// Why `text` is not ingestible text ("" if it is): binary (a NUL byte) or
// invalid UTF-8 (with the byte offset) — CheckTextFile's test, in memory.
std::string CheckText(std::string_view text);

// Reads a checked text file in pieces of about `piece_bytes` ending at
// whitespace (or, without any, at a UTF-8 character boundary).
class TextPieces {
 public:
  TextPieces(const std::string& path, size_t piece_bytes = size_t(4) << 20);
  ~TextPieces();
  TextPieces(const TextPieces&) = delete;
  TextPieces& operator=(const TextPieces&) = delete;
  bool Next(std::string& piece);  // false at the end of the file

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  size_t piece_bytes_;
  std::string carry_;
  bool eof_ = false;
};

}  // namespace landmark
