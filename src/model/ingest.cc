// ModelIngest: documents through the lower blocks in segments into a chunk
// store (K/V per head, learned landmarks), then the state answering needs.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>

#include "landmark/error.h"
#include "landmark/model.h"
#include "src/io/mapped_file.h"
#include "src/model/state.h"

namespace landmark {

using model::DocumentState;
using model::SwaCache;
using model::Workspace;

struct ModelIngest::Impl {
  const Model::Impl& m;
  ModelIngestOptions options;
  StoreWriter writer;
  DocumentState state;
  std::string pending;  // bytes not yet through the lower blocks
  bool finished = false;
  bool legacy_state = false;  // read from a loose model-state.safetensors (removed at Finish)
  uint64_t skip = 0, resumed = 0;  // of a resumed run: bytes still to skip, and in all
  uint64_t position = 0;           // bytes of this run's input seen (skipped ones too)
  size_t uncommitted_chunks = 0;
  double lower_seconds = 0;
  Workspace ws;
  std::vector<float> x, mrows, k, v, means, landmarks;
  // The previous segment's K/V and landmarks go to the store on another
  // thread (f16 conversion, checksums, writes, fsync at commits) while the
  // next segment computes.
  std::vector<float> write_k, write_v, write_landmarks;
  std::future<void> writing;

  void WaitForWrite() {
    if (writing.valid()) writing.get();  // rethrows a write error
  }

  Impl(const Model::Impl& model, const ModelIngestOptions& o, StoreWriter w)
      : m(model), options(o), writer(std::move(w)) {}

  size_t D() const { return m.config.d_model; }

  // Makes the state durable with the K/V written so far: one manifest commit.
  void CommitState(const std::string& snapshot) {
    writer.SetAttachment(model::kStateAttachment, snapshot);
    writer.Commit();
  }
  size_t TailRows() const { return m.upper.size() * (m.config.window - 1); }

  void Segment(const unsigned char* bytes, size_t M, ModelIngest& owner) {
    const auto start = std::chrono::steady_clock::now();
    const size_t D = this->D(), S = m.config.chunk;
    x.resize(M * D);
    mrows.resize(M * D);
    k.resize(M * D);
    v.resize(M * D);
    model::Embed(m, bytes, M, x.data());
    model::LowerForward(m, state.lower, x.data(), M, ws);
    if (owner.on_lower_output) owner.on_lower_output(x.data(), M, state.tokens);
    model::MemoryForward(m, x.data(), M, mrows.data(), k.data(), v.data());
    // Chunk means: the partial chunk's running sum continues across segments.
    means.clear();
    for (size_t t = 0; t < M; ++t) {
      for (size_t i = 0; i < D; ++i) state.partial_sum[i] += mrows[t * D + i];
      if (++state.partial_rows == S) {
        for (size_t i = 0; i < D; ++i) means.push_back(state.partial_sum[i] / float(S));
        std::fill(state.partial_sum.begin(), state.partial_sum.end(), 0.0f);
        state.partial_rows = 0;
      }
    }
    const size_t chunks = means.size() / D;
    landmarks.resize(means.size());
    if (chunks) model::LandmarkForward(m, means.data(), chunks, landmarks.data());
    lower_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // The last lower outputs, for the upper caches.
    const size_t keep = std::min(TailRows(), state.h_rows + M), from_old = keep - std::min(keep, M);
    std::vector<float> tail(keep * D);
    std::copy_n(state.h_tail.end() - from_old * D, from_old * D, tail.begin());
    std::copy_n(x.end() - (keep - from_old) * D, (keep - from_old) * D, tail.begin() + from_old * D);
    state.h_tail.swap(tail);
    state.h_rows = keep;
    state.tokens += M;
    state.has_upper = false;  // stale from here on; computed again at Finish (or by a reader)
    state.upper.clear();

    // Every commit_every chunks, the state after this segment is committed
    // with this segment's K/V.
    uncommitted_chunks += chunks;
    std::string snapshot;
    if (options.commit_every && uncommitted_chunks >= options.commit_every) {
      snapshot = state.Serialize(m.config);
      uncommitted_chunks = 0;
    }
    WaitForWrite();
    write_k.swap(k);
    write_v.swap(v);
    write_landmarks.swap(landmarks);
    const uint64_t first = state.tokens - M;
    writing = std::async(std::launch::async, [this, M, chunks, first, snapshot = std::move(snapshot)] {
      TokenBatch batch;
      batch.tokens = M;
      batch.keys = write_k.data();
      batch.values = write_v.data();
      batch.dtype = DType::kF32;
      batch.landmarks = write_landmarks.data();
      batch.landmark_chunks = chunks;
      batch.landmark_dtype = DType::kF32;
      batch.source.keys = batch.source.values = batch.source.landmarks = "the model's chunk memory";
      batch.source.first_token = first;
      writer.Append(batch);
      if (!snapshot.empty()) CommitState(snapshot);
    });
  }


  void Flush(ModelIngest& owner, bool all) {
    const size_t M = options.segment_tokens;
    size_t done = 0;
    while (pending.size() - done >= M || (all && done < pending.size())) {
      const size_t n = std::min(M, pending.size() - done);
      Segment(reinterpret_cast<const unsigned char*>(pending.data()) + done, n, owner);
      done += n;
    }
    pending.erase(0, done);
  }

};

ModelIngest::ModelIngest(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelIngest::ModelIngest(ModelIngest&&) noexcept = default;
ModelIngest::~ModelIngest() {
  if (!impl_) return;
  if (impl_->writing.valid()) impl_->writing.wait();  // errors there surface in Finish only
  // Unfinished: K/V appended since the last commit have no state to go with
  // them; they are dropped (the store stays at its last commit).
  if (!impl_->finished) impl_->writer.Abandon();
}

namespace {

// The state of an empty document: a new run labelled `run`.
DocumentState EmptyState(const Model& model, const std::string& run) {
  DocumentState s;
  s.digest = model.digest();
  s.lower.assign(model.config().lower, SwaCache());
  s.partial_sum.assign(model.config().d_model, 0.0f);
  s.run = run;
  s.run_finished = false;
  return s;
}

}  // namespace

ModelIngest ModelIngest::Create(const Model& model, const std::string& dir, const ModelIngestOptions& options) {
  const ModelConfig& c = model.config();
  LANDMARK_CHECK_ARG(options.segment_tokens > 0, "model ingest: segment_tokens must be positive");
  StoreOptions store;
  store.shape.chunk_size = c.chunk;
  store.shape.kv_heads = c.heads;
  store.shape.head_dim = c.head_dim;
  store.shape.dtype = options.dtype;
  store.shape.landmark = LandmarkKind::kLearned;
  store.shape.landmark_heads = c.heads;
  store.shape.landmark_dim = c.head_dim;
  store.commit_every = 0;  // the ingest commits, each time with its state
  store.metadata = options.metadata;
  store.metadata["encoder"] = "model";
  store.metadata["model"] = std::filesystem::path(model.path()).filename().string();
  store.metadata["model_digest"] = model.digest();
  auto impl = std::make_unique<Impl>(ModelAccess::Of(model), options, StoreWriter::Create(dir, store));
  impl->state = EmptyState(model, options.run);
  impl->CommitState(impl->state.Serialize(c));  // from here on every commit answers and resumes
  return ModelIngest(std::move(impl));
}

ModelIngest ModelIngest::Append(const Model& model, const std::string& dir, const ModelIngestOptions& options) {
  const StoreInfo info = ReadStoreInfo(dir);
  auto it = info.metadata.find("model_digest");
  LANDMARK_CHECK_ARG(it != info.metadata.end(), dir + ": not a store the model wrote (encoder " +
                                                    (info.metadata.count("encoder") ? info.metadata.at("encoder") : "?") +
                                                    "); ingest into a new directory");
  StoreWriter writer = StoreWriter::Append(dir, 0);  // the ingest commits, each time with its state
  const uint64_t tokens = writer.info().tokens;
  DocumentState state;
  bool legacy = false;
  if (writer.info().attachments.count(model::kStateAttachment)) {
    // Read back through the writer: its checksums are checked, so damage is
    // never carried into the next commit.
    state = DocumentState::Parse(writer.attachment(model::kStateAttachment),
                                 dir + ": attachment " + model::kStateAttachment, ModelAccess::Of(model), tokens);
  } else if (const std::string path = DocumentState::LegacyPath(dir); !std::filesystem::exists(path)) {
    // Killed while being created, before the first commit: still empty.
    LANDMARK_CHECK_ARG(tokens == 0, dir + ": holds " + std::to_string(tokens) +
                                        " tokens but no model state; ingest into a new store");
    state = EmptyState(model, "");
  } else {
    const MappedFile file(path, /*follow_symlinks=*/false);
    state = DocumentState::Parse(std::string_view(reinterpret_cast<const char*>(file.data()), file.size()), path,
                                 ModelAccess::Of(model), tokens);
    legacy = true;
  }
  auto impl = std::make_unique<Impl>(ModelAccess::Of(model), options, std::move(writer));
  impl->legacy_state = legacy;
  if (!options.run.empty() && !state.run_finished && state.run == options.run) {
    impl->skip = impl->resumed = state.tokens - state.run_first;  // resume where its last commit ended
  } else {
    state.run = options.run;
    state.run_first = state.tokens;
    state.run_finished = false;
  }
  impl->state = std::move(state);
  return ModelIngest(std::move(impl));
}

void ModelIngest::Add(std::string_view text) {
  LANDMARK_CHECK_ARG(!impl_->finished, "model ingest: Add after Finish");
  Impl& m = *impl_;
  m.position += text.size();
  if (m.skip >= text.size()) {  // a resumed run: already in the store
    m.skip -= text.size();
    return;
  }
  text.remove_prefix(size_t(m.skip));
  m.skip = 0;
  if (m.options.keep_newlines) {
    m.pending += text;  // bytes past the vocab become '?' in Embed
  } else {
    m.pending += DocumentBytes(text);
  }
  m.Flush(*this, false);
}

void ModelIngest::BeginDocument() {
  if (impl_->state.run_first + impl_->position > 0) Add(" ");  // documents follow one another
}

uint64_t ModelIngest::resumed_tokens() const { return impl_->resumed; }

void ModelIngest::Finish() {
  if (impl_->finished) return;
  Impl& m = *impl_;
  LANDMARK_CHECK_ARG(m.skip == 0, m.writer.path() + ": the input ended " + std::to_string(m.skip) +
                                      " bytes before the interrupted ingest it resumes (were the inputs changed?); "
                                      "nothing was added");
  m.Flush(*this, true);
  m.WaitForWrite();
  m.state.has_upper = false;
  m.CommitState(m.state.Serialize(m.m.config));  // the K/V, with the state they need
  {
    const StoreReader reader = StoreReader::Open(m.writer.path());
    const Retriever retriever(reader, model::HsaRetrieverConfig(m.m.config));
    model::UpperCaches(m.m, retriever, m.state, m.ws);
  }
  m.state.run_finished = true;
  m.CommitState(m.state.Serialize(m.m.config));  // and the upper caches: questions run only their positions
  m.writer.Close();
  if (m.legacy_state) {
    std::error_code ignored;  // a leftover is harmless: the attachment is read first
    std::filesystem::remove(DocumentState::LegacyPath(m.writer.path()), ignored);
  }
  m.finished = true;
}

uint64_t ModelIngest::tokens() const { return impl_->state.tokens + impl_->pending.size(); }
uint64_t ModelIngest::processed_tokens() const { return impl_->state.tokens; }
double ModelIngest::lower_seconds() const { return impl_->lower_seconds; }
const std::string& ModelIngest::path() const { return impl_->writer.path(); }

}  // namespace landmark
