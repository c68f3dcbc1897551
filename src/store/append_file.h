// An append-only data file of the store: writes at its end, hashes what was
// appended since the last commit (xxh3-64), syncs on demand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "src/store/format.h"

struct XXH3_state_s;

namespace landmark::store {

class AppendFile {
 public:
  // Opens (creating if missing) `dir/name` for appending at `committed`
  // bytes; anything past it is trimmed (an interrupted write's leftovers).
  AppendFile(const std::string& dir, const std::string& name, uint64_t committed);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  const std::string& name() const { return name_; }
  uint64_t size() const { return size_; }
  bool dirty() const { return size_ != committed_; }

  // Appends; throws landmark::Error naming the file (ENOSPC, EIO, ...).
  void Write(const void* data, size_t bytes);
  void Sync();  // fdatasync
  // The region appended since the last commit, and marks it committed.
  Region TakeRegion();

 private:
  std::string path_, name_;
  int fd_ = -1;
  uint64_t size_ = 0, committed_ = 0;
  XXH3_state_s* hash_ = nullptr;
};

// Writes a whole new file: NAME.tmp (created afresh, never through a link),
// fsync, rename over NAME, and with `sync_dir` an fsync of the directory.
// Returns the data's xxh3-64.
uint64_t WriteWholeFile(const std::string& dir, const std::string& name, const void* data, size_t bytes,
                        bool sync_dir = false);

// The first `bytes` of dir/name (a regular file, not through a link);
// throws naming it when it is shorter ("truncated; run `landmark verify`").
std::string ReadStoreFile(const std::string& dir, const std::string& name, uint64_t bytes);

// Checks `data` (the file's committed bytes) against the entry's region
// checksums; throws "<path>: checksum mismatch in bytes [a, b) (corrupted...)".
void CheckRegions(const std::string& path, const void* data, const FileEntry& entry);
// The message of a mismatch in `region` of `path`, for Verify and CheckRegions.
std::string ChecksumMismatch(const std::string& path, const Region& region);

// fsync of the directory: names created or renamed in it become durable.
void SyncDirectory(const std::string& dir);

}  // namespace landmark::store
