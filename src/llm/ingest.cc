// LlmIngest: documents through a pretrained transformer into the store,
// segment by segment; each segment's K/V, chunk texts, chunk sources and
// newly started documents are committed together (docs/llm.md).
#include <xxhash.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "landmark/error.h"
#include "landmark/llm_store.h"
#include "src/io/text_files.h"
#include "src/llm/library.h"
#include "src/llm/model_access.h"
#include "src/llm/rope.h"
#include "src/llm/store_attention.h"
#include "src/llm/transformer.h"

namespace landmark::llm {

namespace {

std::string HashHex(std::string_view text) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  return hex;
}

// Offset of the first byte that is not valid UTF-8, or npos.
size_t InvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    }
    if (n == 2 && c < 0xC2) return i;  // overlong
    if (n == 3) {
      const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) return i;  // overlong, surrogate
    }
    if (n == 4) {
      const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90) || c > 0xF4) return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

}  // namespace

LlmRetrievalOptions LlmRetrievalOptions::Resolved(const LlmModel& model, size_t chunk_size) const {
  LlmRetrievalOptions o = *this;
  LANDMARK_CHECK_ARG(chunk_size > 0, "retrieval: chunk size 0");
  const size_t context = TrainedContext(model);
  if (o.window == 0) o.window = std::min<size_t>(4096, context / 4);
  // A sliding-window model (Mistral) sees at most its window exactly; the
  // retrieved chunks reach beyond it, as InfLLM does.
  if (SmallestWindow(model) > 0) o.window = std::min(o.window, SmallestWindow(model));
  if (o.top_k == 0) o.top_k = std::max<size_t>(1, std::min<size_t>(64, context / (4 * chunk_size)));
  LANDMARK_CHECK_ARG(o.select_block > 0, "retrieval: select_block must be positive");
  return o;
}

// Tokens waiting for a forward pass, in pieces that keep their text alive
// for the chunk texts and sources.
struct Piece {
  std::shared_ptr<const std::string> text;  // what the tokens spell
  std::vector<int32_t> ids;
  std::vector<size_t> offsets;  // where each token starts in *text
  int64_t document = -1;        // -1: the preamble
  size_t header = 0;            // bytes of *text before the document's own text
  size_t next = 0;              // first token not yet taken
};

struct LlmIngest::Impl {
  const LlmModel& model;
  Tokenizer tokenizer;
  Transformer transformer;
  LlmIngestOptions options;
  LlmRetrievalOptions retrieval;
  std::string dir;
  size_t segment = 0;
  std::unique_ptr<StoreWriter> writer;
  std::unique_ptr<StoreReader> reader;
  Rope rope;
  std::unique_ptr<StoreAttention> attention;
  ChatFrame frame;
  std::vector<LlmDocument> documents;  // committed ones and this run's
  size_t committed_documents = 0;      // of `documents`, in the store's attachment
  uint64_t committed = 0;              // tokens in the store
  uint64_t done_this_run = 0, bytes_this_run = 0;
  std::deque<Piece> pieces;
  uint64_t pending = 0;                // tokens in `pieces` not yet taken
  double seconds = 0;
  bool finished = false;
  std::chrono::steady_clock::time_point last_commit = std::chrono::steady_clock::now();

  Impl(const LlmModel& m, const LlmIngestOptions& o)
      : model(m), tokenizer(Tokenizer::FromDirectory(m.config().dir)), transformer(m), options(o), rope(m.config()) {}

  // Plans the attention against everything appended so far (the writer's
  // snapshot: a segment is read by the next one before it is durable).
  void Reopen() {
    auto next = std::make_unique<StoreReader>(writer->Snapshot());
    committed = next->tokens();
    if (!attention) {
      attention = std::make_unique<StoreAttention>(next.get(), ShapeOf(model), rope, AttentionOptions());
    } else {
      attention->Rebase(next.get());
    }
    reader = std::move(next);
  }

  // Durable: documents, sources, tokens and K/V of every segment so far.
  void Commit() {
    writer->Commit();
    last_commit = std::chrono::steady_clock::now();
  }

  StoreAttentionOptions AttentionOptions() const { return AttentionOptionsOf(retrieval); }

  // Queues `text` (tokens from `skip` on) as one piece.
  void Queue(std::shared_ptr<const std::string> text, int64_t document, size_t header, bool preamble, size_t skip) {
    Piece p;
    EncodeOptions e;
    e.add_special = preamble && frame.format == "raw";  // BOS from the post-processor when there is no template
    e.parse_special = preamble;                         // documents cannot inject control tokens
    p.ids = tokenizer.Encode(*text, e, &p.offsets);
    p.text = std::move(text);
    p.document = document;
    p.header = header;
    p.next = std::min(skip, p.ids.size());
    pending += p.ids.size() - p.next;
    if (p.next < p.ids.size()) pieces.push_back(std::move(p));
  }

  // The next T pending tokens through the model, then into the store.
  void Segment(size_t T) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<int32_t> ids;
    std::string text;
    std::vector<uint32_t> text_end;
    std::string sources;
    std::vector<std::string> started;  // document lines of documents whose first token is in this segment
    ids.reserve(T);
    while (ids.size() < T) {
      Piece& p = pieces.front();
      const uint64_t token = committed + ids.size();
      const size_t i = p.next;
      const size_t begin = p.offsets[i];
      const size_t end = std::max(begin, i + 1 < p.ids.size() ? p.offsets[i + 1] : p.text->size());
      if (token % reader->shape().chunk_size == 0) {
        LlmChunkSource s;
        s.document = p.document;
        s.offset = p.document < 0 ? begin : begin > p.header ? begin - p.header : 0;
        AppendSource(sources, s);
      }
      ids.push_back(p.ids[i]);
      text.append(*p.text, begin, end - begin);
      text_end.push_back(uint32_t(text.size()));
      if (++p.next == p.ids.size()) pieces.pop_front();
    }
    pending -= T;
    transformer.Forward(ids.data(), T, committed, *attention, 0, nullptr);
    // Documents whose first token lies in this segment are recorded with it.
    for (size_t d = committed_documents; d < documents.size(); ++d) {
      if (documents[d].first_token < committed + T) started.push_back(DocumentLine(documents[d]));
    }
    TokenBatch batch;
    batch.tokens = T;
    batch.keys = attention->pending_keys().data();
    batch.values = attention->pending_values().data();
    batch.dtype = DType::kF32;
    batch.text = text;
    batch.token_text_end = text_end.data();
    writer->Append(batch);
    if (!sources.empty()) writer->AppendAttachment(kSourcesAttachment, sources.data(), sources.size());
    std::vector<uint32_t> stream(ids.begin(), ids.end());
    writer->AppendAttachment(kTokensAttachment, stream.data(), stream.size() * sizeof(uint32_t));
    for (const std::string& line : started) {
      writer->AppendAttachment(kDocumentsAttachment, line.data(), line.size());
      ++committed_documents;
    }
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - last_commit).count() >= options.commit_seconds) {
      Commit();
    }
    Reopen();
    done_this_run += T;
    bytes_this_run += text.size();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // Runs every full segment (all pending tokens when `all`).
  void Flush(bool all) {
    while (pending >= segment || (all && pending > 0)) {
      Segment(std::min<uint64_t>(segment, pending));
      if (options.progress && !options.progress(done_this_run, bytes_this_run)) {
        Commit();
        LANDMARK_THROW(dir + ": ingest stopped (the store keeps the " + std::to_string(committed) +
                       " tokens so far; run the same ingest again to continue)");
      }
    }
  }
};

LlmIngest::LlmIngest(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LlmIngest::LlmIngest(LlmIngest&&) noexcept = default;
LlmIngest::~LlmIngest() = default;

LlmIngest LlmIngest::Open(const LlmModel& model, const std::string& dir, const LlmIngestOptions& options) {
  auto impl = std::make_unique<Impl>(model, options);
  Impl& m = *impl;
  m.dir = dir;
  const bool exists = std::filesystem::exists(std::filesystem::path(dir) / "manifest.json");
  if (exists) {
    const StoreInfo info = ReadStoreInfo(dir);
    CheckModel(info, model);
    m.frame = ChatFrame::FromMetadata(info);
    m.writer = std::make_unique<StoreWriter>(StoreWriter::Append(dir, 0));
    m.retrieval = options.retrieval.Resolved(model, info.shape.chunk_size);
  } else {
    LANDMARK_CHECK_ARG(options.landmark == LandmarkKind::kMean || options.landmark == LandmarkKind::kMinMax,
                       "LLM ingest: the landmarks must be mean or minmax (landmark " + std::string(Name(options.landmark)) + ")");
    m.frame = ChatFrame::Make(m.tokenizer, options.chat_format, options.system);
    const AttentionShape shape = ShapeOf(model);
    StoreOptions store;
    store.shape.chunk_size = options.chunk_size;
    store.shape.kv_heads = shape.layers * shape.kv_heads;
    store.shape.head_dim = shape.head_dim;
    store.shape.dtype = options.dtype;
    store.shape.landmark = options.landmark;
    store.commit_every = 0;  // commits at segment ends only: a resumed ingest continues at a segment boundary
    store.text = true;
    ModelToMetadata(model, store.metadata);
    m.frame.ToMetadata(store.metadata);
    m.writer = std::make_unique<StoreWriter>(StoreWriter::Create(dir, store));
    m.retrieval = options.retrieval.Resolved(model, options.chunk_size);
  }
  const size_t context = TrainedContext(model);
  m.segment = options.segment ? options.segment : std::max<size_t>(1, std::min<size_t>(1024, context / 8));
  m.Reopen();
  m.documents = ParseDocuments(m.reader->attachment(kDocumentsAttachment), dir);
  m.committed_documents = m.documents.size();
  // The preamble, or what of it a killed first run did not commit.
  auto preamble = std::make_shared<const std::string>(m.frame.preamble);
  m.Queue(preamble, -1, 0, true, m.committed);
  return LlmIngest(std::move(impl));
}

bool LlmIngest::AddFile(const std::string& path) {
  // As every text input is read (a .gz as the text it holds).
  TextPieces pieces(path, size_t(1) << 20);
  std::string text, piece;
  while (pieces.Next(piece)) text += piece;
  return AddText(path, text);
}

bool LlmIngest::AddText(const std::string& name, std::string_view text) {
  Impl& m = *impl_;
  LANDMARK_CHECK_ARG(!m.finished, m.dir + ": AddText after Finish");
  const size_t bad = InvalidUtf8(text);
  LANDMARK_CHECK_ARG(bad == std::string_view::npos,
                     name + ": not UTF-8 text (invalid byte at offset " + std::to_string(bad) + ")");
  const std::string hash = HashHex(text);
  // Already in the store: skipped, or resumed where the last commit left it.
  for (size_t i = 0; i < m.documents.size(); ++i) {
    const LlmDocument& d = m.documents[i];
    if (d.path != name || d.hash != hash) continue;
    const uint64_t end = d.first_token + d.tokens;
    const bool last = i + 1 == m.documents.size();
    if (!last || end <= m.committed + m.pending) {
      if (m.options.skip_ingested) return false;
      break;
    }
    // The document a killed run was ingesting: the rest of its tokens.
    auto piece = std::make_shared<const std::string>(DocumentHeader(name) + std::string(text) +
                                                     kDocumentTrailer);
    const uint64_t have = m.committed + m.pending - d.first_token;
    m.Queue(piece, int64_t(i), DocumentHeader(name).size(), false, have);
    m.Flush(false);
    return true;
  }
  auto piece = std::make_shared<const std::string>(DocumentHeader(name) + std::string(text) +
                                                   kDocumentTrailer);
  LlmDocument d;
  d.path = name;
  d.bytes = text.size();
  d.hash = hash;
  d.first_token = m.committed + m.pending;
  const size_t before = m.pending;
  m.Queue(piece, int64_t(m.documents.size()), DocumentHeader(name).size(), false, 0);
  d.tokens = m.pending - before;
  m.documents.push_back(d);
  m.Flush(false);
  return true;
}

void LlmIngest::Finish() {
  Impl& m = *impl_;
  if (m.finished) return;
  m.Flush(true);
  m.Commit();
  m.writer->Close();
  m.finished = true;
}

uint64_t LlmIngest::tokens() const { return impl_->committed; }
double LlmIngest::seconds() const { return impl_->seconds; }
const std::string& LlmIngest::path() const { return impl_->dir; }

}  // namespace landmark::llm
