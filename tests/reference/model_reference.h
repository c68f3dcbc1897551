// The byte model of docs/model.md in double precision, written from the
// document alone: the whole sequence at once, every position's HSA over the
// sequence's own chunks, no store, no caches, no segments.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace landmark::test {

struct ModelReference {
  std::vector<double> logits;     // [n][vocab]
  std::vector<double> memory_k;   // [n][D]
  std::vector<double> memory_v;   // [n][D]
  std::vector<double> landmarks;  // [n / S][D]
  std::vector<size_t> last_chunks;  // chosen at the last position by any HSA block and head, ascending
};

// Reads the weights and config from `weights_path` (.safetensors).
ModelReference RunModelReference(const std::string& weights_path, std::string_view bytes);

}  // namespace landmark::test
