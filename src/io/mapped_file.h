// A whole file mapped read-only (MAP_SHARED, so readers see committed
// appends by other processes after re-mapping). Pages are read on first touch;
// nothing is read at open.
#pragma once

#include <cstddef>
#include <string>

namespace landmark {

// "a FIFO", "a directory", ... for a st_mode.
const char* FileTypeName(unsigned mode);

// open(2) that never blocks and accepts only a regular file: `flags` (e.g.
// O_RDONLY | O_NOFOLLOW, O_RDWR | O_CREAT) plus O_NONBLOCK | O_CLOEXEC; a
// FIFO, device, directory, or (with O_NOFOLLOW) symbolic link is refused.
// Returns the descriptor; throws landmark::Error naming `path` and why.
int OpenRegularFile(const std::string& path, int flags, unsigned mode = 0644);

class MappedFile {
 public:
  // Throws landmark::Error naming the file (missing, unreadable, not a
  // regular file: a directory, FIFO or device is refused without blocking).
  // `follow_symlinks` false: a symbolic link is refused too (store files).
  explicit MappedFile(const std::string& path, bool follow_symlinks = true);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  size_t size() const { return size_; }
  const unsigned char* data() const { return data_; }  // nullptr when size() == 0

  // madvise(WILLNEED) on [offset, offset + length) (clamped to the file):
  // asks the kernel to start reading those pages now.
  void Prefetch(size_t offset, size_t length) const;
  // Whether the page holding `offset` is in memory (mincore).
  bool Resident(size_t offset) const;

 private:
  std::string path_;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace landmark
