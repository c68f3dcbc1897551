// LlmAnswerer: a question continues the stored stream through the same
// retrieval attention, then the answer is generated token by token.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>

#include "landmark/error.h"
#include "landmark/llm_store.h"
#include "src/llm/library.h"
#include "src/llm/model_access.h"
#include "src/llm/rope.h"
#include "src/llm/store_attention.h"
#include "src/llm/transformer.h"

namespace landmark::llm {

struct LlmAnswerer::Impl {
  const LlmModel& model;
  Tokenizer tokenizer;
  std::string dir;
  StoreReader reader;
  LlmRetrievalOptions retrieval;
  ChatFrame frame;
  std::vector<LlmDocument> documents;

  Impl(const LlmModel& m, const std::string& d, const LlmRetrievalOptions& o)
      : model(m), tokenizer(Tokenizer::FromDirectory(m.config().dir)), dir(d), reader(StoreReader::Open(d)) {
    CheckModel(reader.info(), model);
    frame = ChatFrame::FromMetadata(reader.info());
    retrieval = o.Resolved(model, reader.shape().chunk_size);
    documents = ParseDocuments(reader.attachment(kDocumentsAttachment), dir);
  }

  StoreAttentionOptions AttentionOptions() const { return AttentionOptionsOf(retrieval); }

  std::vector<int32_t> QuestionTokens(std::string_view question) const {
    const Tokenizer& t = tokenizer;
    std::vector<int32_t> ids = t.Encode(frame.question_prefix + std::string(question), {false, false});
    const std::vector<int32_t> suffix = t.Encode(frame.question_suffix, {false, true});
    ids.insert(ids.end(), suffix.begin(), suffix.end());
    return ids;
  }

  // The chunks read most while the question was read, with their documents.
  std::vector<LlmSourceUse> Sources(const std::map<uint32_t, double>& votes, size_t keep) const {
    double total = 0;
    for (const auto& [chunk, n] : votes) total += n;
    std::vector<std::pair<double, uint32_t>> ranked;
    for (const auto& [chunk, n] : votes) ranked.push_back({n, chunk});
    std::sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    std::vector<LlmSourceUse> out;
    const std::string_view sources = reader.attachment(kSourcesAttachment);
    for (size_t i = 0; i < std::min(keep, ranked.size()); ++i) {
      LlmSourceUse use;
      use.chunk = ranked[i].second;
      use.share = total > 0 ? ranked[i].first / total : 0;
      use.source = ReadSource(sources, use.chunk);
      if (use.source.document >= 0 && size_t(use.source.document) < documents.size()) {
        use.document = documents[size_t(use.source.document)].path;
      }
      use.text = std::string(reader.text(use.chunk));
      out.push_back(std::move(use));
    }
    return out;
  }
};

LlmAnswerer::LlmAnswerer(const LlmModel& model, const std::string& dir, const LlmRetrievalOptions& options)
    : impl_(std::make_unique<Impl>(model, dir, options)) {}
LlmAnswerer::~LlmAnswerer() = default;
LlmAnswerer::LlmAnswerer(LlmAnswerer&&) noexcept = default;

const StoreReader& LlmAnswerer::store() const { return impl_->reader; }

std::vector<int32_t> LlmAnswerer::QuestionTokens(std::string_view question) const {
  return impl_->QuestionTokens(question);
}

std::vector<int32_t> LlmAnswerer::StoredTokens() const {
  const std::string_view bytes = impl_->reader.attachment(kTokensAttachment);
  std::vector<int32_t> ids(bytes.size() / sizeof(uint32_t));
  std::memcpy(ids.data(), bytes.data(), ids.size() * sizeof(uint32_t));
  return ids;
}

std::vector<float> LlmAnswerer::QuestionLogits(std::string_view question) const {
  const Impl& m = *impl_;
  const std::vector<int32_t> ids = m.QuestionTokens(question);
  Rope rope(m.model.config());
  StoreAttention attention(&m.reader, ShapeOf(m.model), rope, m.AttentionOptions());
  Transformer transformer(m.model);
  std::vector<float> logits(m.model.config().vocab_size);
  transformer.Forward(ids.data(), ids.size(), m.reader.tokens(), attention, 1, logits.data());
  return logits;
}

const Tokenizer& LlmAnswerer::tokenizer() const { return impl_->tokenizer; }
const std::vector<LlmDocument>& LlmAnswerer::documents() const { return impl_->documents; }

LlmAnswer LlmAnswerer::Ask(std::string_view question, const GenerateOptions& options,
                           const std::function<bool(std::string_view)>& on_text) const {
  using Clock = std::chrono::steady_clock;
  const Impl& m = *impl_;
  const LlmModel& model = m.model;
  LlmAnswer answer;
  const std::vector<int32_t> ids = m.QuestionTokens(question);
  answer.question_tokens = ids.size();

  Rope rope(model.config());
  StoreAttention attention(&m.reader, ShapeOf(model), rope, m.AttentionOptions());
  Transformer transformer(model);
  const size_t context = TrainedContext(model);
  LANDMARK_CHECK_ARG(attention.next_frame_position() + ids.size() < context,
                     "ask: the question (" + std::to_string(ids.size()) + " tokens) after the sinks, " +
                         std::to_string(attention.selected_per_head()) + " retrieved chunks and the local window (" +
                         std::to_string(attention.next_frame_position()) + " positions) does not fit in the model's " +
                         std::to_string(context) + "-token context: use a smaller retrieval window or top_k");
  std::map<uint32_t, double> votes;
  attention.on_select = [&](size_t, size_t, const std::vector<ScoredChunk>& chosen) {
    for (const ScoredChunk& c : chosen) votes[c.chunk] += 1;
  };

  const size_t vocab = model.config().vocab_size;
  std::vector<float> logits(vocab);
  const auto start = Clock::now();
  transformer.Forward(ids.data(), ids.size(), m.reader.tokens(), attention, 1, logits.data());
  answer.prefill_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  answer.sources = m.Sources(votes, 5);
  attention.on_select = nullptr;

  const std::vector<int32_t> stops = options.stop_ids.empty() ? StopIds(model, m.tokenizer) : options.stop_ids;
  Sampler sampler(options.sampling);
  StreamDecoder decoder(m.tokenizer);
  const auto decode_start = Clock::now();
  size_t position = m.reader.tokens() + ids.size();
  while (answer.tokens.size() < options.max_tokens) {
    const int32_t token = sampler.Sample(logits.data(), vocab);
    if (options.on_token && !options.on_token(token)) break;
    if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
      answer.stopped = true;
      break;
    }
    answer.tokens.push_back(token);
    const std::string piece = decoder.Next(token);
    answer.text += piece;
    if (on_text && !piece.empty() && !on_text(piece)) break;
    if (attention.next_frame_position() + 1 >= context) break;  // the model's context is full
    transformer.Forward(&token, 1, position++, attention, 1, logits.data());
  }
  const std::string rest = decoder.Flush();
  answer.text += rest;
  if (on_text && !rest.empty()) on_text(rest);
  answer.decode_seconds = std::chrono::duration<double>(Clock::now() - decode_start).count();
  return answer;
}

}  // namespace landmark::llm
