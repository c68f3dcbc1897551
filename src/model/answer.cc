// ModelAnswerer: a question continues the ingested document; its positions
// run through the lower blocks (the document's last window from the saved
// caches) and the upper blocks (HSA over the store), then greedy decoding.
#include <algorithm>
#include <chrono>

#include "landmark/error.h"
#include "landmark/model.h"
#include "src/model/state.h"

namespace landmark {

using model::DocumentState;
using model::SwaCache;
using model::Workspace;

struct ModelAnswerer::Impl {
  const Model::Impl& m;
  StoreReader store;
  Retriever retriever;
  DocumentState state;

  Impl(const Model::Impl& model, const std::string& dir)
      : m(model), store(StoreReader::Open(dir)), retriever(store, model::HsaRetrieverConfig(model.config)) {
    const StoreShape& s = store.shape();
    const ModelConfig& c = m.config;
    LANDMARK_CHECK_ARG(s.landmark == LandmarkKind::kLearned && s.kv_heads == c.heads && s.head_dim == c.head_dim &&
                           s.chunk_size == c.chunk && s.landmark_heads == c.heads && s.landmark_dim == c.head_dim,
                       dir + ": the store's shape (chunk " + std::to_string(s.chunk_size) + ", " +
                           std::to_string(s.kv_heads) + " kv heads × d " + std::to_string(s.head_dim) + ", " +
                           Name(s.landmark) + " landmarks) is not this model's");
    state = DocumentState::Read(store, m);
    if (!state.has_upper) {  // a commit made during an ingest: computed as its end would have
      Workspace ws;
      model::UpperCaches(m, retriever, state, ws);
    }
  }

  // The longest continuation whose positions see only complete stored chunks.
  size_t MaxBytes() const {
    const size_t n = state.tokens, S = m.config.chunk;
    return m.config.window + S - 1 - n % S;
  }

  // One forward pass over `bytes` at positions first..: logits of the last
  // position (or of each when `all`).
  void Run(const std::string& bytes, size_t first, std::vector<SwaCache>& lower, std::vector<SwaCache>& upper,
           Workspace& ws, std::vector<float>& logits, bool all, model::UpperStats* stats) const {
    const size_t M = bytes.size(), D = m.config.d_model;
    std::vector<float> x(M * D);
    model::Embed(m, reinterpret_cast<const unsigned char*>(bytes.data()), M, x.data());
    model::LowerForward(m, lower, x.data(), M, ws);
    model::UpperForward(m, retriever, upper, x.data(), M, first, ws, stats);
    const size_t rows = all ? M : 1;
    logits.resize(rows * m.config.vocab);
    model::HeadForward(m, x.data() + (M - rows) * D, rows, logits.data(), ws);
  }

  std::string Checked(std::string_view text, size_t extra) const {
    const std::string bytes = DocumentBytes(text);
    LANDMARK_CHECK_ARG(extra <= MaxBytes() && bytes.size() <= MaxBytes() - extra,  // no overflow
                       "the question is too long: " + std::to_string(bytes.size()) + " bytes (+" +
                           std::to_string(extra) + " to answer); at most " + std::to_string(MaxBytes()) +
                           " fit in the model's window after this document");
    return bytes;
  }
};

ModelAnswerer::ModelAnswerer(const Model& model, const std::string& dir)
    : impl_(std::make_unique<Impl>(ModelAccess::Of(model), dir)) {}
ModelAnswerer::~ModelAnswerer() = default;
ModelAnswerer::ModelAnswerer(ModelAnswerer&&) noexcept = default;
const StoreReader& ModelAnswerer::store() const { return impl_->store; }

ModelAnswer ModelAnswerer::Ask(std::string_view question, size_t max_bytes) const {
  const Impl& a = *impl_;
  const auto start = std::chrono::steady_clock::now();
  std::string bytes = a.Checked(question, max_bytes);
  LANDMARK_CHECK_ARG(!bytes.empty(), "the question is empty");
  std::vector<SwaCache> lower = a.state.lower, upper = a.state.upper;
  Workspace ws;
  std::vector<float> logits;
  model::UpperStats stats;
  stats.landmark_chunk_bytes = a.store.shape().landmark_bytes_per_chunk();
  ModelAnswer answer;
  size_t first = a.state.tokens;
  while (true) {
    a.Run(bytes, first, lower, upper, ws, logits, false, &stats);
    ++answer.steps;
    if (answer.steps == 1) {
      answer.chunks = std::move(stats.last_chunks);
      std::sort(answer.chunks.begin(), answer.chunks.end());
      answer.chunks.erase(std::unique(answer.chunks.begin(), answer.chunks.end()), answer.chunks.end());
      stats.record_chunks = false;
    }
    const size_t next = size_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (next == '\n') {
      answer.stopped = true;
      break;
    }
    answer.text += char(next);
    if (answer.text.size() >= max_bytes) break;
    first += bytes.size();
    bytes.assign(1, char(next));
  }
  answer.bytes_touched = stats.bytes_touched;
  answer.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return answer;
}

std::vector<float> ModelAnswerer::Logits(std::string_view text) const {
  const Impl& a = *impl_;
  const std::string bytes = a.Checked(text, 0);
  std::vector<SwaCache> lower = a.state.lower, upper = a.state.upper;
  Workspace ws;
  std::vector<float> logits;
  if (!bytes.empty()) a.Run(bytes, a.state.tokens, lower, upper, ws, logits, true, nullptr);
  return logits;
}

std::vector<float> SequenceLogits(const Model& model, std::string_view bytes, const std::string& scratch_dir,
                                  size_t segment_tokens) {
  const Model::Impl& m = ModelAccess::Of(model);
  const size_t D = m.config.d_model, V = m.config.vocab;
  std::vector<float> h(bytes.size() * D);
  ModelIngestOptions options;
  options.segment_tokens = segment_tokens;
  options.keep_newlines = true;
  options.dtype = DType::kF32;
  {
    ModelIngest ingest = ModelIngest::Create(model, scratch_dir, options);
    ingest.on_lower_output = [&](const float* x, size_t tokens, size_t first) {
      std::copy_n(x, tokens * D, h.begin() + first * D);
    };
    ingest.Add(bytes);
    ingest.Finish();
  }
  const StoreReader store = StoreReader::Open(scratch_dir);
  const Retriever retriever(store, model::HsaRetrieverConfig(m.config));
  std::vector<SwaCache> upper(m.upper.size());
  Workspace ws;
  std::vector<float> logits(bytes.size() * V);
  for (size_t first = 0; first < bytes.size(); first += segment_tokens) {
    const size_t M = std::min(segment_tokens, bytes.size() - first);
    model::UpperForward(m, retriever, upper, h.data() + first * D, M, first, ws);
    model::HeadForward(m, h.data() + first * D, M, logits.data() + first * V, ws);
  }
  return logits;
}

}  // namespace landmark
