#include "src/store/append_file.h"

#include <cstdint>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>

#include "landmark/error.h"

namespace landmark::store {
namespace {

void WriteAll(int fd, const void* data, size_t bytes, uint64_t offset, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd, p, bytes, off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      LANDMARK_THROW(path + ": write failed: " + std::strerror(n < 0 ? errno : ENOSPC));
    }
    p += n;
    bytes -= size_t(n);
    offset += uint64_t(n);
  }
}

}  // namespace

AppendFile::AppendFile(const std::string& dir, const std::string& name, uint64_t committed)
    : path_(JoinPath(dir, name)), name_(name), size_(committed), committed_(committed) {
  fd_ = OpenStoreFile(path_, O_RDWR | O_CREAT, true);  // never through a link, never a FIFO
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || uint64_t(st.st_size) < committed) {
    ::close(fd_);
    LANDMARK_THROW(path_ + ": " + std::to_string(st.st_size) + " bytes, the manifest says " +
                   std::to_string(committed) + " (truncated; run `landmark verify`)");
  }
  if (uint64_t(st.st_size) > committed && ::ftruncate(fd_, off_t(committed)) != 0) {
    const int e = errno;
    ::close(fd_);
    LANDMARK_THROW(path_ + ": cannot trim past the last commit: " + std::strerror(e));
  }
  hash_ = XXH3_createState();
  LANDMARK_ASSERT(hash_ != nullptr);
  XXH3_64bits_reset(hash_);
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
  if (hash_) XXH3_freeState(hash_);
}

void AppendFile::Write(const void* data, size_t bytes) {
  if (bytes == 0) return;
  WriteAll(fd_, data, bytes, size_, path_);
  XXH3_64bits_update(hash_, data, bytes);
  size_ += bytes;
}

void AppendFile::Sync() {
  if (::fdatasync(fd_) != 0) LANDMARK_THROW(path_ + ": fdatasync failed: " + std::strerror(errno));
  // The writer never reads back what it wrote: let the kernel drop those
  // pages now instead of reclaiming them under pressure (on a big ingest
  // that reclaim, not the disk, was the bottleneck; under a memory cgroup
  // page cache counts against the limit too).
  ::posix_fadvise(fd_, off_t(committed_), off_t(size_ - committed_), POSIX_FADV_DONTNEED);
}

Region AppendFile::TakeRegion() {
  const Region region{committed_, size_ - committed_, XXH3_64bits_digest(hash_)};
  committed_ = size_;
  XXH3_64bits_reset(hash_);
  return region;
}

uint64_t WriteWholeFile(const std::string& dir, const std::string& name, const void* data, size_t bytes,
                        bool sync_dir) {
  const std::string path = JoinPath(dir, name), tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // an interrupted write's leftover (or a planted link: removed, not followed)
  const int fd = OpenStoreFile(tmp, O_WRONLY | O_CREAT | O_EXCL, true);
  try {
    WriteAll(fd, data, bytes, 0, path);
    if (::fsync(fd) != 0) LANDMARK_THROW(path + ": fsync failed: " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    LANDMARK_THROW(path + ": rename failed: " + std::strerror(e));
  }
  if (sync_dir) SyncDirectory(dir);
  return XXH3_64bits(data, bytes);
}

void SyncDirectory(const std::string& dir) {
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  LANDMARK_CHECK_ARG(dir_fd >= 0, dir + ": cannot open directory: " + std::strerror(errno));
  const bool synced = ::fsync(dir_fd) == 0;
  const int e = errno;
  ::close(dir_fd);
  LANDMARK_CHECK_ARG(synced, dir + ": fsync failed: " + std::strerror(e));
}

std::string ReadStoreFile(const std::string& dir, const std::string& name, uint64_t bytes) {
  const std::string path = JoinPath(dir, name);
  const int fd = OpenStoreFile(path, O_RDONLY, false);
  std::string data;
  size_t done = 0;
  int error = 0;
  try {
    data.resize(bytes);
  } catch (...) {
    ::close(fd);
    throw;
  }
  while (done < data.size()) {
    const ssize_t n = ::pread(fd, data.data() + done, data.size() - done, off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    if (n <= 0) break;
    done += size_t(n);
  }
  ::close(fd);
  LANDMARK_CHECK_ARG(error == 0, path + ": read failed: " + std::strerror(error));
  LANDMARK_CHECK_ARG(done == data.size(), path + ": " + std::to_string(done) + " bytes, the manifest says " +
                                              std::to_string(bytes) + " (truncated; run `landmark verify`)");
  return data;
}

std::string ChecksumMismatch(const std::string& path, const Region& r) {
  return path + ": checksum mismatch in bytes [" + std::to_string(r.offset) + ", " + std::to_string(r.offset + r.bytes) +
         ") (corrupted)";
}

void CheckRegions(const std::string& path, const void* data, const FileEntry& entry) {
  const char* bytes = static_cast<const char*>(data);
  for (const Region& r : entry.regions) {
    LANDMARK_CHECK_ARG(XXH3_64bits(bytes + r.offset, r.bytes) == r.xxh3,
                       ChecksumMismatch(path, r) + "; run `landmark verify`");
  }
}

}  // namespace landmark::store
