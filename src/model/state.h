// What a store ingested by the model keeps beside its chunks
// (model-state.safetensors): every block's sliding-window cache at the end
// of the document, the lower outputs its upper caches were computed from,
// and the running sum of the partial chunk's memory rows — enough to answer
// a question by running only its positions, or to append exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/model/layers.h"

namespace landmark::model {

struct DocumentState {
  uint64_t tokens = 0;        // the document's length n (= the store's tokens)
  std::string digest;         // of the model that wrote it
  std::vector<SwaCache> lower, upper;
  std::vector<float> h_tail;  // [h_rows][D]: lower outputs at positions [n − h_rows, n)
  size_t h_rows = 0;
  std::vector<float> partial_sum;  // [D]: Σ of the memory rows of the incomplete chunk
  size_t partial_rows = 0;

  static std::string Path(const std::string& dir);
  void Write(const std::string& dir, const ModelConfig& config) const;
  // Throws landmark::Error naming the file when missing, damaged, of another
  // model or of another length than the store.
  static DocumentState Read(const std::string& dir, const Model::Impl& model, uint64_t store_tokens);
};

}  // namespace landmark::model
