#include "src/tokenizer/bpe.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "src/tokenizer/unicode.h"

namespace landmark::tokenizer {
namespace {

uint64_t PairKey(int32_t left, int32_t right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }

// Ids index tables, so a vocabulary may not be much sparser than this
// (real ones have no gaps at all).
constexpr int64_t kMaxIdSlack = 1 << 16;

// One merge rule "a b" of model.merges, as a pair.
std::pair<std::string, std::string> MergeRule(const Json& rule, const Where& where) {
  if (rule.is_string()) {
    const std::string line = rule.get<std::string>();
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
      where.Fail("expected two tokens separated by one space, got \"" + line + "\"");
    }
    return {line.substr(0, space), line.substr(space + 1)};
  }
  if (rule.is_array() && rule.size() == 2) return {AsString(rule[0], where[0]), AsString(rule[1], where[1])};
  where.Fail("expected \"a b\" or [\"a\", \"b\"]");
}

}  // namespace

struct Bpe::Symbol {
  int32_t id;
  int32_t prev, next;  // neighbours in the word, -1 at the ends
  uint32_t len;        // bytes of the word it covers; 0 once merged into its left neighbour
};

Bpe::Bpe(const Json& model, const Where& where) : cache_(new CacheShard[kCacheShards]) {
  if (const auto type = OptionalString(model, "type", where); type && *type != "BPE") {
    (where / "type").Fail("model type '" + *type + "' is not supported (landmark reads BPE models)");
  }
  if (const Json* dropout = Optional(model, "dropout", where)) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      (where / "dropout").Fail("BPE dropout samples merges at random; landmark encodes deterministically (use null)");
    }
  }
  fuse_unk_ = BoolMember(model, "fuse_unk", where, false);
  byte_fallback_ = BoolMember(model, "byte_fallback", where, false);
  ignore_merges_ = BoolMember(model, "ignore_merges", where, false);
  prefix_ = OptionalString(model, "continuing_subword_prefix", where).value_or("");
  suffix_ = OptionalString(model, "end_of_word_suffix", where).value_or("");

  const Where vocab_where = where / "vocab";
  const Json& vocab = AsObject(Member(model, "vocab", where), vocab_where);
  int64_t max_id = -1;
  for (const auto& [token, value] : vocab.items()) {
    const int64_t id = AsInt(value, vocab_where / ("\"" + token + "\""));
    if (id < 0 || id > INT32_MAX) {
      vocab_where.Fail("token '" + token + "' has id " + std::to_string(id) + ", out of range");
    }
    max_id = std::max(max_id, id);
  }
  if (max_id >= static_cast<int64_t>(vocab.size()) + kMaxIdSlack) {
    vocab_where.Fail("id " + std::to_string(max_id) + " is out of range for " + std::to_string(vocab.size()) +
                     " tokens (ids must be dense)");
  }
  strings_.resize(static_cast<size_t>(max_id + 1));
  present_.assign(strings_.size(), false);
  vocab_.reserve(vocab.size());
  for (const auto& [token, value] : vocab.items()) {
    const auto id = static_cast<int32_t>(value.get<int64_t>());
    if (present_[id]) {
      vocab_where.Fail("tokens '" + strings_[id] + "' and '" + token + "' have the same id " + std::to_string(id));
    }
    present_[id] = true;
    strings_[id] = token;
    vocab_.emplace(token, id);
  }

  const Where merges_where = where / "merges";
  const Json& merges = AsArray(Member(model, "merges", where), merges_where);
  merges_.reserve(merges.size());
  uint32_t rank = 0;
  for (size_t i = 0; i < merges.size(); ++i) {
    if (merges[i].is_string() && merges[i].get_ref<const std::string&>().rfind("#version", 0) == 0) continue;
    const auto [a, b] = MergeRule(merges[i], merges_where[i]);
    const int32_t a_id = TokenId(a), b_id = TokenId(b);
    if (a_id < 0 || b_id < 0) merges_where[i].Fail("'" + (a_id < 0 ? a : b) + "' is not in the vocabulary");
    if (b.size() < prefix_.size()) merges_where[i].Fail("'" + b + "' lacks the continuing_subword_prefix");
    const std::string merged = a + b.substr(prefix_.size());
    const int32_t new_id = TokenId(merged);
    if (new_id < 0) merges_where[i].Fail("the merged token '" + merged + "' is not in the vocabulary");
    merges_[PairKey(a_id, b_id)] = {rank++, new_id};  // a repeated pair: the later rule wins, as in `tokenizers`
  }

  if (const auto unk = OptionalString(model, "unk_token", where)) {
    unk_id_ = TokenId(*unk);
    if (unk_id_ < 0) (where / "unk_token").Fail("'" + *unk + "' is not in the vocabulary");
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    byte_ids_[b] = TokenId(name);
  }
}

Bpe::~Bpe() = default;

int32_t Bpe::TokenId(std::string_view token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* Bpe::TokenString(int32_t id) const {
  return id >= 0 && id < end_id() && present_[id] ? &strings_[id] : nullptr;
}

const Bpe::Merge* Bpe::FindMerge(int32_t left, int32_t right) const {
  const auto it = merges_.find(PairKey(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void Bpe::Tokenize(std::string_view word, std::vector<BpeToken>& out) const {
  if (ignore_merges_) {  // a word the vocabulary holds is one token, whatever the merges say
    const int32_t id = TokenId(word);
    if (id >= 0) {
      out.push_back({id, 0});
      return;
    }
  }
  if (word.size() >= kCacheMaxWordBytes) {
    MergeWord(word, out);
    return;
  }
  CacheShard& shard = cache_[StringHash{}(word) % kCacheShards];
  {
    const std::lock_guard<std::mutex> lock(shard.mutex);
    const auto it = shard.words.find(word);
    if (it != shard.words.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = out.size();
  MergeWord(word, out);
  const std::lock_guard<std::mutex> lock(shard.mutex);
  if (shard.words.size() >= kCacheWordsPerShard) shard.words.clear();
  shard.words.emplace(std::string(word), std::vector<BpeToken>(out.begin() + static_cast<ptrdiff_t>(first), out.end()));
}

void Bpe::MergeWord(std::string_view word, std::vector<BpeToken>& out) const {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  const auto add = [&symbols](int32_t id, size_t len) {
    const auto n = static_cast<int32_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back({id, n - 1, -1, static_cast<uint32_t>(len)});
  };
  // The characters as tokens, as `tokenizers`' merge_word builds them:
  // unknown ones as their <0xNN> bytes (byte_fallback), else as unk (runs
  // fused into one with fuse_unk), else dropped.
  size_t unk_len = 0;
  std::string affixed;
  for (size_t i = 0; i < word.size();) {
    const size_t begin = i;
    i = std::min(word.size(), i + SequenceLength(static_cast<unsigned char>(word[i])));
    const std::string_view character = word.substr(begin, i - begin);
    std::string_view key = character;
    if ((begin > 0 && !prefix_.empty()) || (i == word.size() && !suffix_.empty())) {
      affixed.assign(begin > 0 ? prefix_ : "");
      affixed.append(character);
      if (i == word.size()) affixed.append(suffix_);
      key = affixed;
    }
    const int32_t id = TokenId(key);
    if (id >= 0) {
      if (unk_len > 0) add(unk_id_, unk_len);
      unk_len = 0;
      add(id, character.size());
      continue;
    }
    if (byte_fallback_ &&
        std::all_of(key.begin(), key.end(), [this](char c) { return byte_ids_[static_cast<uint8_t>(c)] >= 0; })) {
      // A pending unk stays pending, after these bytes, as in `tokenizers`.
      for (const char c : key) add(byte_ids_[static_cast<uint8_t>(c)], 1);
      continue;
    }
    if (unk_id_ >= 0) {
      if (unk_len > 0 && !fuse_unk_) add(unk_id_, unk_len), unk_len = 0;
      unk_len += character.size();
    }
  }
  if (unk_len > 0) add(unk_id_, unk_len);

  // Merges by rank, ties to the leftmost; entries made stale by an earlier
  // merge are recognised and skipped when they come off the heap.
  struct Candidate {
    uint32_t rank;
    int32_t pos, new_id;
  };
  const auto later = [](const Candidate& x, const Candidate& y) {
    return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos;
  };
  std::vector<Candidate> heap;
  heap.reserve(symbols.size());
  const auto push = [&](int32_t pos, int32_t left, int32_t right) {
    if (const Merge* m = FindMerge(left, right)) {
      heap.push_back({m->rank, pos, m->new_id});
      std::push_heap(heap.begin(), heap.end(), later);
    }
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) push(static_cast<int32_t>(i), symbols[i].id, symbols[i + 1].id);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.len == 0 || left.next == -1) continue;
    const Symbol right = symbols[left.next];
    const Merge* m = FindMerge(left.id, right.id);
    if (m == nullptr || m->new_id != top.new_id) continue;
    symbols[left.next].len = 0;
    left.id = top.new_id;
    left.len += right.len;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push(left.prev, symbols[left.prev].id, left.id);
    if (left.next >= 0) push(top.pos, left.id, symbols[left.next].id);
  }

  size_t begin = 0;
  for (const Symbol& s : symbols) {
    if (s.len == 0) continue;
    // Byte fallback of an affixed key can cover more bytes than the word has.
    out.push_back({s.id, static_cast<uint32_t>(std::min(begin, word.size() - 1))});
    begin += s.len;
  }
}

}  // namespace landmark::tokenizer
