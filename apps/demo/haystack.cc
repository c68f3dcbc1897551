#include "apps/demo/haystack.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "src/core/splitmix.h"

namespace landmark::demo {
namespace {

using Rng = SplitMix64;  // tiny, seeded, the same everywhere

const char* const kAdjectives[] = {
    "quiet", "bright", "ancient", "narrow", "golden", "restless", "silver", "gentle", "crooked", "hollow",
    "distant", "humble", "patient", "rusty", "tender", "vivid", "wooden", "weary", "open", "hidden",
    "northern", "careful", "silent", "heavy", "early", "late", "steady", "broken", "polished", "curious"};
const char* const kNouns[] = {
    "river", "lantern", "garden", "harbor", "meadow", "library", "window", "mountain", "market", "bridge",
    "forest", "village", "letter", "engine", "orchard", "tower", "compass", "kitchen", "station", "valley",
    "painter", "teacher", "sailor", "farmer", "student", "traveler", "merchant", "baker", "writer", "captain",
    "clock", "mirror", "ladder", "basket", "candle", "blanket", "journal", "ribbon", "wagon", "chimney"};
const char* const kVerbs[] = {
    "watches", "follows", "remembers", "carries", "paints", "repairs", "visits", "describes", "crosses", "finds",
    "admires", "ignores", "studies", "gathers", "guards", "measures", "borrows", "greets", "cleans", "builds"};
const char* const kPrepositions[] = {"near", "beyond", "under", "beside", "behind", "across", "along", "above"};
const char* const kOpenings[] = {"Every morning", "After the rain", "In the evening", "Long ago", "Without a word",
                                 "Once again", "Before dawn", "In the spring"};

template <size_t N>
const char* Pick(Rng& rng, const char* const (&words)[N]) {
  return words[rng.Below(N)];
}

// One filler sentence; adds its hashing-tokenizer token count to `tokens`.
std::string Sentence(Rng& rng, size_t& tokens) {
  std::string s;
  if (rng.Below(3) == 0) {
    s = std::string(Pick(rng, kOpenings)) + ", the ";  // 2-3 words + ","
    tokens += std::count(s.begin(), s.end(), ' ') + 1;
  } else {
    s = "The ";
    tokens += 1;
  }
  s += std::string(Pick(rng, kAdjectives)) + " " + Pick(rng, kNouns) + " " + Pick(rng, kVerbs) + " the " +
       Pick(rng, kAdjectives) + " " + Pick(rng, kNouns) + " " + Pick(rng, kPrepositions) + " the " +
       Pick(rng, kNouns) + ".";
  tokens += 10;
  return s;
}

}  // namespace

std::string Needle::question() const { return "pass key for vault " + std::to_string(vault); }

Haystack GenerateHaystack(const HaystackOptions& options) {
  Rng rng{options.seed};
  Haystack h;
  // Needle depths: token positions spread uniformly over the haystack.
  std::vector<size_t> depths;
  for (size_t i = 0; i < options.needles; ++i) depths.push_back(rng.Below(std::max<size_t>(1, options.target_tokens)));
  std::sort(depths.begin(), depths.end());
  std::set<uint32_t> vaults;
  size_t tokens = 0, next = 0, sentences = 0;
  h.text.reserve(options.target_tokens * 6);
  while (tokens < options.target_tokens || next < depths.size()) {
    if (next < depths.size() && tokens >= depths[next]) {
      Needle n;
      do {
        n.vault = uint32_t(100 + rng.Below(900));
      } while (!vaults.insert(n.vault).second && vaults.size() < 900);
      n.key = uint32_t(10000 + rng.Below(90000));
      n.begin = h.text.size();
      h.text += "The pass key for vault " + std::to_string(n.vault) + " is " + std::to_string(n.key) + ".";
      n.end = h.text.size();
      h.text += (++sentences % 6 == 0) ? "\n\n" : " ";
      tokens += 9;
      h.needles.push_back(n);
      ++next;
      continue;
    }
    h.text += Sentence(rng, tokens);
    h.text += (++sentences % 6 == 0) ? "\n\n" : " ";
  }
  return h;
}

uint32_t FindPassKey(const std::string& text, uint32_t vault) {
  // The first "vault N is " followed by digits.
  const std::string prefix = "vault " + std::to_string(vault) + " is ";
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    size_t end = at + prefix.size();
    uint64_t key = 0;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9' && key < (uint64_t(1) << 32)) {
      key = key * 10 + uint64_t(text[end++] - '0');
    }
    if (end > at + prefix.size()) return uint32_t(key);
  }
  return 0;
}

}  // namespace landmark::demo
