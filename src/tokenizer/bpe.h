// Byte-pair encoding (the `tokenizers` BPE model): a word's characters are
// merged pair by pair, lowest merge rank first (leftmost on ties), with a
// heap over a linked list of symbols: O(n log n) for a word of n
// characters, so a whole document read as one word (SentencePiece-style
// tokenizers have no pre-tokenizer) stays fast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace landmark::tokenizer {

class Bpe {
 public:
  Bpe(const nlohmann::json& model, const std::string& where);

  // Appends the ids of `word` and, per id, the byte in `word` where its text starts.
  void Tokenize(std::string_view word, std::vector<int32_t>& ids, std::vector<size_t>& starts) const;

  int32_t Id(std::string_view token) const;  // -1 if absent
  const std::string& Token(int32_t id) const;  // "" for ids without a vocabulary entry
  size_t size() const { return tokens_.size(); }  // largest id + 1

 private:
  void Merge(std::string_view word, std::vector<int32_t>& ids, std::vector<size_t>& starts) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> tokens_;
  std::unordered_map<uint64_t, std::pair<uint32_t, int32_t>> merges_;  // (left, right) -> (rank, merged id)
  int32_t unk_ = -1;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  int32_t byte_ids_[256];  // <0xNN> tokens (byte fallback), -1 if absent

  // Words seen before (short ones), shared by threads.
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::pair<std::vector<int32_t>, std::vector<size_t>>> cache_;
};

}  // namespace landmark::tokenizer
