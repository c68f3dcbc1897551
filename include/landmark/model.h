// landmark's own byte model (docs/model.md): lower blocks (sliding-window
// attention + MLP) stream documents into a chunk store of K/V and learned
// landmarks; upper blocks answer questions with HSA over the store (and GMU
// blocks gating with the preceding HSA output). No Python at run time.
//
//   Model::Load("models/default.safetensors")
//   ModelIngest::Create(model, "doc.store").Add(text) ... .Finish()
//   ModelAnswerer(model, "doc.store").Ask(" Q: pass key for vault 123? A: ")
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "landmark/dtype.h"
#include "landmark/layer_kind.h"
#include "landmark/retriever.h"
#include "landmark/store.h"

namespace landmark {

// The shape, read from the weights file's "landmark.model" metadata.
struct ModelConfig {
  size_t vocab = 128, d_model = 256, heads = 4, head_dim = 64, mlp_hidden = 1024;
  size_t window = 128;  // W
  size_t chunk = 64;    // S
  size_t top_k = 4;
  size_t lower = 2;
  std::vector<LayerKind> upper = {LayerKind::kHsa, LayerKind::kGmu, LayerKind::kHsa, LayerKind::kGmu};
  double rope_theta = 10000.0;
  double norm_eps = 1e-6;
  // How an hsa block combines its k chunks: hsa (each chunk's own softmax,
  // mixed by the landmark weights) or joint (one softmax over all their
  // tokens). Metadata format 1 is hsa; format 2 names it ("fusion").
  Fusion fusion = Fusion::kHsa;

  // Parses the metadata JSON; throws landmark::Error naming `what` and the
  // field (missing, wrong type, out of range, inconsistent).
  static ModelConfig FromJson(const std::string& json, const std::string& what);
  std::string ToJson() const;
  void Validate(const std::string& what) const;
  uint64_t parameters() const;
  // Multiply-adds × 2 per token of the lower blocks and the chunk memory
  // (projections and SWA over W keys): what ingest computes.
  double ingest_flops_per_token() const;
};

// Loaded weights: matrices in the file's dtype (bf16 or f32; f16 is
// widened), norms and embeddings in f32.
class Model {
 public:
  // Checks every tensor docs/model.md names (present, shape) and the config;
  // throws landmark::Error naming the file and the tensor.
  static Model Load(const std::string& path);
  // "default": DefaultModelPath(); anything else: a path.
  static Model LoadSpec(const std::string& spec);
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  const ModelConfig& config() const;
  const std::string& path() const;
  // xxh3-64 of the weights file, hex: a store remembers the model that wrote it.
  const std::string& digest() const;

  struct Impl;  // the loaded tensors (src/model/layers.h), opaque here

 private:
  friend struct ModelAccess;  // the library's own access to them
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The shipped weights: $LANDMARK_MODEL if set, else models/default.safetensors
// or models/lm-hsa.safetensors (else lm-gmu) beside the executable's tree
// (build/bin/../../models, bin/../share/landmark/models) or in the source tree. Throws landmark::Error listing where it looked.
std::string DefaultModelPath();
// A file shipped with landmark (e.g. "models/default.safetensors") beside
// the executable's tree, in the installed share dir or the source tree.
std::string FindShippedFile(const std::string& relative);

// Bytes as the model reads them: ≥ 128 → '?'; in documents '\n' and '\r' → ' '
// ('\n' is the stop byte).
std::string DocumentBytes(std::string_view text);

struct ModelIngestOptions {
  size_t segment_tokens = 4096;  // tokens per batched pass through the lower blocks
  DType dtype = DType::kF16;     // store dtype of K, V and landmarks
  size_t commit_every = 1024;    // chunks between store commits (0: only at Finish)
  std::map<std::string, std::string> metadata;  // recorded in a new store's manifest
  bool keep_newlines = false;    // bytes as given ('\n' too): SequenceLogits
  // Labels this ingest's input (e.g. a digest of its files, sizes and
  // times). Append resumes an unfinished run with the same label: the bytes
  // its last commit holds are skipped as they are added again.
  std::string run;
};

// Streams bytes through the lower blocks into a chunk store (K/V heads = the
// model's heads, learned landmarks), in segments: memory is bounded by the
// segment and the window, cost is linear in the length. Every store commit
// (every `commit_every` chunks, at segment ends, and at Finish) carries the
// state a question needs as the store attachment "model-state" (every
// block's last W−1 keys and values, the partial chunk), committed with the
// K/V by the same manifest: a process killed at any instant leaves a store
// that answers as of its last commit and that a later Append continues
// exactly (resuming the interrupted run when its label matches).
class ModelIngest {
 public:
  static ModelIngest Create(const Model& model, const std::string& dir, const ModelIngestOptions& options = {});
  // Continues a store this model wrote (checks the digest and the state).
  // A store written before attachments existed (a loose
  // model-state.safetensors) is migrated: its state becomes the attachment
  // at the first commit and the loose file is removed at Finish.
  static ModelIngest Append(const Model& model, const std::string& dir, const ModelIngestOptions& options = {});
  ModelIngest(ModelIngest&&) noexcept;
  ~ModelIngest();

  void Add(std::string_view text);  // mapped by DocumentBytes
  // Starts a new document: a ' ' separates it from what precedes it (none
  // at the start of the store).
  void BeginDocument();
  // Tokens of an interrupted run with this run's label that the store
  // already holds: the first that many bytes added are skipped.
  uint64_t resumed_tokens() const;
  void Finish();                    // flush, commit, write the answer state
  uint64_t tokens() const;          // ingested so far (processed or pending)
  uint64_t processed_tokens() const;
  double lower_seconds() const;     // in the lower blocks and the chunk memory
  const std::string& path() const;

  // Tests: called with every segment's lower output h [tokens][D] at
  // positions [first, first + tokens).
  std::function<void(const float* h, size_t tokens, size_t first)> on_lower_output;

 private:
  struct Impl;
  explicit ModelIngest(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ModelAnswer {
  std::string text;            // the generated bytes, without the stop byte
  bool stopped = false;        // the stop byte came (else max_bytes ran out)
  size_t steps = 0;            // forward passes (1 for the question + 1 per byte after the first)
  double seconds = 0;
  uint64_t bytes_touched = 0;  // store bytes (landmarks scored + K/V attended)
  std::vector<uint32_t> chunks;  // chunks any HSA block or head chose at the question's last byte (ascending)
};

// The one kind of question the shipped weights were trained to answer, in
// words (for messages): the pass key of a numbered vault.
extern const char kPassKeyTask[];
// `question` in the trained frame (" Q: pass key for vault 123? A: ") when
// it asks for a vault's pass key ("pass key for vault 123", "What is the pass
// key of vault 123?"), or " Q: pass keys for vault 123? A: " when it asks
// for every value ("pass keys for vault 123"); "" for any other question,
// which the model cannot answer (it would make an answer up).
std::string PassKeyQuestion(std::string_view question);

// Answers questions about an ingested store: the question's bytes continue
// the document (positions n, n+1, ...), greedy decoding until '\n'.
class ModelAnswerer {
 public:
  ModelAnswerer(const Model& model, const std::string& dir);
  ~ModelAnswerer();
  ModelAnswerer(ModelAnswerer&&) noexcept;

  ModelAnswer Ask(std::string_view question, size_t max_bytes = 16) const;
  // Logits [bytes][vocab] at each position of `text` continuing the document
  // (no decoding). The question may hold at most W bytes beyond which its own
  // chunks would be candidates: longer texts are refused.
  std::vector<float> Logits(std::string_view text) const;
  const StoreReader& store() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The model's logits at every position of `bytes` read as one document
// [n][vocab] (the training forward pass): ingest into a fresh store in
// `scratch_dir` (kept: tests read its K/V and landmarks), then the upper
// blocks at every position. Memory O(n); for tests and evaluation.
std::vector<float> SequenceLogits(const Model& model, std::string_view bytes, const std::string& scratch_dir,
                                  size_t segment_tokens = 4096);

}  // namespace landmark
