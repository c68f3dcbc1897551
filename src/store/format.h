// The v1 store format: manifest contents, file names and record layout.
// Everything a reader or writer must agree on lives here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "landmark/store.h"

namespace landmark::store {

inline constexpr const char* kFormatName = "landmark-store";
inline constexpr int kFormatVersion = 1;
inline constexpr size_t kRecordAlign = 4096;
inline constexpr const char* kManifest = "manifest.json";
inline constexpr const char* kLandmarks = "landmarks.bin";
inline constexpr const char* kText = "text.bin";
inline constexpr const char* kTextIndex = "text-index.bin";  // u64 LE end offset per chunk
inline constexpr const char* kLock = ".lock";

std::string SegmentName(size_t index);  // "kv-000000.bin"
std::string TailName(uint64_t commit);  // "tail-000007.bin"

// Attachments (StoreWriter::AppendAttachment / SetAttachment): names are
// [a-z0-9_-]{1,64}. An append-only one lives in "att-NAME.bin"; a replaced
// one in "att-NAME.000007.bin", a new file per commit that changes it.
bool IsAttachmentName(std::string_view name);
void CheckAttachmentName(std::string_view name, const std::string& what);  // throws naming `what`
std::string AppendAttachmentFile(std::string_view name);
std::string ReplacedAttachmentFile(std::string_view name, uint64_t commit);

// Bytes [offset, offset + bytes) of a file, appended by one commit, and
// their xxh3-64.
struct Region {
  uint64_t offset = 0;
  uint64_t bytes = 0;
  uint64_t xxh3 = 0;
};

struct FileEntry {
  uint64_t bytes = 0;            // committed size
  std::vector<Region> regions;   // cover [0, bytes) in order
};

struct Attachment {
  bool append = false;  // append-only stream; else replaced whole by a commit
  std::string file;     // its data file: an entry of Manifest::files
};

struct Manifest {
  StoreShape shape;
  size_t segment_bytes = 0;       // as configured
  size_t chunks_per_segment = 0;  // derived from segment_bytes, stored for readers
  size_t commit_every = 1024;     // the writers' automatic commit interval (chunks)
  bool text = false;
  uint64_t commit = 0;
  size_t chunks = 0;
  size_t tail_tokens = 0;
  uint64_t tail_text_bytes = 0;
  std::map<std::string, FileEntry> files;  // every data file by name (attachments' too)
  std::map<std::string, Attachment> attachments;  // by attachment name
  std::string created, creator;
  std::map<std::string, std::string> metadata;

  std::string tail_name() const { return tail_tokens ? TailName(commit) : std::string(); }
  size_t segments() const { return (chunks + chunks_per_segment - 1) / chunks_per_segment; }
  uint64_t tail_kv_bytes() const;  // [head][K: t×d | V: t×d]

  // With "checksum": the xxh3-64 of the canonical JSON of every other field.
  std::string ToJson() const;
  // Parses and checks internal consistency: every field's type and range,
  // the checksum (a manifest without one, written before it existed, is
  // read as legacy), sizes that agree with the shape and counts, without
  // overflow; throws landmark::Error naming `path` and the field.
  static Manifest Parse(const std::string& json, const std::string& path);
  static Manifest Read(const std::string& dir);
  // manifest.json.tmp, fsync, rename over manifest.json, fsync the directory.
  void WriteAtomic(const std::string& dir) const;
  StoreInfo Info(const std::string& dir) const;
};

size_t ChunksPerSegment(const StoreShape& shape, size_t segment_bytes);

// Byte offset of (chunk, head)'s record in its segment.
inline uint64_t RecordOffset(const Manifest& m, size_t chunk, size_t head) {
  return (uint64_t(chunk % m.chunks_per_segment) * m.shape.kv_heads + head) * m.shape.record_bytes();
}

std::string JoinPath(const std::string& dir, const std::string& name);

// Opens a store file: O_NOFOLLOW, never blocking, a regular file only (see
// OpenRegularFile). `writing`: also refuses a file with other hard links,
// which the writer's appends and trims would change behind their backs.
int OpenStoreFile(const std::string& path, int flags, bool writing);

}  // namespace landmark::store
