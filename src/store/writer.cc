// StoreWriter: streams tokens into chunk records with bounded memory (one
// partial chunk), computes landmarks as chunks complete, and commits
// atomically: data synced first, then the manifest replaced.

#include <cstdint>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <vector>

#include "landmark/error.h"
#include "src/kernels/kernels.h"
#include "landmark/store.h"
#include "landmark/version.h"
#include "src/io/mapped_file.h"
#include "src/store/append_file.h"
#include "src/store/format.h"

namespace landmark {
namespace {

using store::AppendFile;
using store::JoinPath;
using store::Manifest;

std::string NowIso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// Files a writer may leave behind: safe to remove when no manifest names them.
bool IsStoreFileName(const std::string& name) {
  auto starts = [&](const char* prefix) { return name.rfind(prefix, 0) == 0; };
  return starts("kv-") || starts("tail-") || starts("att-") || name == store::kLandmarks || name == store::kText ||
         name == store::kTextIndex || name == store::kLock || starts("manifest.json");
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    names.push_back(entry.path().filename().string());
  }
  LANDMARK_CHECK_ARG(!error, dir + ": cannot list: " + error.message());
  return names;
}

// Element magnitudes (the bits without the sign) at or above which a value
// of dtype `in` is NaN, infinite, or rounds to infinity in dtype `out`.
uint32_t OverflowBits(DType in, DType out) {
  switch (in) {
    case DType::kF32:
      return out == DType::kF16 ? 0x477FF000u     // 65520: rounds to f16 inf
             : out == DType::kBF16 ? 0x7F7F8000u  // rounds to bf16 inf
                                   : 0x7F800000u;
    case DType::kF16: return 0x7C00u;  // exactly representable in bf16 and f32
    case DType::kBF16: return out == DType::kF16 ? 0x4780u : 0x7F80u;  // 65536 overflows f16
  }
  return 0;
}

// The index of the first of `n` elements at or above `limit` (see
// OverflowBits), or n. Blocks are scanned branch-free first.
template <class Bits>
size_t FirstOverflow(const Bits* p, size_t n, uint32_t limit) {
  constexpr Bits kMagnitude = std::numeric_limits<Bits>::max() >> 1;  // all bits but the sign
  constexpr size_t kBlock = 1024;
  for (size_t begin = 0; begin < n; begin += kBlock) {
    const size_t end = std::min(n, begin + kBlock);
    Bits largest = 0;
    for (size_t i = begin; i < end; ++i) largest = std::max<Bits>(largest, p[i] & kMagnitude);
    if (largest < limit) continue;
    for (size_t i = begin; i < end; ++i) {
      if ((p[i] & kMagnitude) >= limit) return i;
    }
  }
  return n;
}

size_t FirstOverflow(const void* data, DType in, size_t n, DType out) {
  const uint32_t limit = OverflowBits(in, out);
  return in == DType::kF32 ? FirstOverflow(static_cast<const uint32_t*>(data), n, limit)
                           : FirstOverflow(static_cast<const uint16_t*>(data), n, limit);
}

std::string Describe(const void* data, DType in, size_t index, DType out) {
  float value = 0;
  ConvertToF32(static_cast<const char*>(data) + index * SizeOf(in), in, 1, &value);
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%g, beyond the range of %s", double(value), Name(out));
  return buffer;
}

// The advisory writer lock: flock on dir/.lock, holding our pid for messages.
class WriterLock {
 public:
  explicit WriterLock(const std::string& dir) {
    const std::string path = JoinPath(dir, store::kLock);
    fd_ = store::OpenStoreFile(path, O_RDWR | O_CREAT, true);  // never through a link (or a FIFO)
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char pid[32] = {};
      const ssize_t n = ::pread(fd_, pid, sizeof(pid) - 1, 0);
      ::close(fd_);
      LANDMARK_THROW(dir + ": another writer holds the store (pid " +
                     std::string(n > 0 ? pid : "unknown") + "); one writer at a time");
    }
    const std::string me = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
      // The pid is only for messages; the lock itself is held.
    }
  }
  ~WriterLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

struct StoreWriter::Impl {
  std::string dir;
  Manifest committed;
  std::unique_ptr<WriterLock> lock;
  // Open data files by name; segments other than the current one close at commit.
  std::map<std::string, std::unique_ptr<AppendFile>> files;
  size_t chunks = 0;  // complete chunks written (committed or not)
  // The partial chunk, laid out as its records: [head][K: S×d | V: S×d], padded.
  std::vector<uint8_t> partial;
  size_t partial_tokens = 0;
  std::string partial_text;
  bool tail_dirty = false;  // the partial chunk changed since the last commit
  bool auto_commit = true;  // off: only Commit() commits (set_auto_commit)
  bool failed = false, closed = false;
  std::vector<float> row;  // conversion and landmark scratch
  // Attachments changed since the last commit: replaced ones' new bytes, and
  // append-only ones created since (their data goes through `files`).
  std::map<std::string, std::string> replaced;
  std::set<std::string> new_streams;
  mutable std::map<std::string, std::string> views;  // attachment()'s read-backs

  const StoreShape& shape() const { return committed.shape; }
  size_t row_bytes() const { return shape().head_dim * SizeOf(shape().dtype); }
  uint8_t* partial_keys(size_t head) { return partial.data() + head * shape().record_bytes(); }
  uint8_t* partial_values(size_t head) {
    return partial_keys(head) + shape().chunk_size * row_bytes();
  }

  AppendFile& File(const std::string& name) {
    auto& file = files[name];
    if (!file) {
      const auto it = committed.files.find(name);
      file = std::make_unique<AppendFile>(dir, name, it == committed.files.end() ? 0 : it->second.bytes);
    }
    return *file;
  }

  void CheckUsable() const {
    LANDMARK_CHECK_ARG(!closed, dir + ": the writer is closed");
    LANDMARK_CHECK_ARG(!failed, dir + ": an earlier write failed; the store is at commit " +
                                    std::to_string(committed.commit) +
                                    " (reopen it with StoreWriter::Append to continue)");
  }

  // Converts one row of d values to the store dtype at `dst`.
  void StoreRow(const void* src, DType src_type, uint8_t* dst) {
    const size_t d = shape().head_dim;
    if (src_type == shape().dtype) {
      std::memcpy(dst, src, d * SizeOf(src_type));
      return;
    }
    const float* f32 = static_cast<const float*>(src);
    if (src_type != DType::kF32) {
      row.resize(d);
      ConvertToF32(src, src_type, d, row.data());
      f32 = row.data();
    }
    ConvertFromF32(f32, d, shape().dtype, dst);
  }

  void WriteLandmarks(const void* learned, DType learned_type) {
    const StoreShape& s = shape();
    const size_t values = s.landmark_values();
    std::vector<uint8_t> out(s.landmark_bytes_per_chunk());
    row.resize(values);
    for (size_t h = 0; h < s.landmark_heads; ++h) {
      uint8_t* dst = out.data() + h * values * SizeOf(s.dtype);
      if (s.landmark == LandmarkKind::kLearned) {
        const size_t offset = h * s.landmark_dim * SizeOf(learned_type);
        StoreRowOf(static_cast<const uint8_t*>(learned) + offset, learned_type, s.landmark_dim, dst);
        continue;
      }
      // From the keys as stored, so landmarks describe exactly what is attended.
      if (s.landmark == LandmarkKind::kMean) {
        ColumnMean(partial_keys(h), s.dtype, s.chunk_size, s.head_dim, s.head_dim, row.data());
      } else {
        ColumnMinMax(partial_keys(h), s.dtype, s.chunk_size, s.head_dim, s.head_dim, row.data());
      }
      ConvertFromF32(row.data(), values, s.dtype, dst);
    }
    File(store::kLandmarks).Write(out.data(), out.size());
  }

  void StoreRowOf(const void* src, DType src_type, size_t n, uint8_t* dst) {
    if (src_type == shape().dtype) {
      std::memcpy(dst, src, n * SizeOf(src_type));
      return;
    }
    std::vector<float> f32(n);
    ConvertToF32(src, src_type, n, f32.data());
    ConvertFromF32(f32.data(), n, shape().dtype, dst);
  }

  // The partial chunk is complete: records, landmark, text.
  void FlushChunk(const void* learned, DType learned_type) {
    const size_t segment = chunks / committed.chunks_per_segment;
    File(store::SegmentName(segment)).Write(partial.data(), partial.size());
    WriteLandmarks(learned, learned_type);
    if (committed.text) {
      AppendFile& text = File(store::kText);
      text.Write(partial_text.data(), partial_text.size());
      const uint64_t end = text.size();
      File(store::kTextIndex).Write(&end, sizeof(end));
    }
    ++chunks;
    partial_tokens = 0;
    partial_text.clear();
    std::fill(partial.begin(), partial.end(), uint8_t(0));
  }

  void Append(const TokenBatch& b) {
    CheckUsable();
    const StoreShape& s = shape();
    if (b.tokens == 0) return;
    LANDMARK_CHECK_ARG(b.keys && b.values, dir + ": append: keys or values are null");
    const size_t completes = (partial_tokens + b.tokens) / s.chunk_size;
    if (s.landmark == LandmarkKind::kLearned) {
      LANDMARK_CHECK_ARG(b.landmark_chunks == completes && (completes == 0 || b.landmarks),
                         dir + ": append: a learned-landmark store needs one landmark per chunk the "
                               "batch completes (" + std::to_string(completes) + "), got " +
                             std::to_string(b.landmark_chunks));
    } else {
      LANDMARK_CHECK_ARG(!b.landmarks, dir + std::string(": append: landmarks given to a store with ") +
                                           Name(s.landmark) + " landmarks (computed from the keys)");
    }
    if (committed.text) {
      LANDMARK_CHECK_ARG(b.token_text_end != nullptr,
                         dir + ": append: this store keeps text; the batch has no token_text_end");
      for (size_t t = 0, previous = 0; t < b.tokens; previous = b.token_text_end[t++]) {
        LANDMARK_CHECK_ARG(b.token_text_end[t] >= previous && b.token_text_end[t] <= b.text.size(),
                           dir + ": append: token_text_end[" + std::to_string(t) +
                               "] is out of order or past the text");
      }
    } else {
      LANDMARK_CHECK_ARG(b.token_text_end == nullptr && b.text.empty(),
                         dir + ": append: text given to a store created without text");
    }
    CheckFinite(b, completes);
    try {  // from here on a failure (I/O) leaves the batch half applied
      const size_t in_row = s.head_dim * SizeOf(b.dtype);
      const size_t landmark_row = s.landmark_heads * s.landmark_dim * SizeOf(b.landmark_dtype);
      const auto* keys = static_cast<const uint8_t*>(b.keys);
      const auto* values = static_cast<const uint8_t*>(b.values);
      size_t text_begin = 0, landmark_index = 0;
      for (size_t t = 0; t < b.tokens; ++t) {
        for (size_t h = 0; h < s.kv_heads; ++h) {
          const size_t offset = (t * s.kv_heads + h) * in_row;
          StoreRow(keys + offset, b.dtype, partial_keys(h) + partial_tokens * row_bytes());
          StoreRow(values + offset, b.dtype, partial_values(h) + partial_tokens * row_bytes());
        }
        if (committed.text) {  // (checked above)
          const size_t end = b.token_text_end[t];
          partial_text.append(b.text.substr(text_begin, end - text_begin));
          text_begin = end;
        }
        ++partial_tokens;
        tail_dirty = true;
        if (partial_tokens == s.chunk_size) {
          const void* learned = b.landmarks
              ? static_cast<const uint8_t*>(b.landmarks) + landmark_index++ * landmark_row
              : nullptr;
          FlushChunk(learned, b.landmark_dtype);
          if (auto_commit && committed.commit_every && chunks - committed.chunks >= committed.commit_every) {
            Commit();
          }
        }
      }
    } catch (...) {
      failed = true;
      throw;
    }
  }

  // NaN, Inf, or values that overflow the store dtype: refused before any
  // of the batch is applied, naming the input, token and head.
  void CheckFinite(const TokenBatch& b, size_t landmark_chunks) const {
    const StoreShape& s = shape();
    const TokenBatch::Source& from = b.source;
    auto check = [&](const void* data, DType type, size_t rows, size_t heads, size_t dim, std::string_view source,
                     size_t first, const char* row_name, const char* what) {
      const size_t n = rows * heads * dim, bad = FirstOverflow(data, type, n, s.dtype);
      if (bad == n) return;
      const size_t row = bad / (heads * dim), head = bad / dim % heads;
      LANDMARK_THROW((source.empty() ? dir + ": append" : std::string(source)) + ": " + row_name + " " +
                     std::to_string(first + row) + (heads > 1 || s.kv_heads > 1 ? ", head " + std::to_string(head) : "") +
                     ": the " + what + " hold " + Describe(data, type, bad, s.dtype) +
                     "; non-finite values are refused (the batch was not appended)");
    };
    check(b.keys, b.dtype, b.tokens, s.kv_heads, s.head_dim, from.keys, from.first_token, "token", "keys");
    check(b.values, b.dtype, b.tokens, s.kv_heads, s.head_dim, from.values, from.first_token, "token", "values");
    if (b.landmarks) {
      check(b.landmarks, b.landmark_dtype, landmark_chunks, s.landmark_heads, s.landmark_dim, from.landmarks,
            from.first_landmark, "landmark", "landmarks");
    }
  }

  bool Changed() const {
    if (chunks != committed.chunks || tail_dirty || !replaced.empty() || !new_streams.empty()) return true;
    for (const auto& [name, file] : files) {
      if (file->dirty()) return true;
    }
    return false;
  }

  // The partial chunk as its tail file holds it: [head][K: t×d | V: t×d], then its text.
  std::string TailBytes() {
    std::string tail;
    tail.reserve(committed.shape.kv_heads * 2 * partial_tokens * row_bytes() + partial_text.size());
    for (size_t h = 0; h < shape().kv_heads; ++h) {
      tail.append(reinterpret_cast<const char*>(partial_keys(h)), partial_tokens * row_bytes());
      tail.append(reinterpret_cast<const char*>(partial_values(h)), partial_tokens * row_bytes());
    }
    if (committed.text) tail += partial_text;
    return tail;
  }

  // A manifest of everything appended so far (data files at their current
  // sizes; regions stay the committed ones), read through the page cache.
  StoreReader Snapshot() {
    CheckUsable();
    Manifest next = committed;
    next.chunks = chunks;
    next.tail_tokens = partial_tokens;
    next.tail_text_bytes = committed.text ? partial_text.size() : 0;
    if (!committed.tail_name().empty()) next.files.erase(committed.tail_name());
    for (const std::string& name : new_streams) next.attachments[name] = {true, store::AppendAttachmentFile(name)};
    for (auto& [name, file] : files) next.files[name].bytes = file->size();
    for (const auto& [name, a] : next.attachments) next.files.emplace(a.file, store::FileEntry());
    return StoreReader::FromSnapshot(dir, &next, TailBytes());
  }

  void AppendAttachment(std::string_view name, const void* data, size_t bytes) {
    CheckUsable();
    store::CheckAttachmentName(name, dir);
    const std::string key(name);
    const auto it = committed.attachments.find(key);
    LANDMARK_CHECK_ARG((it == committed.attachments.end() || it->second.append) && !replaced.count(key),
                       dir + ": attachment " + key + " is replaced whole (SetAttachment); it cannot be appended to");
    LANDMARK_CHECK_ARG(bytes == 0 || data != nullptr, dir + ": attachment " + key + ": data is null");
    if (it == committed.attachments.end()) new_streams.insert(key);
    views.erase(key);
    try {
      File(store::AppendAttachmentFile(name)).Write(data, bytes);
    } catch (...) {
      failed = true;
      throw;
    }
  }

  void SetAttachment(std::string_view name, std::string_view bytes) {
    CheckUsable();
    store::CheckAttachmentName(name, dir);
    const std::string key(name);
    const auto it = committed.attachments.find(key);
    LANDMARK_CHECK_ARG((it == committed.attachments.end() || !it->second.append) && !new_streams.count(key),
                       dir + ": attachment " + key + " is append-only (AppendAttachment); it cannot be replaced");
    views.erase(key);
    replaced[key] = std::string(bytes);
  }

  std::string_view Attachment(std::string_view name) const {
    const std::string key(name);
    if (const auto it = replaced.find(key); it != replaced.end()) return it->second;
    const auto it = committed.attachments.find(key);
    if (it == committed.attachments.end() && !new_streams.count(key)) return {};
    const auto view = views.find(key);
    if (view != views.end()) return view->second;
    const std::string file = it != committed.attachments.end() ? it->second.file : store::AppendAttachmentFile(name);
    const auto entry = committed.files.find(file);
    const auto open = files.find(file);
    const uint64_t bytes = open != files.end()            ? open->second->size()
                           : entry != committed.files.end() ? entry->second.bytes
                                                            : 0;
    std::string data = store::ReadStoreFile(dir, file, bytes);
    if (entry != committed.files.end()) store::CheckRegions(JoinPath(dir, file), data.data(), entry->second);
    return views[key] = std::move(data);
  }

  void Commit() {
    CheckUsable();
    if (!Changed()) return;
    try {
      Manifest next = committed;
      next.commit = committed.commit + 1;
      next.chunks = chunks;
      next.tail_tokens = partial_tokens;
      next.tail_text_bytes = committed.text ? partial_text.size() : 0;
      for (auto& [name, file] : files) {
        if (!file->dirty()) continue;
        file->Sync();
        store::FileEntry& entry = next.files[name];
        entry.regions.push_back(file->TakeRegion());
        entry.bytes = file->size();
      }
      std::vector<std::string> superseded;  // files the new commit no longer names, deleted after it
      for (const std::string& name : new_streams) {
        const std::string file = store::AppendAttachmentFile(name);
        next.attachments[name] = {true, file};
        next.files.emplace(file, store::FileEntry());  // empty until data is appended
      }
      for (const auto& [name, bytes] : replaced) {
        const std::string file = store::ReplacedAttachmentFile(name, next.commit);
        const uint64_t hash = store::WriteWholeFile(dir, file, bytes.data(), bytes.size());
        if (const auto old = next.attachments.find(name); old != next.attachments.end()) {
          next.files.erase(old->second.file);
          superseded.push_back(old->second.file);
        }
        next.files[file] = {bytes.size(), {{0, bytes.size(), hash}}};
        next.attachments[name] = {false, file};
      }
      if (!committed.tail_name().empty()) next.files.erase(committed.tail_name());
      if (partial_tokens) {
        // [head][K: t×d | V: t×d], then the tail's text.
        std::vector<uint8_t> tail;
        tail.reserve(next.tail_kv_bytes() + partial_text.size());
        for (size_t h = 0; h < shape().kv_heads; ++h) {
          tail.insert(tail.end(), partial_keys(h), partial_keys(h) + partial_tokens * row_bytes());
          tail.insert(tail.end(), partial_values(h), partial_values(h) + partial_tokens * row_bytes());
        }
        if (committed.text) tail.insert(tail.end(), partial_text.begin(), partial_text.end());
        const uint64_t hash = store::WriteWholeFile(dir, next.tail_name(), tail.data(), tail.size());
        next.files[next.tail_name()] = {tail.size(), {{0, tail.size(), hash}}};
      }
      // New whole files (tail, attachments) are renamed into place: their
      // names are made durable before the manifest that refers to them.
      if (partial_tokens || !replaced.empty()) store::SyncDirectory(dir);
      next.WriteAtomic(dir);
      if (!committed.tail_name().empty() && committed.tail_name() != next.tail_name()) {
        superseded.push_back(committed.tail_name());
      }
      for (const std::string& file : superseded) ::unlink(JoinPath(dir, file).c_str());
      committed = std::move(next);
      tail_dirty = false;
      replaced.clear();
      new_streams.clear();
      // Full segments are done: close them.
      const std::string current = store::SegmentName(chunks / committed.chunks_per_segment);
      for (auto it = files.begin(); it != files.end();) {
        const bool old_segment = it->first.rfind("kv-", 0) == 0 && it->first != current;
        it = old_segment ? files.erase(it) : std::next(it);
      }
    } catch (...) {
      failed = true;
      throw;
    }
  }

  void Close() {
    if (closed) return;
    if (!failed) Commit();
    files.clear();
    lock.reset();
    closed = true;
  }

  void Init() {
    partial.assign(shape().kv_heads * shape().record_bytes(), 0);
    chunks = committed.chunks;
  }
};

StoreWriter::StoreWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoreWriter::StoreWriter(StoreWriter&&) noexcept = default;
StoreWriter& StoreWriter::operator=(StoreWriter&&) noexcept = default;

StoreWriter::~StoreWriter() {
  if (!impl_ || impl_->closed) return;
  try {
    impl_->Close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "landmark: closing %s: %s\n", impl_->dir.c_str(), e.what());
  }
}

StoreWriter StoreWriter::Create(const std::string& dir, const StoreOptions& options) {
  StoreShape shape = options.shape;
  shape.Validate();
  LANDMARK_CHECK_ARG(options.segment_bytes > 0, dir + ": segment size must be > 0");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  LANDMARK_CHECK_ARG(!error, dir + ": cannot create the store directory: " + error.message());
  // Checked before and after taking the lock: no lock file is left in a
  // directory that is not ours, and no race with another creator.
  auto check_empty = [&] {
    for (const std::string& name : ListDir(dir)) {
      LANDMARK_CHECK_ARG(name != store::kManifest,
                         dir + ": already holds a store (append to it, or choose another directory)");
      LANDMARK_CHECK_ARG(IsStoreFileName(name), dir + ": not empty (found " + name +
                                                    "); a new store needs an empty directory");
    }
  };
  check_empty();
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->lock = std::make_unique<WriterLock>(dir);
  check_empty();
  for (const std::string& name : ListDir(dir)) {  // leftovers of an interrupted create
    if (name != store::kLock) ::unlink(JoinPath(dir, name).c_str());
  }
  Manifest& m = impl->committed;
  m.shape = shape;
  m.segment_bytes = options.segment_bytes;
  m.chunks_per_segment = store::ChunksPerSegment(shape, options.segment_bytes);
  m.text = options.text;
  m.created = NowIso8601();
  m.creator = std::string("landmark ") + LANDMARK_VERSION_STRING;
  m.metadata = options.metadata;
  m.files[store::kLandmarks] = {};
  if (m.text) m.files[store::kText] = m.files[store::kTextIndex] = {};
  m.commit_every = options.commit_every;
  impl->Init();
  for (const auto& [name, entry] : m.files) impl->File(name);  // create the files
  m.WriteAtomic(dir);  // commit 0: an empty store that opens
  return StoreWriter(std::move(impl));
}

StoreWriter StoreWriter::Append(const std::string& dir, long commit_every) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->committed = Manifest::Read(dir);  // before the lock: "not a store" beats a lock file
  impl->lock = std::make_unique<WriterLock>(dir);
  impl->committed = Manifest::Read(dir);  // what the previous writer committed last
  Manifest& m = impl->committed;
  if (commit_every >= 0) m.commit_every = size_t(commit_every);  // recorded at the next commit
  for (const auto& [name, entry] : m.files) {  // regular files only: no links out, no FIFO to hang on
    const std::string path = JoinPath(dir, name);
    struct stat st {};
    LANDMARK_CHECK_ARG(::lstat(path.c_str(), &st) == 0, path + ": cannot open: " + std::strerror(errno));
    LANDMARK_CHECK_ARG(S_ISREG(st.st_mode), path + ": is " + FileTypeName(st.st_mode) + ", not a regular file");
  }
  // Remove what no commit refers to: later segments, old tails, temporaries.
  for (const std::string& name : ListDir(dir)) {
    if (IsStoreFileName(name) && name != store::kManifest && name != store::kLock && !m.files.count(name)) {
      ::unlink(JoinPath(dir, name).c_str());
    }
  }
  impl->Init();
  // Open (and trim past the commit) the files appends go to: landmarks, text
  // and the last segment if it has room; full segments stay closed.
  std::set<std::string> whole;  // rewritten per commit, never appended to
  for (const auto& [name, a] : m.attachments) {
    if (!a.append) whole.insert(a.file);
  }
  for (const auto& [name, entry] : m.files) {
    if (name.rfind("kv-", 0) != 0 && name != m.tail_name() && !whole.count(name)) impl->File(name);
  }
  if (m.chunks % m.chunks_per_segment != 0) impl->File(store::SegmentName(m.chunks / m.chunks_per_segment));
  if (m.tail_tokens) {  // reload the partial chunk
    // Checked first: the next commit rewrites it with a fresh checksum, which
    // would otherwise pass damage off as committed data.
    const store::FileEntry& entry = m.files.at(m.tail_name());
    const std::string data = store::ReadStoreFile(dir, m.tail_name(), entry.bytes);
    store::CheckRegions(JoinPath(dir, m.tail_name()), data.data(), entry);
    const auto* tail = reinterpret_cast<const uint8_t*>(data.data());
    const size_t rows = m.tail_tokens * impl->row_bytes();
    for (size_t h = 0; h < m.shape.kv_heads; ++h) {
      std::memcpy(impl->partial_keys(h), tail + 2 * h * rows, rows);
      std::memcpy(impl->partial_values(h), tail + (2 * h + 1) * rows, rows);
    }
    impl->partial_tokens = m.tail_tokens;
    impl->partial_text.assign(data.data() + m.tail_kv_bytes(), m.tail_text_bytes);
  }
  return StoreWriter(std::move(impl));
}

void StoreWriter::Append(const TokenBatch& batch) { impl_->Append(batch); }
void StoreWriter::AppendAttachment(std::string_view name, const void* data, size_t bytes) {
  impl_->AppendAttachment(name, data, bytes);
}
void StoreWriter::SetAttachment(std::string_view name, std::string_view bytes) { impl_->SetAttachment(name, bytes); }
std::string_view StoreWriter::attachment(std::string_view name) const { return impl_->Attachment(name); }
StoreReader StoreWriter::Snapshot() const { return impl_->Snapshot(); }
void StoreWriter::Commit() { impl_->Commit(); }
void StoreWriter::set_auto_commit(bool on) { impl_->auto_commit = on; }
size_t StoreWriter::commit_every() const { return impl_->committed.commit_every; }
void StoreWriter::Close() { impl_->Close(); }
void StoreWriter::Abandon() {
  impl_->failed = true;  // nothing more is committed
  impl_->Close();
}
const std::string& StoreWriter::path() const { return impl_->dir; }

StoreInfo StoreWriter::info() const {
  StoreInfo info = impl_->committed.Info(impl_->dir);
  info.tokens = impl_->chunks * impl_->shape().chunk_size + impl_->partial_tokens;
  return info;
}

}  // namespace landmark
