// BPE: vocabulary and merges from tokenizer.json, byte fallback, unk fusing,
// ignore_merges, the merge loop.
#include "src/tokenizer/bpe.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <queue>

#include "landmark/error.h"
#include "src/tokenizer/text.h"

namespace landmark::tokenizer {
namespace {

using json = nlohmann::json;

constexpr size_t kCacheWordBytes = 64;    // longer words are not cached
constexpr size_t kCacheEntries = 1 << 17;  // cleared when full

uint64_t PairKey(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

}  // namespace

Bpe::Bpe(const json& model, const std::string& where) {
  const std::string at = where + " (model)";
  LANDMARK_CHECK_ARG(model.is_object(), at + ": not an object");
  const std::string type = model.value("type", std::string("BPE"));
  LANDMARK_CHECK_ARG(type == "BPE", where + ": model type '" + type + "' is not supported (BPE)");
  LANDMARK_CHECK_ARG(!model.contains("dropout") || model["dropout"].is_null() ||
                         (model["dropout"].is_number() && model["dropout"].get<double>() == 0.0),
                     at + ": BPE dropout is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    LANDMARK_CHECK_ARG(!model.contains(key) || model[key].is_null() ||
                           (model[key].is_string() && model[key].get<std::string>().empty()),
                       at + ": '" + key + "' is not supported");
  }
  auto flag = [&](const char* key) {
    if (!model.contains(key) || model[key].is_null()) return false;
    LANDMARK_CHECK_ARG(model[key].is_boolean(), at + ": '" + key + "' must be true or false");
    return model[key].get<bool>();
  };
  fuse_unk_ = flag("fuse_unk");
  byte_fallback_ = flag("byte_fallback");
  ignore_merges_ = flag("ignore_merges");

  LANDMARK_CHECK_ARG(model.contains("vocab") && model["vocab"].is_object(), at + ": 'vocab' must be an object");
  constexpr uint64_t kMaxId = uint64_t(1) << 24;
  for (const auto& [token, id] : model["vocab"].items()) {
    LANDMARK_CHECK_ARG(id.is_number_unsigned() && id.get<uint64_t>() < kMaxId,
                       at + ": vocab['" + token + "'] must be an id below 2^24, not " + id.dump());
    const int32_t i = id.get<int32_t>();
    if (size_t(i) >= tokens_.size()) tokens_.resize(size_t(i) + 1);
    LANDMARK_CHECK_ARG(tokens_[size_t(i)].empty(), at + ": id " + std::to_string(i) + " is given to two tokens");
    tokens_[size_t(i)] = token;
    vocab_.emplace(token, i);
  }
  if (model.contains("unk_token") && !model["unk_token"].is_null()) {
    LANDMARK_CHECK_ARG(model["unk_token"].is_string(), at + ": 'unk_token' must be a string");
    unk_ = Id(model["unk_token"].get<std::string>());
    LANDMARK_CHECK_ARG(unk_ >= 0, at + ": unk_token '" + model["unk_token"].get<std::string>() + "' is not in the vocab");
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_ids_[b] = Id(name);
  }
  LANDMARK_CHECK_ARG(model.contains("merges") && model["merges"].is_array(), at + ": 'merges' must be a list");
  uint32_t rank = 0;
  for (const json& m : model["merges"]) {
    std::string a, b;
    if (m.is_string()) {  // "a b"
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      LANDMARK_CHECK_ARG(space != std::string::npos && s.find(' ', space + 1) == std::string::npos,
                         at + ": merge '" + s + "' is not two tokens separated by a space");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else {
      LANDMARK_CHECK_ARG(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(),
                         at + ": merge " + m.dump() + " is not a pair of tokens");
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    }
    const int32_t ia = Id(a), ib = Id(b), merged = Id(a + b);
    LANDMARK_CHECK_ARG(ia >= 0 && ib >= 0 && merged >= 0,
                       at + ": merge '" + a + " " + b + "' uses or makes a token not in the vocab");
    merges_.emplace(PairKey(ia, ib), std::make_pair(rank++, merged));
  }
}

int32_t Bpe::Id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  return it == vocab_.end() ? -1 : it->second;
}

const std::string& Bpe::Token(int32_t id) const {
  static const std::string none;
  return id >= 0 && size_t(id) < tokens_.size() ? tokens_[size_t(id)] : none;
}

void Bpe::Tokenize(std::string_view word, std::vector<int32_t>& ids, std::vector<size_t>& starts) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const int32_t id = Id(word);
    if (id >= 0) {
      ids.push_back(id);
      starts.push_back(0);
      return;
    }
  }
  const bool cacheable = word.size() <= kCacheWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(std::string(word));
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.first.begin(), it->second.first.end());
      starts.insert(starts.end(), it->second.second.begin(), it->second.second.end());
      return;
    }
  }
  std::vector<int32_t> word_ids;
  std::vector<size_t> word_starts;
  Merge(word, word_ids, word_starts);
  ids.insert(ids.end(), word_ids.begin(), word_ids.end());
  starts.insert(starts.end(), word_starts.begin(), word_starts.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kCacheEntries) cache_.clear();
    cache_.emplace(std::string(word), std::make_pair(std::move(word_ids), std::move(word_starts)));
  }
}

void Bpe::Merge(std::string_view word, std::vector<int32_t>& ids, std::vector<size_t>& starts) const {
  struct Symbol {
    int32_t id;
    size_t start;
    long prev, next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](int32_t id, size_t start) {
    symbols.push_back({id, start, long(symbols.size()) - 1, long(symbols.size()) + 1, true});
  };
  int32_t pending_unk = -1;
  size_t unk_start = 0;
  auto flush_unk = [&] {
    if (pending_unk >= 0) add(pending_unk, unk_start);
    pending_unk = -1;
  };
  size_t i = 0;
  while (i < word.size()) {
    const size_t begin = i;
    i = std::min(word.size(), i + Utf8Length(static_cast<unsigned char>(word[i])));
    const int32_t id = Id(word.substr(begin, i - begin));
    if (id >= 0) {
      flush_unk();
      add(id, begin);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (size_t b = begin; b < i; ++b) all = all && byte_ids_[static_cast<unsigned char>(word[b])] >= 0;
      if (all) {
        flush_unk();
        for (size_t b = begin; b < i; ++b) add(byte_ids_[static_cast<unsigned char>(word[b])], b);
        continue;
      }
    }
    if (unk_ < 0) continue;  // no unknown token: the character is dropped, as `tokenizers` does
    if (pending_unk >= 0 && fuse_unk_) continue;
    flush_unk();
    pending_unk = unk_;
    unk_start = begin;
  }
  flush_unk();
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    uint32_t rank;
    long pos;
    int32_t merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto consider = [&](long left) {
    const long right = symbols[size_t(left)].next;
    if (right < 0) return;
    auto it = merges_.find(PairKey(symbols[size_t(left)].id, symbols[size_t(right)].id));
    if (it != merges_.end()) queue.push({it->second.first, left, it->second.second});
  };
  for (long s = 0; s + 1 < long(symbols.size()); ++s) consider(s);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[size_t(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[size_t(left.next)];
    auto it = merges_.find(PairKey(left.id, right.id));
    if (it == merges_.end() || it->second.second != top.merged) continue;  // stale
    left.id = top.merged;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[size_t(left.next)].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }
  for (const Symbol& s : symbols) {
    if (!s.alive) continue;
    ids.push_back(s.id);
    starts.push_back(s.start);
  }
}

}  // namespace landmark::tokenizer
