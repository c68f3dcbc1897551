// The BPE model: a word's characters are merged pairwise, lowest merge rank
// first, into vocabulary tokens (Sennrich et al.; `tokenizers`' BPE with its
// unk, fuse_unk, byte_fallback and ignore_merges options).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/tokenizer/json_fields.h"

namespace landmark::tokenizer {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct BpeToken {
  int32_t id;
  uint32_t begin;  // byte offset in the word
};

class Bpe {
 public:
  // The "model" object of tokenizer.json (type BPE).
  Bpe(const Json& model, const Where& where);
  ~Bpe();

  // Appends the tokens of `word` (not empty). A word of n characters costs
  // O(n log n): merges come off a heap over a linked list of symbols, so a
  // whole document given as one word (SentencePiece-style tokenizers have
  // no pre-tokenizer) stays fast.
  void Tokenize(std::string_view word, std::vector<BpeToken>& out) const;

  int32_t TokenId(std::string_view token) const;  // -1 when absent
  // The vocabulary entry of `id`, nullptr for ids it does not hold.
  const std::string* TokenString(int32_t id) const;
  size_t size() const { return vocab_.size(); }                             // entries
  int32_t end_id() const { return static_cast<int32_t>(strings_.size()); }  // the largest id + 1

 private:
  struct Merge {
    uint32_t rank;
    int32_t new_id;
  };
  struct Symbol;
  void MergeWord(std::string_view word, std::vector<BpeToken>& out) const;
  const Merge* FindMerge(int32_t left, int32_t right) const;

  StringMap<int32_t> vocab_;
  std::vector<std::string> strings_;  // by id
  std::vector<bool> present_;         // by id: whether the vocabulary holds it
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int32_t, 256> byte_ids_;  // "<0xNN>" tokens, -1 where absent
  int32_t unk_id_ = -1;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  std::string prefix_, suffix_;  // continuing_subword_prefix, end_of_word_suffix

  // Words seen before (pre-tokenized text repeats its words), in shards so
  // that threads encoding in parallel rarely wait on each other.
  struct CacheShard {
    std::mutex mutex;
    StringMap<std::vector<BpeToken>> words;
  };
  static constexpr size_t kCacheShards = 16, kCacheWordsPerShard = 1024, kCacheMaxWordBytes = 256;
  std::unique_ptr<CacheShard[]> cache_;
};

}  // namespace landmark::tokenizer
