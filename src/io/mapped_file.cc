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

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LANDMARK_CHECK_ARG(fd >= 0, path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const std::string reason = S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file";
    ::close(fd);
    LANDMARK_THROW(path + ": " + reason);
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
