// Tokenizer: the encode pipeline of `tokenizers` (added tokens, normalizer,
// added tokens again in normalized text, pre-tokenizer, model,
// post-processor), decoding, and the streaming decoder.

#include <algorithm>
#include <cstdint>
#include <filesystem>

#include "landmark/error.h"
#include "src/tokenizer/tokenizer_impl.h"
#include "src/tokenizer/unicode.h"

namespace landmark {

using tokenizer::NormalizedString;
using tokenizer::Segment;

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::FromFile(const std::string& tokenizer_json) {
  return Tokenizer(tokenizer::LoadTokenizerJson(tokenizer_json));
}

Tokenizer Tokenizer::FromDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  LANDMARK_CHECK_ARG(fs::is_directory(dir), dir + ": not a directory");
  const std::string json = (fs::path(dir) / "tokenizer.json").string();
  LANDMARK_CHECK_ARG(fs::exists(json), dir +
                                           ": no tokenizer.json (landmark reads the Hugging Face `tokenizers` "
                                           "format; a SentencePiece tokenizer.model alone is not enough)");
  std::unique_ptr<Impl> impl = tokenizer::LoadTokenizerJson(json);
  tokenizer::LoadTokenizerConfig(dir, *impl);
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, const EncodeOptions& options,
                                       std::vector<size_t>* offsets) const {
  const Impl& t = *impl_;
  const size_t valid = tokenizer::ValidUtf8Prefix(text);
  LANDMARK_CHECK_ARG(valid == text.size(), "Encode: the text is not valid UTF-8 at byte " + std::to_string(valid));
  LANDMARK_CHECK_ARG(text.size() < UINT32_MAX,
                     "Encode: " + std::to_string(text.size()) + " bytes of text at once is too much (4 GiB at most)");
  std::vector<int32_t> ids;
  if (offsets != nullptr) offsets->clear();
  const auto emit = [&](int32_t id, size_t offset) {
    ids.push_back(id);
    if (offsets != nullptr) offsets->push_back(offset);
  };
  std::vector<Segment> raw, normalized;
  std::vector<NormalizedString> words;
  std::vector<tokenizer::BpeToken> tokens;
  t.added.Split(NormalizedString::Original(text), false, options.parse_special, raw);
  for (Segment& piece : raw) {
    if (piece.token >= 0) {
      emit(piece.token, piece.text.origin[0]);
      continue;
    }
    if (t.normalizer != nullptr) t.normalizer->Normalize(piece.text);
    normalized.clear();
    t.added.Split(std::move(piece.text), true, options.parse_special, normalized);
    for (Segment& segment : normalized) {
      if (segment.token >= 0) {
        emit(segment.token, segment.text.origin[0]);
        continue;
      }
      words.clear();
      words.push_back(std::move(segment.text));
      if (t.pre_tokenizer != nullptr) t.pre_tokenizer->PreTokenize(words);
      for (const NormalizedString& word : words) {
        if (word.empty()) continue;
        tokens.clear();
        t.model->Tokenize(word.text, tokens);
        for (const tokenizer::BpeToken& token : tokens) emit(token.id, word.origin[token.begin]);
      }
    }
  }
  if (options.add_special && t.post_processor != nullptr) t.post_processor->Process(ids, offsets, text.size());
  return ids;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids, bool skip_special) const {
  const Impl& t = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    // An added token decodes as it is matched (normalized, if it is), as in `tokenizers`.
    const tokenizer::AddedToken* added = t.added.Find(id);
    const std::string* s = added != nullptr ? &added->matched : t.model->TokenString(id);
    LANDMARK_CHECK_ARG(s != nullptr, "Decode: id " + std::to_string(id) + " is not in the vocabulary of " + t.path);
    if (skip_special && t.added.IsSpecialContent(*s)) continue;
    tokens.push_back(*s);
  }
  std::string text;
  if (t.decoder == nullptr) {  // `tokenizers` joins the tokens with spaces
    for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
    return text;
  }
  t.decoder->DecodeChain(tokens);
  for (const std::string& token : tokens) text += token;
  return text;
}

size_t Tokenizer::vocab_size() const { return static_cast<size_t>(impl_->end_id); }

std::string Tokenizer::TokenString(int32_t id) const {
  if (const tokenizer::AddedToken* added = impl_->added.Find(id)) return added->content;
  const std::string* s = impl_->model->TokenString(id);
  LANDMARK_CHECK_ARG(s != nullptr, "id " + std::to_string(id) + " is not in the vocabulary of " + impl_->path);
  return *s;
}

int32_t Tokenizer::TokenId(std::string_view token) const {
  const int32_t added = impl_->added.TokenId(token);
  return added >= 0 ? added : impl_->model->TokenId(token);
}

bool Tokenizer::IsSpecial(int32_t id) const {
  const tokenizer::AddedToken* added = impl_->added.Find(id);
  return added != nullptr && added->special;
}

int32_t Tokenizer::bos_id() const { return impl_->bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->eos_id; }
const std::string& Tokenizer::bos_token() const { return impl_->bos_token; }
const std::string& Tokenizer::eos_token() const { return impl_->eos_token; }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
const std::string& Tokenizer::path() const { return impl_->path; }

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {}

namespace {
bool EndsWithReplacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}
}  // namespace

// `tokenizers`' step_decode_stream: decode the window; when it grew past
// the text already returned and does not end in U+FFFD (an incomplete
// byte sequence so far), return the growth and slide the window so that
// it starts at the ids of the text just returned (their context: the
// leading space SentencePiece's decoder strips from a first token).
std::string StreamDecoder::Next(int32_t id) {
  if (prefix_.empty() && !ids_.empty()) {
    std::string prefix = tokenizer_.Decode(ids_, skip_special_);
    if (!EndsWithReplacement(prefix)) {
      prefix_ = std::move(prefix);
      prefix_index_ = ids_.size();
    }
  }
  ids_.push_back(id);
  const std::string text = tokenizer_.Decode(ids_, skip_special_);
  if (text.size() <= prefix_.size() || EndsWithReplacement(text)) return "";
  // The window may decode its earlier ids differently now (ByteFallback
  // turns a whole run of byte tokens that is not UTF-8 into U+FFFDs, so
  // random bytes can undo a character returned before): `tokenizers` fails
  // there; landmark returns the new ids' own text.
  std::string piece = text.compare(0, prefix_.size(), prefix_) == 0 ? text.substr(prefix_.size()) : DecodePending();
  const size_t new_prefix_index = ids_.size() - prefix_index_;
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<ptrdiff_t>(prefix_index_));
  prefix_ = tokenizer_.Decode(ids_, skip_special_);
  prefix_index_ = new_prefix_index;
  return piece;
}

std::string StreamDecoder::DecodePending() const {
  return tokenizer_.Decode(std::vector<int32_t>(ids_.begin() + static_cast<ptrdiff_t>(prefix_index_), ids_.end()),
                           skip_special_);
}

std::string StreamDecoder::Flush() {
  const std::string text = tokenizer_.Decode(ids_, skip_special_);
  // Incomplete bytes after the text returned can change how the window
  // decodes (ByteFallback turns a whole invalid run into U+FFFDs): then the
  // ids not yet returned are decoded on their own.
  std::string rest = text.compare(0, prefix_.size(), prefix_) == 0 ? text.substr(std::min(prefix_.size(), text.size()))
                                                                   : DecodePending();
  ids_.clear();
  prefix_.clear();
  prefix_index_ = 0;
  return rest;
}

}  // namespace landmark
