// The chunk store: a directory holding the keys and values of a long
// context in fixed-size chunks, one small landmark per (chunk, head), and
// optionally each chunk's source text. Format v1 (docs/design.md "Store format"):
//
//   manifest.json    the single source of truth, replaced atomically per commit
//   landmarks.bin    [chunk][landmark head][landmark values] (hot, small)
//   kv-NNNNNN.bin    [chunk][kv head][K: S×d | V: S×d], each (chunk, head)
//                    record padded to 4 KiB; segments roll over at a set size
//   text.bin         chunk texts back to back; text-index.bin: u64 end offsets
//   tail-NNNNNN.bin  the last, partial chunk (fewer than S tokens)
//   att-NAME.bin, att-NAME.NNNNNN.bin   attachments (below)
//
// Data files are append-only; bytes past the committed sizes are ignored by
// readers and trimmed by the next writer. One writer (an advisory lock
// enforces it), any number of readers, each seeing the last commit. Every
// file is opened without following symbolic links and must be a regular
// file; the manifest carries a checksum of its own content.
//
// Attachments: named side data committed atomically with the K/V by the
// same manifest commit, so a process killed at any instant leaves the data
// of the last commit, never a mix. Names are 1-64 characters of [a-z0-9_-].
// An attachment is either
//   - append-only (AppendAttachment): a stream like text.bin, with its
//     committed size and an xxh3-64 per commit's region in the manifest;
//     bytes past the commit are ignored by readers and trimmed by the next
//     writer; or
//   - replaced (SetAttachment): written whole to a new file per commit that
//     changes it (att-NAME.<commit>.bin, fsync'd before the manifest is
//     replaced; the superseded file is deleted after).
// `landmark verify` checks every attachment's size and checksum; `landmark
// info` lists them. Readers check an attachment's checksums when it is
// first read. Uses: the byte model's answering state ("model-state").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "landmark/dtype.h"

namespace landmark {

class StoreReader;

// How a chunk's landmark is made (docs/design.md "Landmarks").
enum class LandmarkKind : uint8_t {
  kLearned = 0,  // supplied by the model at ingest, stored as given
  kMean = 1,     // mean of the chunk's keys (per kv head; R = d)
  kMinMax = 2,   // per-dimension min then max of the chunk's keys (2R values)
};
const char* Name(LandmarkKind kind);  // "learned" | "mean" | "minmax"
LandmarkKind ParseLandmarkKind(std::string_view name, std::string_view what = "landmark");

struct StoreShape {
  size_t chunk_size = 64;  // S, tokens per chunk
  size_t kv_heads = 1;     // H_kv
  size_t head_dim = 64;    // d
  DType dtype = DType::kF16;  // K, V and landmarks as stored (input is converted)
  LandmarkKind landmark = LandmarkKind::kMean;
  size_t landmark_heads = 0;  // retrieval heads; 0: kv_heads (required for mean/minmax)
  size_t landmark_dim = 0;    // R; 0: head_dim (required for mean/minmax)

  // Fills the defaults and checks every field; throws landmark::Error.
  void Validate();
  // Values per (chunk, landmark head): R, or 2R for minmax.
  size_t landmark_values() const;
  size_t landmark_bytes_per_chunk() const;  // landmark_heads × landmark_values × sizeof
  size_t kv_bytes() const;                  // one (chunk, head) record's K and V, unpadded
  size_t record_bytes() const;              // kv_bytes() rounded up to 4 KiB
};

struct AttachmentInfo {
  bool append = false;  // append-only (else replaced whole per commit)
  uint64_t bytes = 0;   // committed size
};

// What is known about a store (`landmark info`).
struct StoreInfo {
  std::string path;
  StoreShape shape;
  uint64_t commit = 0;        // commits so far
  size_t chunks = 0;          // complete chunks
  size_t tokens = 0;          // chunks × S + tail
  size_t tail_tokens = 0;
  size_t segments = 0;        // kv files
  size_t segment_bytes = 0;   // roll-over size
  uint64_t kv_bytes = 0;      // bytes in kv files (committed)
  uint64_t landmark_bytes = 0;
  uint64_t text_bytes = 0;    // 0 when the store holds no text
  bool has_text = false;
  std::string created;        // ISO 8601 UTC
  std::string creator;        // "landmark 0.1.0"
  std::map<std::string, std::string> metadata;  // creation parameters (encoder, seed, sources)
  std::map<std::string, AttachmentInfo> attachments;  // by name, as of the last commit

  std::string ToJson() const;  // pretty-printed
  std::string ToText() const;  // for people
};

struct StoreOptions {
  StoreShape shape;
  size_t commit_every = 1024;        // chunks between automatic commits (0: only on Commit/Close);
                                     // recorded in the manifest for later writers
  size_t segment_bytes = size_t(1) << 30;  // kv file roll-over size (rounded down to whole chunks)
  bool text = false;                 // keep each chunk's source text
  std::map<std::string, std::string> metadata;  // recorded in the manifest at creation
};

// A batch of tokens to append, token-major, in any size.
struct TokenBatch {
  size_t tokens = 0;
  const void* keys = nullptr;    // [tokens][kv_heads][head_dim]
  const void* values = nullptr;  // [tokens][kv_heads][head_dim]
  DType dtype = DType::kF32;     // of keys and values (converted to the store dtype)
  // For error messages only: where the batch comes from (files, say) and
  // the index there of its first token and first landmark, so a refusal
  // reads "V.npy: token 1234, kv head 2: the values hold NaN".
  struct Source {
    std::string_view keys, values, landmarks;
    size_t first_token = 0, first_landmark = 0;
  } source;
  // Learned stores: one landmark per chunk this batch completes,
  // [chunks][landmark_heads][landmark_dim] of landmark_dtype.
  const void* landmarks = nullptr;
  size_t landmark_chunks = 0;
  DType landmark_dtype = DType::kF32;
  // Text stores: the batch's text and, per token, the end of its text
  // (byte offset into `text`, non-decreasing). A chunk's text runs from the
  // end of the token before it to the end of its last token.
  std::string_view text;
  const uint32_t* token_text_end = nullptr;
};

class StoreWriter {
 public:
  // Creates a store in `dir` (created if missing; must not hold a store).
  static StoreWriter Create(const std::string& dir, const StoreOptions& options);
  // Opens an existing store to append: takes the writer lock, trims any
  // bytes past the last commit, and reloads the tail. `commit_every` < 0
  // keeps the store's (set at creation, recorded in the manifest).
  static StoreWriter Append(const std::string& dir, long commit_every = -1);

  StoreWriter(StoreWriter&&) noexcept;
  StoreWriter& operator=(StoreWriter&&) noexcept;
  // Commits and closes; errors there are reported on stderr (call Close()
  // to have them thrown).
  ~StoreWriter();

  // Appends tokens; commits automatically every `commit_every` chunks.
  // Keys, values and landmarks must be finite in the store dtype: NaN, Inf
  // and f32 values beyond the range of f16/bf16 are refused (the error names
  // the token and head; the batch is not applied).
  void Append(const TokenBatch& batch);

  // Attachments (see the top of this file), durable with the next Commit().
  // Appends `bytes` to the append-only attachment `name` (created empty by
  // its first call; a name in use as a replaced attachment is refused).
  void AppendAttachment(std::string_view name, const void* data, size_t bytes);
  // Sets the replaced attachment `name` to `bytes` as of the next commit (a
  // name in use as an append-only attachment is refused).
  void SetAttachment(std::string_view name, std::string_view bytes);
  // The writer's view of `name`, pending changes included (empty if absent);
  // valid until the next call on this writer. Committed bytes are read back
  // and checked against their checksums (throws naming the file if damaged).
  std::string_view attachment(std::string_view name) const;
  // Makes everything appended so far durable: complete chunks, the partial
  // tail chunk and its text. Cheap when nothing changed.
  void Commit();
  // Off: Append never commits by itself, so a caller whose attachments
  // describe the K/V (a text store's index) commits where the two agree.
  // Not recorded in the manifest. commit_every(): the store's setting.
  void set_auto_commit(bool on);
  size_t commit_every() const;
  // Commits and releases the lock. Further calls throw.
  void Close();
  // Releases the lock without committing: what was appended since the last
  // commit is dropped (the next writer trims it). Further calls throw.
  void Abandon();

  StoreInfo info() const;  // as of the last commit, plus pending counts in `tokens`
  const std::string& path() const;
  // A reader of everything appended so far, committed or not (this
  // process's view: not durable until Commit). Its pointers stay valid while
  // it lives; later appends do not show in it. Replaced attachments show as
  // of the last commit.
  StoreReader Snapshot() const;

 private:
  struct Impl;
  explicit StoreWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// K and V of one (chunk, head): `tokens` rows of head_dim values each,
// contiguous (row stride head_dim), in the store dtype.
struct ChunkKV {
  const void* keys = nullptr;
  const void* values = nullptr;
  size_t tokens = 0;
};

class StoreReader {
 public:
  // Opens the last committed state: reads the manifest, checks every file's
  // size against it, and maps the files read-only. Reads no data pages.
  static StoreReader Open(const std::string& dir);

  StoreReader(StoreReader&&) noexcept;
  StoreReader& operator=(StoreReader&&) noexcept;
  ~StoreReader();

  const StoreInfo& info() const;
  const StoreShape& shape() const { return info().shape; }
  size_t chunks() const { return info().chunks; }
  size_t tokens() const { return info().tokens; }

  // Landmarks [chunks][landmark_heads][landmark_values], contiguous.
  const void* landmarks() const;
  // Complete chunk c < chunks(), or c == chunks() for the tail (when tail_tokens > 0).
  ChunkKV chunk(size_t c, size_t head) const;
  // The source text of chunk c (the tail too); empty without text.
  std::string_view text(size_t c) const;
  // Attachment `name` as of the opened commit, empty if absent; valid while
  // the reader lives (until a Refresh that returns true). Its checksums are
  // checked on first use: a damaged attachment throws naming its file.
  std::string_view attachment(std::string_view name) const;
  bool has_attachment(std::string_view name) const;
  // Starts reading these chunks' records of kv head `head` (kAllHeads: every
  // head) from disk: madvise(WILLNEED) for each record not already in memory
  // (checked with mincore, far cheaper than a redundant madvise; after 8
  // resident records in a row the rest are assumed resident too, and after
  // 16 calls that found only resident records, one record a call is
  // checked until one is not).
  static constexpr size_t kAllHeads = ~size_t(0);
  void Prefetch(const size_t* chunk_ids, size_t count, size_t head = kAllHeads) const;

  // Re-reads the manifest and maps what new commits added; true if there
  // were any. Pointers obtained before a refresh that returns true are invalid.
  bool Refresh();

 private:
  friend class StoreWriter;
  static StoreReader FromSnapshot(const std::string& dir, const void* manifest, const std::string& tail);
  struct Impl;
  explicit StoreReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads only the manifest of the store in `dir` (fast; works even when data
// files are damaged). Throws landmark::Error if there is no valid manifest.
StoreInfo ReadStoreInfo(const std::string& dir);

// Checks a store completely: manifest, file sizes, every checksum, shapes
// and text offsets. Returns every problem found, each naming the file
// (empty: the store is sound). Never throws for a damaged store.
std::vector<std::string> VerifyStore(const std::string& dir);

// Stores made from documents (text stores, LLM stores) keep a table of
// them and the source of every chunk as attachments (docs/store.md).
struct StoreDocument {
  std::string path;          // as given at ingest
  uint64_t bytes = 0;        // of its text
  std::string hash;          // xxh3-64 of its text, hex
  uint64_t first_token = 0;  // where its tokens start in the stream
  uint64_t tokens = 0;       // its tokens (the header line included)
};

// Where a chunk came from: the document and the byte offset of its first
// token's text in that document (for chunks before any document: -1).
struct ChunkSource {
  int64_t document = -1;
  uint64_t offset = 0;
};

}  // namespace landmark
