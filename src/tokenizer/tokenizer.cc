// Tokenizer: tokenizer.json's pipeline as `tokenizers` runs it:
//   added tokens matched in the raw text (leftmost-longest; lstrip, rstrip,
//   single_word), normalizer on the rest, normalized added tokens, then the
//   pre-tokenizer, BPE per pre-token, the post-processor (BOS, ...).
// Decoding maps ids to token strings through the decoder.
#include "landmark/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "landmark/error.h"
#include "src/tokenizer/bpe.h"
#include "src/tokenizer/components.h"

namespace landmark {

using tokenizer::Piece;
using json = nlohmann::json;

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LANDMARK_CHECK_ARG(in.good(), path + ": cannot read");
  std::ostringstream s;
  s << in.rdbuf();
  LANDMARK_CHECK_ARG(!in.bad(), path + ": read error");
  return s.str();
}

json ParseJson(const std::string& text, const std::string& where) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    LANDMARK_THROW(where + ": not valid JSON (" + e.what() + ")");
  }
}

bool IsWordChar(char32_t c) {
  return c == '_' || (c < 0x80 ? std::isalnum(int(c)) != 0 : !tokenizer::IsWhitespace(c));
}

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false, lstrip = false, rstrip = false, single_word = false, normalized = false;
};

// The post-processor's additions for one sequence: ids before and after it.
struct PostProcessor {
  std::vector<int32_t> before, after;
};

void ParsePostProcessor(const json& j, const std::string& where, PostProcessor& out) {
  if (j.is_null()) return;
  const std::string type = tokenizer::JsonString(j, "type", where);
  const std::string at = where + " (post_processor " + type + ")";
  if (type == "ByteLevel") return;  // offsets only
  if (type == "Sequence") {
    const json& list = tokenizer::JsonMember(j, "processors", at);
    LANDMARK_CHECK_ARG(list.is_array(), at + ": 'processors' must be a list");
    for (const json& p : list) ParsePostProcessor(p, where, out);
    return;
  }
  if (type == "TemplateProcessing") {
    const json& single = tokenizer::JsonMember(j, "single", at);
    const json& specials = tokenizer::JsonMember(j, "special_tokens", at);
    LANDMARK_CHECK_ARG(single.is_array() && specials.is_object(), at + ": 'single' must be a list, 'special_tokens' an object");
    bool seen_sequence = false;
    for (const json& item : single) {
      if (item.contains("Sequence")) {
        LANDMARK_CHECK_ARG(!seen_sequence, at + ": 'single' names the sequence twice");
        seen_sequence = true;
        continue;
      }
      LANDMARK_CHECK_ARG(item.contains("SpecialToken"), at + ": 'single' items must be SpecialToken or Sequence");
      const std::string name = tokenizer::JsonString(item["SpecialToken"], "id", at);
      LANDMARK_CHECK_ARG(specials.contains(name) && specials[name].contains("ids") && specials[name]["ids"].is_array(),
                         at + ": special token '" + name + "' has no ids in 'special_tokens'");
      for (const json& id : specials[name]["ids"]) {
        LANDMARK_CHECK_ARG(id.is_number_unsigned(), at + ": special token '" + name + "' has a bad id");
        (seen_sequence ? out.after : out.before).push_back(id.get<int32_t>());
      }
    }
    LANDMARK_CHECK_ARG(seen_sequence, at + ": 'single' does not name the sequence ($A)");
    return;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    auto id_of = [&](const char* key) {
      const json& pair = tokenizer::JsonMember(j, key, at);
      LANDMARK_CHECK_ARG(pair.is_array() && pair.size() == 2 && pair[1].is_number_unsigned(),
                         at + ": '" + key + "' must be [token, id]");
      return pair[1].get<int32_t>();
    };
    out.before.push_back(id_of("cls"));
    out.after.push_back(id_of("sep"));
    return;
  }
  LANDMARK_THROW(where + ": post_processor type '" + type +
                 "' is not supported (TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence)");
}

// The token text in tokenizer_config.json: a string or {"content": ...}.
std::string TokenField(const json& config, const char* key, const std::string& where) {
  if (!config.contains(key) || config[key].is_null()) return "";
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  LANDMARK_CHECK_ARG(v.is_object() && v.contains("content") && v["content"].is_string(),
                     where + ": '" + key + "' must be a string or {\"content\": ...}");
  return v["content"].get<std::string>();
}

}  // namespace

struct Tokenizer::Impl {
  std::string path;
  std::unique_ptr<tokenizer::Normalizer> normalizer;
  std::unique_ptr<tokenizer::PreTokenizer> pre_tokenizer;
  std::unique_ptr<tokenizer::Decoder> decoder;
  std::unique_ptr<tokenizer::Bpe> model;
  PostProcessor post;
  std::vector<AddedToken> added;            // longest first
  std::map<int32_t, size_t> added_by_id;    // id -> index in `added`
  size_t max_added = 0;
  std::string bos, eos, chat_template;
  int32_t bos_id = -1, eos_id = -1;

  // Splits `piece` on the added tokens whose `normalized` flag is `normalized`:
  // text pieces go to `text` (in order, with an id of -1 in `ids`), tokens to `ids`.
  void SplitAdded(const Piece& piece, bool normalized, bool parse_special, std::vector<int32_t>& ids,
                  std::vector<size_t>& offsets, std::vector<Piece>& texts, std::vector<int>& order) const {
    const std::string& s = piece.text;
    size_t done = 0, i = 0;
    auto emit_text = [&](size_t b, size_t e) {
      if (e <= b) return;
      texts.push_back(piece.Slice(b, e));
      order.push_back(int(texts.size()) - 1);
    };
    while (i < s.size()) {
      const AddedToken* match = nullptr;
      if (!added.empty()) {
        for (const AddedToken& t : added) {  // longest first: the first that matches is the longest
          if (t.normalized != normalized || t.content.size() > s.size() - i) continue;
          if (s.compare(i, t.content.size(), t.content) == 0) {
            match = &t;
            break;
          }
        }
      }
      if (match == nullptr) {
        i += tokenizer::Utf8Length(static_cast<unsigned char>(s[i]));
        continue;
      }
      size_t start = i, stop = i + match->content.size();
      const bool skip = match->special && !parse_special;
      bool ok = !skip;
      if (ok && match->single_word) {
        size_t k = 0;
        bool before_word = false, after_word = false;
        if (start > 0) {
          size_t b = start - 1;
          while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
          k = b;
          before_word = IsWordChar(tokenizer::DecodeUtf8(s, k));
        }
        if (stop < s.size()) {
          k = stop;
          after_word = IsWordChar(tokenizer::DecodeUtf8(s, k));
        }
        ok = !before_word && !after_word;
      }
      if (!ok) {
        i = stop;  // the matched text stays text
        continue;
      }
      if (match->lstrip) {
        size_t b = start;
        while (b > done) {
          size_t prev = b - 1;
          while (prev > done && (static_cast<unsigned char>(s[prev]) & 0xC0) == 0x80) --prev;
          size_t k = prev;
          if (!tokenizer::IsWhitespace(tokenizer::DecodeUtf8(s, k))) break;
          b = prev;
        }
        start = b;
      }
      if (match->rstrip) {
        while (stop < s.size()) {
          size_t k = stop;
          if (!tokenizer::IsWhitespace(tokenizer::DecodeUtf8(s, k))) break;
          stop = k;
        }
      }
      emit_text(done, start);
      order.push_back(-1);
      ids.push_back(match->id);
      offsets.push_back(start < piece.origin.size() ? piece.origin[start] : 0);
      done = i = stop;
    }
    emit_text(done, s.size());
  }

};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::FromFile(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.path = path;
  const json j = ParseJson(ReadAll(path), path);
  LANDMARK_CHECK_ARG(j.is_object(), path + ": not a JSON object");
  for (const char* key : {"truncation", "padding"}) {
    LANDMARK_CHECK_ARG(!j.contains(key) || j[key].is_null(), path + ": '" + key + "' is not supported (must be null)");
  }
  m.model = std::make_unique<tokenizer::Bpe>(tokenizer::JsonMember(j, "model", path), path);
  m.normalizer = tokenizer::ParseNormalizer(j.value("normalizer", json()), path);
  m.pre_tokenizer = tokenizer::ParsePreTokenizer(j.value("pre_tokenizer", json()), path);
  m.decoder = tokenizer::ParseDecoder(j.value("decoder", json()), path);
  ParsePostProcessor(j.value("post_processor", json()), path, m.post);
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    LANDMARK_CHECK_ARG(j["added_tokens"].is_array(), path + ": 'added_tokens' must be a list");
    for (const json& t : j["added_tokens"]) {
      const std::string at = path + ": added_tokens entry " + t.dump().substr(0, 80);
      AddedToken a;
      a.content = tokenizer::JsonString(t, "content", at);
      LANDMARK_CHECK_ARG(!a.content.empty(), at + ": empty content");
      LANDMARK_CHECK_ARG(t.contains("id") && t["id"].is_number_unsigned() && t["id"].get<uint64_t>() < (1u << 24),
                         at + ": 'id' must be an id below 2^24");
      a.id = t["id"].get<int32_t>();
      auto flag = [&](const char* key, bool fallback) {
        if (!t.contains(key) || t[key].is_null()) return fallback;
        LANDMARK_CHECK_ARG(t[key].is_boolean(), at + ": '" + key + "' must be true or false");
        return t[key].get<bool>();
      };
      a.special = flag("special", false);
      a.lstrip = flag("lstrip", false);
      a.rstrip = flag("rstrip", false);
      a.single_word = flag("single_word", false);
      a.normalized = flag("normalized", !a.special);
      const int32_t in_vocab = m.model->Id(a.content);
      LANDMARK_CHECK_ARG(in_vocab < 0 || in_vocab == a.id,
                         at + ": its id differs from the vocabulary's " + std::to_string(in_vocab));
      m.max_added = std::max(m.max_added, a.content.size());
      m.added.push_back(a);
    }
  }
  std::stable_sort(m.added.begin(), m.added.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  for (size_t i = 0; i < m.added.size(); ++i) m.added_by_id[m.added[i].id] = i;
  const size_t vocab = std::max<size_t>(m.model->size(), m.added_by_id.empty() ? 0 : size_t(m.added_by_id.rbegin()->first) + 1);
  for (int32_t id : m.post.before) LANDMARK_CHECK_ARG(size_t(id) < vocab, path + ": post-processor id out of range");
  for (int32_t id : m.post.after) LANDMARK_CHECK_ARG(size_t(id) < vocab, path + ": post-processor id out of range");
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::FromDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  Tokenizer t = FromFile((fs::path(dir) / "tokenizer.json").string());
  Impl& m = *t.impl_;
  const fs::path config_path = fs::path(dir) / "tokenizer_config.json";
  if (fs::exists(config_path)) {
    const std::string where = config_path.string();
    const json c = ParseJson(ReadAll(where), where);
    LANDMARK_CHECK_ARG(c.is_object(), where + ": not a JSON object");
    m.bos = TokenField(c, "bos_token", where);
    m.eos = TokenField(c, "eos_token", where);
    if (c.contains("chat_template") && !c["chat_template"].is_null()) {
      const json& ct = c["chat_template"];
      if (ct.is_string()) {
        m.chat_template = ct.get<std::string>();
      } else {
        LANDMARK_CHECK_ARG(ct.is_array(), where + ": 'chat_template' must be a string or a list of {name, template}");
        for (const json& entry : ct) {
          if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
              entry["template"].is_string()) {
            m.chat_template = entry["template"].get<std::string>();
          }
        }
      }
    }
  }
  const fs::path jinja = fs::path(dir) / "chat_template.jinja";
  if (fs::exists(jinja)) m.chat_template = ReadAll(jinja.string());
  m.bos_id = m.bos.empty() ? -1 : t.TokenId(m.bos);
  m.eos_id = m.eos.empty() ? -1 : t.TokenId(m.eos);
  return t;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, const EncodeOptions& options,
                                       std::vector<size_t>* offsets) const {
  const Impl& m = *impl_;
  LANDMARK_CHECK_ARG(text.size() < (size_t(1) << 32), "tokenizer: texts are limited to 4 GiB");
  std::vector<int32_t> ids;
  std::vector<size_t> starts;
  ids.insert(ids.end(), m.post.before.begin(), m.post.before.end());
  if (!options.add_special) ids.clear();
  starts.assign(ids.size(), 0);
  // Non-normalized added tokens on the raw text, then the normalized ones on
  // each normalized text piece.
  std::vector<Piece> raw_texts;
  std::vector<int> order;
  std::vector<int32_t> raw_ids;
  std::vector<size_t> raw_offsets;
  m.SplitAdded(Piece::Of(text, 0), false, options.parse_special, raw_ids, raw_offsets, raw_texts, order);
  size_t next_id = 0;
  for (int o : order) {
    if (o < 0) {
      ids.push_back(raw_ids[next_id]);
      starts.push_back(raw_offsets[next_id++]);
      continue;
    }
    Piece piece = std::move(raw_texts[size_t(o)]);
    if (m.normalizer) m.normalizer->Apply(piece);
    std::vector<Piece> texts;
    std::vector<int> inner;
    std::vector<int32_t> inner_ids;
    std::vector<size_t> inner_offsets;
    m.SplitAdded(piece, true, options.parse_special, inner_ids, inner_offsets, texts, inner);
    size_t k = 0;
    for (int x : inner) {
      if (x < 0) {
        ids.push_back(inner_ids[k]);
        starts.push_back(inner_offsets[k++]);
        continue;
      }
      std::vector<Piece> pieces{std::move(texts[size_t(x)])};
      if (m.pre_tokenizer) m.pre_tokenizer->Apply(pieces);
      std::vector<size_t> local;
      for (const Piece& p : pieces) {
        local.clear();
        const size_t before = ids.size();
        m.model->Tokenize(p.text, ids, local);
        for (size_t t = 0; t < ids.size() - before; ++t) starts.push_back(p.origin.empty() ? 0 : p.origin[local[t]]);
      }
    }
  }
  if (options.add_special) {
    for (int32_t id : m.post.after) {
      ids.push_back(id);
      starts.push_back(text.size());
    }
    // Tokens the post-processor put first start where the text's first token does.
    const size_t first_text = std::min(m.post.before.size(), starts.size());
    const size_t first_offset = first_text < starts.size() ? starts[first_text] : text.size();
    for (size_t i = 0; i < first_text; ++i) starts[i] = first_offset;
  }
  if (offsets) *offsets = std::move(starts);
  return ids;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids, bool skip_special) const {
  const Impl& m = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    LANDMARK_CHECK_ARG(id >= 0 && size_t(id) < vocab_size(),
                       "tokenizer: id " + std::to_string(id) + " is outside the vocabulary (" +
                           std::to_string(vocab_size()) + ")");
    auto it = m.added_by_id.find(id);
    if (it != m.added_by_id.end()) {
      if (skip_special && m.added[it->second].special) continue;
      tokens.push_back(m.added[it->second].content);
    } else {
      tokens.push_back(m.model->Token(id));
    }
  }
  if (!m.decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  m.decoder->Apply(tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

size_t Tokenizer::vocab_size() const {
  const Impl& m = *impl_;
  const size_t added = m.added_by_id.empty() ? 0 : size_t(m.added_by_id.rbegin()->first) + 1;
  return std::max(m.model->size(), added);
}

std::string Tokenizer::TokenString(int32_t id) const {
  auto it = impl_->added_by_id.find(id);
  if (it != impl_->added_by_id.end()) return impl_->added[it->second].content;
  return impl_->model->Token(id);
}

int32_t Tokenizer::TokenId(std::string_view token) const {
  for (const AddedToken& a : impl_->added) {
    if (a.content == token) return a.id;
  }
  return impl_->model->Id(token);
}

bool Tokenizer::IsSpecial(int32_t id) const {
  auto it = impl_->added_by_id.find(id);
  return it != impl_->added_by_id.end() && impl_->added[it->second].special;
}

int32_t Tokenizer::bos_id() const { return impl_->bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->eos_id; }
const std::string& Tokenizer::bos_token() const { return impl_->bos; }
const std::string& Tokenizer::eos_token() const { return impl_->eos; }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
const std::string& Tokenizer::path() const { return impl_->path; }

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {}

// `tokenizers`' DecodeStream: the text of the ids from prefix_ minus the
// text of those before read_ is what the new ids add, once it does not end
// in an incomplete character; a few ids of context keep decoders that look
// at neighbours (Strip, Metaspace) right, at O(1) cost per token.
std::string StreamDecoder::Next(int32_t id) {
  ids_.push_back(id);
  const std::vector<int32_t> context(ids_.begin() + long(prefix_), ids_.begin() + long(read_));
  const std::vector<int32_t> all(ids_.begin() + long(prefix_), ids_.end());
  const std::string before = tokenizer_.Decode(context, skip_special_);
  const std::string text = tokenizer_.Decode(all, skip_special_);
  if (text.size() <= before.size() || text.compare(0, before.size(), before) != 0) return "";
  if (text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0) return "";  // incomplete: wait
  prefix_ = read_;
  read_ = ids_.size();
  return text.substr(before.size());
}

std::string StreamDecoder::Flush() {
  if (read_ == ids_.size()) return "";
  const std::vector<int32_t> context(ids_.begin() + long(prefix_), ids_.begin() + long(read_));
  const std::vector<int32_t> all(ids_.begin() + long(prefix_), ids_.end());
  const std::string before = tokenizer_.Decode(context, skip_special_);
  const std::string text = tokenizer_.Decode(all, skip_special_);
  prefix_ = read_ = ids_.size();
  return text.size() > before.size() && text.compare(0, before.size(), before) == 0 ? text.substr(before.size()) : "";
}

}  // namespace landmark
