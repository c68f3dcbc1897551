#include "src/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "landmark/error.h"

namespace landmark {

const char* FileTypeName(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
  }
  return "not a regular file";
}

int OpenRegularFile(const std::string& path, int flags, unsigned mode) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
  // below); it changes nothing for regular files.
  const int fd = ::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC, mode_t(mode));
  if (fd < 0) {
    const int e = errno;
    if (e == ELOOP && (flags & O_NOFOLLOW)) {
      LANDMARK_THROW(path + ": is a symbolic link; refusing to follow it (a store's files must be regular files)");
    }
    LANDMARK_THROW(path + ": cannot open: " + std::strerror(e));
  }
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const int e = errno;
  if (stat_ok && S_ISREG(st.st_mode)) return fd;
  ::close(fd);
  if (!stat_ok) LANDMARK_THROW(path + ": cannot stat: " + std::strerror(e));
  LANDMARK_THROW(path + ": is " + FileTypeName(st.st_mode) + ", not a regular file");
}

MappedFile::MappedFile(const std::string& path, bool follow_symlinks) : path_(path) {
  const int fd = OpenRegularFile(path, O_RDONLY | (follow_symlinks ? 0 : O_NOFOLLOW));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    LANDMARK_THROW(path + ": cannot stat: " + std::strerror(e));
  }
  size_ = size_t(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
    const int mmap_errno = errno;
    ::close(fd);
    LANDMARK_CHECK_ARG(p != MAP_FAILED, path + ": cannot map: " + std::strerror(mmap_errno));
    data_ = static_cast<const unsigned char*>(p);
  } else {
    ::close(fd);
  }
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

bool MappedFile::Resident(size_t offset) const {
  if (!data_ || offset >= size_) return true;
  static const size_t page = size_t(::sysconf(_SC_PAGESIZE));
  unsigned char state = 0;
  void* address = const_cast<unsigned char*>(data_) + offset / page * page;
  return ::mincore(address, 1, &state) == 0 && (state & 1);
}

void MappedFile::Prefetch(size_t offset, size_t length) const {
  if (!data_ || offset >= size_) return;
  length = std::min(length, size_ - offset);
  const size_t page = size_t(::sysconf(_SC_PAGESIZE));
  const size_t begin = offset / page * page;
  ::madvise(const_cast<unsigned char*>(data_) + begin, offset + length - begin, MADV_WILLNEED);
}

}  // namespace landmark
