// A pretrained LLM's KV cache of a whole document library in a chunk store:
// ingest once, ask forever.
//
//   llm::LlmModel model = llm::LlmModel::Load("Qwen2.5-0.5B-Instruct");
//   llm::LlmIngest ingest = llm::LlmIngest::Open(model, "library.store");   // new, or resumes
//   ingest.AddFile("docs/manual.txt"); ... ingest.Finish();
//   llm::LlmAnswerer answerer(model, "library.store");
//   llm::LlmAnswer a = answerer.Ask("What does the manual say about backups?");
//
// The store (docs/llm.md) holds, for every token of every document, every
// layer's key (BEFORE RoPE) and value: its kv heads are layer-major (store
// head l·H_kv + h), chunks of S tokens, mean (or minmax) landmarks per store
// head, each chunk's text, and attachments recording the documents and where
// each chunk came from. The token stream starts with the chat template's
// preamble (up to the user's message), so a question continues it.
//
// Every layer attends sinks + the top-k chunks of its kv head chosen by
// landmarks + an exact local window + the new tokens (src/llm/store_attention.h),
// with retrieved chunks rotated at positions just before the local window
// (InfLLM): a model trained at 4K–32K reads millions of tokens. Documents are
// prefilled segment by segment through the same attention (the causal part
// inside a segment with FlashPrefill masks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "landmark/dtype.h"
#include "landmark/llm.h"
#include "landmark/store.h"
#include "landmark/tokenizer.h"

namespace landmark::llm {

// How the model reads the store. Zeros mean "from the model's trained
// context Lmax": window min(4096, Lmax/4), top_k min(64, Lmax/(4·S)),
// segment min(1024, Lmax/8).
struct LlmRetrievalOptions {
  size_t sink_chunks = 1;     // the first chunks (BOS, the chat preamble): always attended
  size_t window = 0;          // local tokens attended exactly
  size_t top_k = 0;           // chunks per kv head and layer
  size_t select_block = 128;  // new tokens per selection
  bool true_positions = false;  // chunks at their own positions (tests; beyond Lmax the model sees unseen positions)
  bool flashprefill = true;     // inside an ingest segment / a long question: FlashPrefill block masks (else dense)

  // The zeros filled in for `model` and a store of chunk size S (a
  // sliding-window model's local window is at most its window).
  LlmRetrievalOptions Resolved(const LlmModel& model, size_t chunk_size) const;
};

struct LlmIngestOptions {
  size_t chunk_size = 64;               // S (new stores)
  DType dtype = DType::kF16;            // K and V as stored (new stores)
  LandmarkKind landmark = LandmarkKind::kMean;  // kMean or kMinMax (new stores)
  size_t segment = 0;                   // tokens per forward pass (0: from the model, see LlmRetrievalOptions)
  LlmRetrievalOptions retrieval;
  // The chat preamble the store starts with (new stores): the model's own
  // template, a forced family ("llama3", "chatml", ...) or "raw" (no template:
  // the stream starts with BOS when the tokenizer adds one).
  std::string chat_format;  // "" = the model's template (an error if it has none; say "raw")
  std::string system;       // a system prompt for the preamble ("" = the template's default)
  bool skip_ingested = true;  // a file already in the store (same path and content hash) is skipped
  // Commits (durable, fsync'd) at most this often; each segment is read by
  // the next before it is durable. A killed ingest resumes at the last commit.
  double commit_seconds = 2.0;
  // After every committed segment: tokens and text bytes committed by this
  // run so far. Return false to stop (the last commit stays; resumable).
  std::function<bool(uint64_t tokens, uint64_t bytes)> progress;
};

// One document of the store and where a chunk came from (landmark/store.h).
using LlmDocument = StoreDocument;
using LlmChunkSource = ChunkSource;

class LlmIngest {
 public:
  // Creates the store in `dir`, or opens an existing one (ingested by the
  // same model: config and weights digest are checked) to add documents or
  // to resume after a killed run (continues at the last commit).
  static LlmIngest Open(const LlmModel& model, const std::string& dir, const LlmIngestOptions& options = {});
  LlmIngest(LlmIngest&&) noexcept;
  ~LlmIngest();

  // Reads and adds a UTF-8 text file (invalid UTF-8 is an error naming the
  // file and offset). Returns false when it was skipped (already ingested).
  bool AddFile(const std::string& path);
  // Adds a text under a name (the name appears in the header line and in sources).
  bool AddText(const std::string& name, std::string_view text);
  // Runs the pending tokens through the model and commits.
  void Finish();

  uint64_t tokens() const;  // in the store, committed
  double seconds() const;   // in forward passes
  const std::string& path() const;

  struct Impl;

 private:
  explicit LlmIngest(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct LlmSourceUse {
  uint32_t chunk = 0;
  LlmChunkSource source;
  std::string document;  // its path ("" for the preamble)
  double share = 0;      // of all (layer, kv head) selections while reading the question
  std::string text;      // the chunk's text
};

struct LlmAnswer {
  std::string text;
  std::vector<int32_t> tokens;
  bool stopped = false;       // an end-of-sequence token came (else max_tokens ran out)
  size_t question_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  std::vector<LlmSourceUse> sources;  // most used first
};

class LlmAnswerer {
 public:
  LlmAnswerer(const LlmModel& model, const std::string& dir, const LlmRetrievalOptions& options = {});
  ~LlmAnswerer();
  LlmAnswerer(LlmAnswerer&&) noexcept;

  // The question continues the stored stream as the user's message, then the
  // assistant's turn (the format the store was ingested with); the answer is
  // generated as `options` says (max_tokens, sampling; stop_ids empty: the
  // model's end-of-sequence and end-of-turn ids). on_text gets the answer's
  // text as it is generated (return false to stop).
  LlmAnswer Ask(std::string_view question, const GenerateOptions& options = {},
                const std::function<bool(std::string_view text)>& on_text = {}) const;

  // The logits [vocab] of the token after the question (what Ask samples
  // first): tests and evaluation.
  std::vector<float> QuestionLogits(std::string_view question) const;
  // The question's tokens as Ask reads them.
  std::vector<int32_t> QuestionTokens(std::string_view question) const;
  // The stream's token ids [0, tokens) (from the store's llm-tokens attachment).
  std::vector<int32_t> StoredTokens() const;

  const StoreReader& store() const;
  const Tokenizer& tokenizer() const;
  const std::vector<LlmDocument>& documents() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace landmark::llm
