// ModelIngest: documents through the lower blocks in segments into a chunk
// store (K/V per head, learned landmarks), then the state answering needs.
#include <chrono>
#include <filesystem>
#include <future>

#include "landmark/error.h"
#include "landmark/model.h"
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

    WaitForWrite();
    write_k.swap(k);
    write_v.swap(v);
    write_landmarks.swap(landmarks);
    writing = std::async(std::launch::async, [this, M, chunks] {
      TokenBatch batch;
      batch.tokens = M;
      batch.keys = write_k.data();
      batch.values = write_v.data();
      batch.dtype = DType::kF32;
      batch.landmarks = write_landmarks.data();
      batch.landmark_chunks = chunks;
      batch.landmark_dtype = DType::kF32;
      writer.Append(batch);
    });

    // The last lower outputs, for the upper caches at Finish.
    const size_t keep = std::min(TailRows(), state.h_rows + M), from_old = keep - std::min(keep, M);
    std::vector<float> tail(keep * D);
    std::copy_n(state.h_tail.end() - from_old * D, from_old * D, tail.begin());
    std::copy_n(x.end() - (keep - from_old) * D, (keep - from_old) * D, tail.begin() + from_old * D);
    state.h_tail.swap(tail);
    state.h_rows = keep;
    state.tokens += M;
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

  // Upper blocks over the document's tail, block j on the positions whose
  // outputs block j+1 (or a question) needs: their caches become exact.
  void UpperCaches() {
    const size_t D = this->D(), W = m.config.window, u = m.upper.size();
    state.upper.assign(u, SwaCache());
    if (state.h_rows == 0) return;
    const StoreReader reader = StoreReader::Open(writer.path());
    const Retriever retriever(reader, model::HsaRetrieverConfig(m.config));
    std::vector<float> xs = state.h_tail, mem(state.h_rows * D);
    size_t rows = state.h_rows, first = state.tokens - rows, offset = 0;
    for (size_t j = 0; j < u; ++j) {
      model::UpperBlockForward(m, j, retriever, state.upper[j], xs.data() + offset * D, rows, first,
                               mem.data() + offset * D, ws, nullptr);
      const size_t keep = std::min(rows, (u - 1 - j) * (W - 1)), drop = rows - keep;
      offset += drop;
      first += drop;
      rows = keep;
    }
  }
};

ModelIngest::ModelIngest(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelIngest::ModelIngest(ModelIngest&&) noexcept = default;
ModelIngest::~ModelIngest() {
  if (impl_ && impl_->writing.valid()) impl_->writing.wait();  // errors there surface in Finish only
}

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
  store.commit_every = options.commit_every;
  store.metadata = options.metadata;
  store.metadata["encoder"] = "model";
  store.metadata["model"] = std::filesystem::path(model.path()).filename().string();
  store.metadata["model_digest"] = model.digest();
  auto impl = std::make_unique<Impl>(model.impl(), options, StoreWriter::Create(dir, store));
  impl->state.digest = model.digest();
  impl->state.lower.assign(c.lower, SwaCache());
  impl->state.partial_sum.assign(c.d_model, 0.0f);
  return ModelIngest(std::move(impl));
}

ModelIngest ModelIngest::Append(const Model& model, const std::string& dir, const ModelIngestOptions& options) {
  const StoreInfo info = ReadStoreInfo(dir);
  auto it = info.metadata.find("model_digest");
  LANDMARK_CHECK_ARG(it != info.metadata.end(), dir + ": not a store the model wrote (encoder " +
                                                    (info.metadata.count("encoder") ? info.metadata.at("encoder") : "?") +
                                                    "); give a new --out");
  DocumentState state = DocumentState::Read(dir, model.impl(), info.tokens);
  auto impl = std::make_unique<Impl>(model.impl(), options, StoreWriter::Append(dir));
  impl->state = std::move(state);
  return ModelIngest(std::move(impl));
}

void ModelIngest::Add(std::string_view text) {
  LANDMARK_CHECK_ARG(!impl_->finished, "model ingest: Add after Finish");
  if (impl_->options.keep_newlines) {
    impl_->pending += text;  // bytes past the vocab become '?' in Embed
  } else {
    impl_->pending += DocumentBytes(text);
  }
  impl_->Flush(*this, false);
}

void ModelIngest::Finish() {
  if (impl_->finished) return;
  impl_->Flush(*this, true);
  impl_->WaitForWrite();
  impl_->writer.Commit();
  impl_->UpperCaches();
  impl_->state.Write(impl_->writer.path(), impl_->m.config);
  impl_->writer.Close();
  impl_->finished = true;
}

uint64_t ModelIngest::tokens() const { return impl_->state.tokens + impl_->pending.size(); }
uint64_t ModelIngest::processed_tokens() const { return impl_->state.tokens; }
double ModelIngest::lower_seconds() const { return impl_->lower_seconds; }
const std::string& ModelIngest::path() const { return impl_->writer.path(); }

}  // namespace landmark
