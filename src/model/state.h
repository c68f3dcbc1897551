// What a store ingested by the model keeps beside its chunks: every block's
// sliding-window cache at the end of the document, the lower outputs its
// upper caches are computed from, and the running sum of the partial
// chunk's memory rows — enough to answer a question by running only its
// positions, or to append exactly. It is the store attachment "model-state"
// (a .safetensors image), committed with the K/V it belongs to by the same
// manifest commit: a kill at any instant leaves a state that matches the
// store. Commits made during an ingest carry no upper caches (answering
// computes them from the lower outputs, exactly as the end of an ingest
// does); the last commit of an ingest carries them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/model/layers.h"

namespace landmark::model {

inline constexpr const char* kStateAttachment = "model-state";

struct DocumentState {
  uint64_t tokens = 0;        // the document's length n (= the store's tokens)
  std::string digest;         // of the model that wrote it
  std::vector<SwaCache> lower, upper;
  bool has_upper = false;     // `upper` holds the caches (else computed by UpperCaches)
  std::vector<float> h_tail;  // [h_rows][D]: lower outputs at positions [n − h_rows, n)
  size_t h_rows = 0;
  std::vector<float> partial_sum;  // [D]: Σ of the memory rows of the incomplete chunk
  size_t partial_rows = 0;
  // The ingest run that wrote this state: the caller's label of its inputs,
  // the store's tokens when it began, and whether it finished. A run with
  // the same label resumes an unfinished one where its last commit ended.
  std::string run;
  uint64_t run_first = 0;
  bool run_finished = true;

  // The attachment's bytes (a .safetensors image).
  std::string Serialize(const ModelConfig& config) const;
  // Parses and checks a state (`what` names it in messages); throws
  // landmark::Error when damaged, of another model or of another length
  // than the store.
  static DocumentState Parse(std::string_view bytes, const std::string& what, const Model::Impl& model,
                             uint64_t store_tokens);
  // The state of the store's opened commit: the attachment, or the loose
  // model-state.safetensors of a store written before attachments existed.
  static DocumentState Read(const StoreReader& store, const Model::Impl& model);

  // Stores of earlier versions kept the state in this file.
  static std::string LegacyPath(const std::string& dir);
};

// The upper blocks over the document's tail, block j on the positions whose
// outputs block j+1 (or a question) needs: `state.upper` becomes exact.
void UpperCaches(const Model::Impl& m, const Retriever& retriever, DocumentState& state, Workspace& ws);

}  // namespace landmark::model
