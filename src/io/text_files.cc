#include "src/io/text_files.h"

#include <fcntl.h>
#include <xxhash.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "landmark/error.h"
#include "src/io/mapped_file.h"

namespace landmark {
namespace {

namespace fs = std::filesystem;

// Validates UTF-8 incrementally; `pending` continuation bytes carry over.
class Utf8Validator {
 public:
  // False at the first invalid byte (its offset in `error_at`).
  bool Feed(const unsigned char* p, size_t n, size_t base, size_t& error_at) {
    for (size_t i = 0; i < n; ++i) {
      const unsigned char c = p[i];
      if (pending_ > 0) {
        if ((c & 0xc0) != 0x80 || (need_min_ && c < need_min_) || (need_max_ && c > need_max_)) {
          error_at = base + i;
          return false;
        }
        need_min_ = need_max_ = 0;
        --pending_;
        continue;
      }
      if (c < 0x80) continue;
      if (c >= 0xc2 && c <= 0xdf) {
        pending_ = 1;
      } else if (c >= 0xe0 && c <= 0xef) {
        pending_ = 2;
        if (c == 0xe0) need_min_ = 0xa0;  // no overlong forms
        if (c == 0xed) need_max_ = 0x9f;  // no surrogates
      } else if (c >= 0xf0 && c <= 0xf4) {
        pending_ = 3;
        if (c == 0xf0) need_min_ = 0x90;
        if (c == 0xf4) need_max_ = 0x8f;  // <= U+10FFFF
      } else {
        error_at = base + i;
        return false;
      }
    }
    return true;
  }
  bool complete() const { return pending_ == 0; }

 private:
  int pending_ = 0;
  unsigned char need_min_ = 0, need_max_ = 0;
};

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// A .gz file read as the text it holds: a stdio stream over zlib, so every
// reader of text files (checks, pieces, progress in uncompressed bytes)
// takes compressed inputs unchanged.
std::FILE* OpenGzip(int fd, std::string& why) {
  gzFile gz = ::gzdopen(fd, "rb");
  if (!gz) {
    why = "cannot open as gzip";
    ::close(fd);
    return nullptr;
  }
  cookie_io_functions_t io{};
  io.read = [](void* cookie, char* buffer, size_t size) -> ssize_t {
    const unsigned n = unsigned(std::min<size_t>(size, size_t(1) << 30));
    const int got = ::gzread(static_cast<gzFile>(cookie), buffer, n);
    if (got < 0) errno = EIO;  // a damaged or truncated .gz
    return got;
  };
  io.close = [](void* cookie) { return ::gzclose(static_cast<gzFile>(cookie)) == Z_OK ? 0 : -1; };
  std::FILE* f = ::fopencookie(gz, "rb", io);
  if (!f) {
    why = std::string("cannot open: ") + std::strerror(errno);
    ::gzclose(gz);
  }
  return f;
}

bool IsGzip(const std::string& path) { return path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0; }

// fopen that never blocks: a FIFO or device (which would wait for a writer,
// or never end) is refused with the reason in `why`.
std::FILE* OpenText(const std::string& path, std::string& why) {
  int fd = -1;
  try {
    fd = OpenRegularFile(path, O_RDONLY);
  } catch (const Error& e) {
    why = e.what();
    why.erase(0, std::min(why.size(), path.size() + 2));  // "<path>: " is the caller's
    return nullptr;
  }
  if (IsGzip(path)) return OpenGzip(fd, why);
  std::FILE* f = ::fdopen(fd, "rb");
  if (!f) {
    why = std::string("cannot open: ") + std::strerror(errno);
    ::close(fd);
  }
  return f;
}

}  // namespace

TextInputs CollectTextFiles(const std::vector<std::string>& inputs, bool strict,
                            const std::function<void(const std::string&, const std::string&)>& skipped) {
  TextInputs found;
  for (const std::string& path : ListTextFiles(inputs)) {
    size_t bytes = 0;
    const std::string why = CheckTextFile(path, &bytes);
    if (why.empty()) {
      found.files.push_back(path);
      found.bytes += bytes;
      continue;
    }
    LANDMARK_CHECK_ARG(!strict, path + ": " + why);
    ++found.skipped;
    if (skipped) skipped(path, why);
  }
  return found;
}

std::vector<std::string> ListTextFiles(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code error;
    const fs::file_status status = fs::status(input, error);
    LANDMARK_CHECK_ARG(!error && fs::exists(status), input + ": no such file or directory");
    if (fs::is_directory(status)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(input, fs::directory_options::skip_permission_denied, error);
           !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
        // Not only regular files: a FIFO or device here is reported (skipped
        // with a warning, or an error with --strict), never read.
        std::error_code type;
        if (!it->is_directory(type)) found.push_back(it->path().string());
      }
      LANDMARK_CHECK_ARG(!error, input + ": cannot list: " + error.message());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(input);
    }
  }
  return files;
}

std::string CheckTextFile(const std::string& path, size_t* bytes, std::string* hash) {
  std::string why;
  std::FILE* f = OpenText(path, why);
  if (!f) return why;
  std::vector<unsigned char> buffer(1 << 20);
  Utf8Validator utf8;
  size_t total = 0, error_at = 0;
  std::string reason;
  XXH3_state_t* state = XXH3_createState();
  if (!state) {
    std::fclose(f);
    return "out of memory";
  }
  XXH3_64bits_reset(state);
  while (reason.empty()) {
    const size_t n = std::fread(buffer.data(), 1, buffer.size(), f);
    if (n == 0) break;
    if (std::memchr(buffer.data(), 0, n)) {
      reason = "binary (contains NUL bytes)";
    } else if (!utf8.Feed(buffer.data(), n, total, error_at)) {
      reason = "invalid UTF-8 at byte " + std::to_string(error_at);
    }
    XXH3_64bits_update(state, buffer.data(), n);
    total += n;
  }
  if (hash) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits_digest(state)));
    *hash = hex;
  }
  XXH3_freeState(state);
  if (reason.empty() && std::ferror(f)) reason = std::string("read error: ") + std::strerror(errno);
  std::fclose(f);
  if (reason.empty() && !utf8.complete()) reason = "invalid UTF-8 (truncated character at the end)";
  if (reason.empty() && total == 0) reason = "empty";
  if (bytes) *bytes = total;
  return reason;
}

std::string CheckText(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return "binary (contains NUL bytes)";
  Utf8Validator utf8;
  size_t error_at = 0;
  if (!utf8.Feed(reinterpret_cast<const unsigned char*>(text.data()), text.size(), 0, error_at)) {
    return "invalid UTF-8 at byte " + std::to_string(error_at);
  }
  if (!utf8.complete()) return "invalid UTF-8 (truncated character at the end)";
  return "";
}

TextPieces::TextPieces(const std::string& path, size_t piece_bytes)
    : path_(path), piece_bytes_(std::max<size_t>(piece_bytes, 64)) {
  std::string why;
  file_ = OpenText(path, why);
  LANDMARK_CHECK_ARG(file_ != nullptr, path + ": " + why);
}

TextPieces::~TextPieces() {
  if (file_) std::fclose(file_);
}

bool TextPieces::Next(std::string& piece) {
  std::string buffer = std::move(carry_);
  carry_.clear();
  if (!eof_) {
    const size_t old = buffer.size();
    buffer.resize(old + piece_bytes_);
    const size_t n = std::fread(buffer.data() + old, 1, piece_bytes_, file_);
    LANDMARK_CHECK_ARG(!std::ferror(file_), path_ + ": read error: " + std::strerror(errno));
    buffer.resize(old + n);
    eof_ = n < piece_bytes_;
  }
  if (buffer.empty()) return false;
  if (!eof_) {  // cut after the last whitespace, else at a character boundary
    size_t cut = buffer.size();
    while (cut > 0 && !IsSpace(buffer[cut - 1])) --cut;
    if (cut == 0) {
      cut = buffer.size();
      while (cut > 0 && (static_cast<unsigned char>(buffer[cut - 1]) & 0xc0) == 0x80) --cut;
      if (cut > 0 && static_cast<unsigned char>(buffer[cut - 1]) >= 0xc0) --cut;  // a lead byte
      if (cut == 0) cut = buffer.size();
    }
    carry_ = buffer.substr(cut);
    buffer.resize(cut);
  }
  piece = std::move(buffer);
  return true;
}

}  // namespace landmark
