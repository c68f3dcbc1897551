// Writes a file from pieces to `path`.tmp, then renames it into place, so a
// reader never sees a half-written file. Throws landmark::Error naming path.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace landmark {

struct FilePiece {
  const void* data;
  size_t bytes;
};

void WriteFileAtomically(const std::string& path, const std::vector<FilePiece>& pieces);

}  // namespace landmark
