// StoreReader: opens the last committed state by mapping the data files
// read-only. Nothing is read until a chunk is touched or prefetched.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "landmark/error.h"
#include "landmark/store.h"
#include "src/io/mapped_file.h"
#include "src/store/append_file.h"
#include "src/store/format.h"

namespace landmark {

using store::JoinPath;
using store::Manifest;

struct StoreReader::Impl {
  std::string dir;
  Manifest manifest;
  StoreInfo info;
  std::unique_ptr<MappedFile> landmarks, text, text_index, tail;
  std::string snapshot_tail;  // a writer's snapshot: the partial chunk, not yet in a file
  std::vector<std::unique_ptr<MappedFile>> segments;
  struct MappedAttachment {
    std::unique_ptr<MappedFile> file;
    uint64_t bytes = 0;
    std::once_flag checked;
  };
  std::map<std::string, std::unique_ptr<MappedAttachment>, std::less<>> attachments;
  // Prefetch calls in a row that found only resident records (see Prefetch).
  mutable std::atomic<uint32_t> warm_calls{0};

  // Maps `name`, checking it holds at least the committed bytes.
  std::unique_ptr<MappedFile> Map(const std::string& name) {
    auto file = std::make_unique<MappedFile>(JoinPath(dir, name), /*follow_symlinks=*/false);
    const uint64_t committed = manifest.files.at(name).bytes;
    LANDMARK_CHECK_ARG(file->size() >= committed,
                       file->path() + ": " + std::to_string(file->size()) + " bytes, the manifest says " +
                           std::to_string(committed) + " (truncated, or from another store)");
    return file;
  }

  void Load() { LoadFrom(Manifest::Read(dir), nullptr); }

  // With `tail_bytes`, the tail comes from memory (StoreWriter::Snapshot).
  void LoadFrom(Manifest m, const std::string* tail_bytes) {
    manifest = std::move(m);
    info = manifest.Info(dir);
    landmarks = Map(store::kLandmarks);
    segments.clear();
    for (size_t s = 0; s < manifest.segments(); ++s) segments.push_back(Map(store::SegmentName(s)));
    text = manifest.text ? Map(store::kText) : nullptr;
    text_index = manifest.text ? Map(store::kTextIndex) : nullptr;
    if (tail_bytes) snapshot_tail = *tail_bytes;
    tail = manifest.tail_tokens && !tail_bytes ? Map(manifest.tail_name()) : nullptr;
    attachments.clear();
    for (const auto& [name, a] : manifest.attachments) {
      auto mapped = std::make_unique<MappedAttachment>();
      mapped->file = Map(a.file);
      mapped->bytes = manifest.files.at(a.file).bytes;
      attachments[name] = std::move(mapped);
    }
  }

  const unsigned char* TailData() const {
    return tail ? tail->data() : reinterpret_cast<const unsigned char*>(snapshot_tail.data());
  }

  uint64_t TextEnd(size_t c) const {  // end offset of chunk c's text in text.bin
    if (c == 0) return 0;
    uint64_t end;
    std::memcpy(&end, text_index->data() + (c - 1) * 8, 8);
    return end;
  }
};

StoreReader::StoreReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoreReader::StoreReader(StoreReader&&) noexcept = default;
StoreReader& StoreReader::operator=(StoreReader&&) noexcept = default;
StoreReader::~StoreReader() = default;

StoreReader StoreReader::Open(const std::string& dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->Load();
  return StoreReader(std::move(impl));
}

StoreReader StoreReader::FromSnapshot(const std::string& dir, const void* manifest, const std::string& tail) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->LoadFrom(*static_cast<const Manifest*>(manifest), &tail);
  return StoreReader(std::move(impl));
}

const StoreInfo& StoreReader::info() const { return impl_->info; }

const void* StoreReader::landmarks() const { return impl_->landmarks->data(); }

ChunkKV StoreReader::chunk(size_t c, size_t head) const {
  const Manifest& m = impl_->manifest;
  const StoreShape& s = m.shape;
  LANDMARK_CHECK_ARG(head < s.kv_heads, impl_->dir + ": kv head " + std::to_string(head) +
                                            " out of range (" + std::to_string(s.kv_heads) + " heads)");
  const size_t row = s.head_dim * SizeOf(s.dtype);
  if (c < m.chunks) {
    const unsigned char* record = impl_->segments[c / m.chunks_per_segment]->data() +
                                  store::RecordOffset(m, c, head);
    return {record, record + s.chunk_size * row, s.chunk_size};
  }
  LANDMARK_CHECK_ARG(c == m.chunks && m.tail_tokens > 0,
                     impl_->dir + ": chunk " + std::to_string(c) + " out of range (" +
                         std::to_string(m.chunks) + " chunks" + (m.tail_tokens ? " + tail" : "") + ")");
  const unsigned char* keys = impl_->TailData() + 2 * head * m.tail_tokens * row;
  return {keys, keys + m.tail_tokens * row, m.tail_tokens};
}

std::string_view StoreReader::text(size_t c) const {
  const Manifest& m = impl_->manifest;
  if (!m.text) return {};
  LANDMARK_CHECK_ARG(c < m.chunks || (c == m.chunks && m.tail_tokens > 0),
                     impl_->dir + ": chunk " + std::to_string(c) + " out of range");
  if (c == m.chunks) {
    return {reinterpret_cast<const char*>(impl_->TailData()) + m.tail_kv_bytes(), m.tail_text_bytes};
  }
  const uint64_t begin = impl_->TextEnd(c), end = impl_->TextEnd(c + 1);
  LANDMARK_CHECK_ARG(begin <= end && end <= m.files.at(store::kText).bytes,
                     impl_->dir + ": text-index.bin is corrupted at chunk " + std::to_string(c) +
                         " (run `landmark verify`)");
  return {reinterpret_cast<const char*>(impl_->text->data()) + begin, size_t(end - begin)};
}

bool StoreReader::has_attachment(std::string_view name) const {
  return impl_->attachments.find(name) != impl_->attachments.end();
}

std::string_view StoreReader::attachment(std::string_view name) const {
  const auto it = impl_->attachments.find(name);
  if (it == impl_->attachments.end()) return {};
  Impl::MappedAttachment& a = *it->second;
  const char* data = reinterpret_cast<const char*>(a.file->data());
  // Checked once, on first use (small side data; opening stays cheap).
  std::call_once(a.checked, [&] {
    store::CheckRegions(a.file->path(), data, impl_->manifest.files.at(impl_->manifest.attachments.at(it->first).file));
  });
  return {data, size_t(a.bytes)};
}

void StoreReader::Prefetch(const size_t* chunk_ids, size_t count, size_t head) const {
  const Manifest& m = impl_->manifest;
  const size_t record = m.shape.record_bytes();
  const bool all = head == kAllHeads;
  // A warm store needs no prefetch at all: stop checking once a run of
  // records is found resident (mincore is cheap, but not free: a few µs a
  // call on a VM). Once many calls in a row found their first run resident,
  // the store is taken as warm and only the first record is checked; one
  // that is not resident brings the full check back.
  constexpr size_t kResidentRun = 8;
  constexpr uint32_t kWarmCalls = 16;
  const bool warm = impl_->warm_calls.load(std::memory_order_relaxed) >= kWarmCalls;
  const size_t run = warm ? 1 : kResidentRun;
  size_t resident_run = 0, checked = 0;
  bool missed = false;
  for (size_t i = 0; i < count && resident_run < run; ++i) {
    const size_t c = chunk_ids[i];
    if (c >= m.chunks) continue;  // the tail is small and hot
    const MappedFile& segment = *impl_->segments[c / m.chunks_per_segment];
    const uint64_t offset = store::RecordOffset(m, c, all ? 0 : head);
    ++checked;
    if (segment.Resident(offset)) {
      ++resident_run;
      continue;
    }
    resident_run = 0;
    missed = true;
    segment.Prefetch(offset, (all ? m.shape.kv_heads : 1) * record);
  }
  if (missed) {
    impl_->warm_calls.store(0, std::memory_order_relaxed);
  } else if (checked > 0 && !warm) {
    impl_->warm_calls.fetch_add(1, std::memory_order_relaxed);
  }
}

StoreInfo ReadStoreInfo(const std::string& dir) { return Manifest::Read(dir).Info(dir); }

bool StoreReader::Refresh() {
  if (Manifest::Read(impl_->dir).commit == impl_->manifest.commit) return false;
  auto next = std::make_unique<Impl>();  // a failed load leaves this reader as it was
  next->dir = impl_->dir;
  next->Load();
  impl_ = std::move(next);
  return true;
}

}  // namespace landmark
