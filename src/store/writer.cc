// StoreWriter: streams tokens into chunk records with bounded memory (one
// partial chunk), computes landmarks as chunks complete, and commits
// atomically: data synced first, then the manifest replaced.

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <vector>

#include "landmark/error.h"
#include "landmark/kernels.h"
#include "landmark/store.h"
#include "landmark/version.h"
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

// The advisory writer lock: flock on dir/.lock, holding our pid for messages.
class WriterLock {
 public:
  explicit WriterLock(const std::string& dir) {
    const std::string path = JoinPath(dir, store::kLock);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    LANDMARK_CHECK_ARG(fd_ >= 0, path + ": cannot create the writer lock: " + std::strerror(errno));
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
  // Attachments: append-only ones are files in `files`; replaced ones wait
  // here for the next commit.
  std::map<std::string, store::Attachment> attachments;  // committed and new
  std::map<std::string, std::string> replaced;            // name -> new content
  bool attachments_dirty = false;
  bool failed = false, closed = false;
  std::vector<float> row;  // conversion and landmark scratch

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
          if (committed.commit_every && chunks - committed.chunks >= committed.commit_every) Commit();
        }
      }
    } catch (...) {
      failed = true;
      throw;
    }
  }

  void Commit() {
    CheckUsable();
    if (chunks == committed.chunks && !tail_dirty && !attachments_dirty) return;
    try {
      Manifest next = committed;
      next.attachments = attachments;
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
      if (!committed.tail_name().empty()) next.files.erase(committed.tail_name());
      if (partial_tokens) {
        const std::string tail = TailBytes();
        const uint64_t hash = store::WriteWholeFile(dir, next.tail_name(), tail.data(), tail.size());
        next.files[next.tail_name()] = {tail.size(), {{0, tail.size(), hash}}};
      }
      std::vector<std::string> superseded;  // replaced attachments' old files, removed after the commit
      for (const auto& [name, content] : replaced) {
        const std::string file = store::ReplaceAttachmentName(name, next.commit);
        const uint64_t hash = store::WriteWholeFile(dir, file, content.data(), content.size());
        auto old = committed.attachments.find(name);
        if (old != committed.attachments.end()) {
          next.files.erase(old->second.file);
          superseded.push_back(old->second.file);
        }
        next.files[file] = {content.size(), {{0, content.size(), hash}}};
        next.attachments[name] = {true, file};
      }
      next.WriteAtomic(dir);
      if (!committed.tail_name().empty() && committed.tail_name() != next.tail_name()) {
        ::unlink(JoinPath(dir, committed.tail_name()).c_str());
      }
      for (const std::string& file : superseded) ::unlink(JoinPath(dir, file).c_str());
      attachments = next.attachments;
      replaced.clear();
      attachments_dirty = false;
      committed = std::move(next);
      tail_dirty = false;
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

  // The partial chunk as its tail file holds it: [head][K: t×d | V: t×d], then its text.
  std::string TailBytes() {
    std::string tail;
    for (size_t h = 0; h < shape().kv_heads; ++h) {
      tail.append(reinterpret_cast<const char*>(partial_keys(h)), partial_tokens * row_bytes());
      tail.append(reinterpret_cast<const char*>(partial_values(h)), partial_tokens * row_bytes());
    }
    if (committed.text) tail += partial_text;
    return tail;
  }

  StoreReader Snapshot() {
    CheckUsable();
    Manifest next = committed;
    next.attachments = attachments;
    next.chunks = chunks;
    next.tail_tokens = partial_tokens;
    next.tail_text_bytes = committed.text ? partial_text.size() : 0;
    for (auto& [name, file] : files) next.files[name].bytes = file->size();  // regions are for commits
    return StoreReader::FromSnapshot(dir, &next, TailBytes());
  }

  void AppendAttachment(std::string_view name, const void* data, size_t bytes) {
    CheckUsable();
    store::CheckAttachmentName(name, dir);
    const std::string key(name);
    auto it = attachments.find(key);
    if (it == attachments.end()) {
      LANDMARK_CHECK_ARG(!replaced.count(key), dir + ": attachment " + key + " is replaced whole, not appended to");
      it = attachments.emplace(key, store::Attachment{false, store::AppendAttachmentName(key)}).first;
      File(it->second.file);  // listed (empty) from the next commit on
      attachments_dirty = true;
    }
    LANDMARK_CHECK_ARG(!it->second.replace, dir + ": attachment " + key + " is replaced whole, not appended to");
    if (bytes == 0) return;
    try {
      File(it->second.file).Write(data, bytes);
    } catch (...) {
      failed = true;
      throw;
    }
    attachments_dirty = true;
  }

  void SetAttachment(std::string_view name, std::string_view bytes) {
    CheckUsable();
    store::CheckAttachmentName(name, dir);
    const std::string key(name);
    auto it = attachments.find(key);
    LANDMARK_CHECK_ARG(it == attachments.end() || it->second.replace,
                       dir + ": attachment " + key + " is append-only, not replaced whole");
    replaced[key] = std::string(bytes);
    attachments_dirty = true;
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
    attachments = committed.attachments;
  }

  bool IsReplacedFile(const std::string& name) const {
    for (const auto& [key, a] : committed.attachments) {
      if (a.replace && a.file == name) return true;
    }
    return false;
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
  // Remove what no commit refers to: later segments, old tails, temporaries.
  for (const std::string& name : ListDir(dir)) {
    if (IsStoreFileName(name) && name != store::kManifest && name != store::kLock && !m.files.count(name)) {
      ::unlink(JoinPath(dir, name).c_str());
    }
  }
  impl->Init();
  // Open (and trim past the commit) the files appends go to: landmarks, text
  // and the last segment if it has room; full segments stay closed.
  for (const auto& [name, entry] : m.files) {
    if (name.rfind("kv-", 0) != 0 && name != m.tail_name() && !impl->IsReplacedFile(name)) impl->File(name);
  }
  if (m.chunks % m.chunks_per_segment != 0) impl->File(store::SegmentName(m.chunks / m.chunks_per_segment));
  if (m.tail_tokens) {  // reload the partial chunk
    const std::string path = JoinPath(dir, m.tail_name());
    std::vector<uint8_t> tail(m.files.at(m.tail_name()).bytes);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    LANDMARK_CHECK_ARG(fd >= 0, path + ": cannot open: " + std::strerror(errno));
    const ssize_t n = ::pread(fd, tail.data(), tail.size(), 0);
    ::close(fd);
    LANDMARK_CHECK_ARG(n == ssize_t(tail.size()), path + ": truncated (run `landmark verify`)");
    const size_t rows = m.tail_tokens * impl->row_bytes();
    for (size_t h = 0; h < m.shape.kv_heads; ++h) {
      std::memcpy(impl->partial_keys(h), tail.data() + 2 * h * rows, rows);
      std::memcpy(impl->partial_values(h), tail.data() + (2 * h + 1) * rows, rows);
    }
    impl->partial_tokens = m.tail_tokens;
    impl->partial_text.assign(reinterpret_cast<const char*>(tail.data()) + m.tail_kv_bytes(),
                              m.tail_text_bytes);
  }
  return StoreWriter(std::move(impl));
}

void StoreWriter::Append(const TokenBatch& batch) { impl_->Append(batch); }
void StoreWriter::Commit() { impl_->Commit(); }
StoreReader StoreWriter::Snapshot() const { return impl_->Snapshot(); }
void StoreWriter::AppendAttachment(std::string_view name, const void* data, size_t bytes) {
  impl_->AppendAttachment(name, data, bytes);
}
void StoreWriter::SetAttachment(std::string_view name, std::string_view bytes) { impl_->SetAttachment(name, bytes); }
void StoreWriter::Close() { impl_->Close(); }
const std::string& StoreWriter::path() const { return impl_->dir; }

StoreInfo StoreWriter::info() const {
  StoreInfo info = impl_->committed.Info(impl_->dir);
  info.tokens = impl_->chunks * impl_->shape().chunk_size + impl_->partial_tokens;
  return info;
}

}  // namespace landmark
