#include "src/io/write_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "landmark/error.h"

namespace landmark {

void WriteFileAtomically(const std::string& path, const std::vector<FilePiece>& pieces) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  LANDMARK_CHECK_ARG(f != nullptr, path + ": cannot create: " + std::strerror(errno));
  bool ok = true;
  for (const FilePiece& p : pieces) {
    ok = ok && (p.bytes == 0 || std::fwrite(p.data, 1, p.bytes, f) == p.bytes);
  }
  const int write_errno = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = ok ? errno : write_errno;
    std::remove(tmp.c_str());
    LANDMARK_THROW(path + ": write failed: " + std::strerror(e));
  }
}

}  // namespace landmark
