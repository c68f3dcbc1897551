// Damaged and hostile tokenizer files: each is a landmark::Error naming the
// file and what is wrong (never a crash, never another exception), and
// thousands of random corruptions of a real file load or fail cleanly.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>

#include "landmark/error.h"
#include "landmark/tokenizer.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace landmark {
namespace {

using nlohmann::json;
using test::BpeJson;
using test::kLlmData;

// Loading `text` as tokenizer.json fails with a message holding `expected`
// and the file's name.
void Refused(const test::TempDir& dir, const std::string& text, const std::string& expected) {
  CAPTURE(text.substr(0, 300));
  CHECK_THROWS_WITH_AS(test::TokenizerFromJson(dir, text), doctest::Contains(expected.c_str()), Error);
  CHECK_THROWS_WITH_AS(test::TokenizerFromJson(dir, text), doctest::Contains("tokenizer.json"), Error);
}

json Small(const json& extra = json::object()) { return BpeJson({"a", "b", "ab"}, {"a b"}, extra); }

TEST_CASE("tokenizer: malformed and truncated files") {
  test::TempDir dir("tokenizer-malformed");
  const std::string real = test::ReadFile(kLlmData + "tokenizers/qwen2/tokenizer.json");
  Refused(dir, real.substr(0, real.size() / 2), "not valid JSON");
  Refused(dir, "", "not valid JSON");
  Refused(dir, "[1, 2]", "expected an object, got an array");
  Refused(dir, "{}", "missing the field 'model'");
  CHECK_THROWS_WITH_AS(Tokenizer::FromFile(dir / "absent.json"), doctest::Contains("absent.json"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::FromFile(dir.str()), doctest::Contains(dir.str().c_str()), Error);
  Refused(dir, Small({{"version", "2.0"}}).dump(), "unknown tokenizer.json version '2.0'");
}

TEST_CASE("tokenizer: unknown component types are named") {
  test::TempDir dir("tokenizer-types");
  Refused(dir, Small({{"model", {{"type", "Unigram"}}}}).dump(), "model.type: model type 'Unigram' is not supported");
  Refused(dir, Small({{"normalizer", {{"type", "Precompiled"}, {"precompiled_charsmap", ""}}}}).dump(),
          "normalizer: normalizer type 'Precompiled' is not supported");
  Refused(
      dir,
      Small({{"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {{{"type", "BertPreTokenizer"}}}}}}}).dump(),
      "pre_tokenizer.pretokenizers[0]: pre-tokenizer type 'BertPreTokenizer' is not supported");
  Refused(dir, Small({{"decoder", {{"type", "WordPiece"}, {"prefix", "##"}}}}).dump(),
          "decoder: decoder type 'WordPiece' is not supported");
  Refused(dir, Small({{"post_processor", {{"type", "Mystery"}}}}).dump(),
          "post-processor type 'Mystery' is not supported");
  Refused(dir, Small({{"normalizer", {{"kind", "NFC"}}}}).dump(), "normalizer: missing the field 'type'");
  json deep = {{"type", "NFC"}};
  for (int k = 0; k < 100; ++k) deep = {{"type", "Sequence"}, {"normalizers", {deep}}};
  Refused(dir, Small({{"normalizer", deep}}).dump(), "nested deeper than 32");
}

TEST_CASE("tokenizer: wrong types, bad merges, ids out of range or repeated") {
  test::TempDir dir("tokenizer-fields");
  Refused(dir, Small({{"model", {{"vocab", {"a", "b"}}}}}).dump(), "model.vocab: expected an object, got an array");
  Refused(dir, Small({{"model", {{"vocab", {{"a", "zero"}}}}}}).dump(),
          "model.vocab.\"a\": expected an integer, got a string");
  Refused(dir, Small({{"model", {{"merges", {"a b", 5}}}}}).dump(),
          "model.merges[1]: expected \"a b\" or [\"a\", \"b\"]");
  Refused(dir, Small({{"model", {{"merges", {"a b c"}}}}}).dump(), "expected two tokens separated by one space");
  Refused(dir, Small({{"model", {{"merges", json::array({json::array({"a", "z"})})}}}}).dump(),
          "model.merges[0]: 'z' is not in the vocabulary");
  Refused(dir, Small({{"model", {{"merges", {"b a"}}}}}).dump(), "the merged token 'ba' is not in the vocabulary");
  Refused(dir, Small({{"model", {{"vocab", {{"a", 0}, {"b", -1}}}}}}).dump(), "token 'b' has id -1, out of range");
  Refused(dir, Small({{"model", {{"vocab", {{"a", 0}, {"b", 4000000000LL}}}}}}).dump(),
          "has id 4000000000, out of range");
  Refused(dir, Small({{"model", {{"vocab", {{"a", 0}, {"b", 100000000}}}}}}).dump(), "ids must be dense");
  Refused(dir, Small({{"model", {{"vocab", {{"a", 0}, {"b", 0}, {"ab", 1}}}}}}).dump(), "have the same id 0");
  Refused(dir, Small({{"model", {{"dropout", 0.1}}}}).dump(), "model.dropout: BPE dropout");
  Refused(dir, Small({{"model", {{"unk_token", "<unk>"}}}}).dump(),
          "model.unk_token: '<unk>' is not in the vocabulary");
  Refused(dir, Small({{"model", {{"byte_fallback", "yes"}}}}).dump(), "model.byte_fallback: expected true or false");
  Refused(dir, Small({{"added_tokens", {{{"id", 7}, {"content", "<x>"}, {"special", true}}}}}).dump(),
          "added_tokens[0]: token '<x>' has id 7, but `tokenizers` gives it id 3");
  Refused(dir, Small({{"added_tokens", {{{"id", 3}, {"content", 5}}}}}).dump(),
          "added_tokens[0].content: expected a string");
  Refused(dir, Small({{"added_tokens", "none"}}).dump(), "added_tokens: expected an array");
  const json pattern_split = {
      {"type", "Split"}, {"pattern", {{"Regex", "(?<=a+"}}}, {"behavior", "Isolated"}, {"invert", false}};
  Refused(dir, Small({{"pre_tokenizer", pattern_split}}).dump(), "pre_tokenizer.pattern.Regex: bad regex (");
  Refused(dir,
          Small({{"pre_tokenizer",
                  {{"type", "Split"}, {"pattern", {{"Glob", "*"}}}, {"behavior", "Isolated"}, {"invert", false}}}})
              .dump(),
          "pre_tokenizer.pattern: expected {\"String\": ...} or {\"Regex\": ...}");
  Refused(dir,
          Small({{"pre_tokenizer",
                  {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", "Sideways"}, {"invert", false}}}})
              .dump(),
          "unknown split behavior 'Sideways'");
  Refused(dir, Small({{"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "ab"}}}}).dump(),
          "pre_tokenizer.replacement: expected one character");
  const json tokens = {{"<s>", {{"id", "<s>"}, {"ids", {9}}, {"tokens", {"<s>"}}}}};
  Refused(
      dir,
      Small({{"post_processor", {{"type", "TemplateProcessing"}, {"single", "<s> $A"}, {"special_tokens", tokens}}}})
          .dump(),
      "post_processor.special_tokens.<s>.ids[0]: id 9 is not in the vocabulary");
  Refused(
      dir,
      Small({{"post_processor", {{"type", "TemplateProcessing"}, {"single", "<t> $A"}, {"special_tokens", tokens}}}})
          .dump(),
      "special token '<t>' is not in special_tokens");
  Refused(dir,
          Small({{"post_processor",
                  {{"type", "TemplateProcessing"}, {"single", "$B"}, {"special_tokens", json::object()}}}})
              .dump(),
          "not 'B'");
}

TEST_CASE("tokenizer: tokenizer_config.json errors name that file") {
  test::TempDir dir("tokenizer-config");
  test::WriteFile(dir / "tokenizer.json", Small().dump());
  test::WriteFile(dir / "tokenizer_config.json", R"({"bos_token": "<s>"})");
  CHECK_THROWS_WITH_AS(Tokenizer::FromDirectory(dir.str()),
                       doctest::Contains("tokenizer_config.json: bos_token: '<s>' is not in the vocabulary"), Error);
  test::WriteFile(dir / "tokenizer_config.json", R"({"eos_token": 2})");
  CHECK_THROWS_WITH_AS(Tokenizer::FromDirectory(dir.str()), doctest::Contains("eos_token: expected a string"), Error);
  test::WriteFile(dir / "tokenizer_config.json",
                  R"({"eos_token": {"content": "ab"}, "chat_template": [{"name": "tool_use", "template": "x"}]})");
  const Tokenizer t = Tokenizer::FromDirectory(dir.str());
  CHECK(t.eos_id() == 2);
  CHECK(t.chat_template().empty());  // no "default" among the named templates
  test::WriteFile(dir / "tokenizer_config.json", R"({"chat_template": [{"name": "default", "template": "{{ x }}"}]})");
  CHECK(Tokenizer::FromDirectory(dir.str()).chat_template() == "{{ x }}");
  test::WriteFile(dir / "chat_template.jinja", "<|im_start|>");  // beside it, it wins (transformers 5)
  CHECK(Tokenizer::FromDirectory(dir.str()).chat_template() == "<|im_start|>");
}

TEST_CASE("tokenizer: a regex that backtracks without end is an error, not a hang") {
  test::TempDir dir("tokenizer-backtrack");
  const json split = {
      {"type", "Split"}, {"pattern", {{"Regex", "(a|aa)+$"}}}, {"behavior", "Isolated"}, {"invert", false}};
  const Tokenizer t = test::TokenizerFromJson(dir, Small({{"pre_tokenizer", split}}).dump());
  std::string text(5000, 'a');
  text += "b";
  try {
    t.Encode(text);
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("regex match failed") != std::string::npos);
  }
}

// Random damage to a real tokenizer.json (bytes changed, removed, cut):
// every load either succeeds or throws landmark::Error, and a loaded one
// encodes and decodes (or throws landmark::Error).
TEST_CASE("tokenizer: random corruptions load or fail cleanly") {
  test::TempDir dir("tokenizer-fuzz");
  const std::string real = test::ReadFile(kLlmData + "tokenizers/sentencepiece-legacy/tokenizer.json");
  std::mt19937_64 rng(7);
  const std::string alphabet = "{}[]\":,0123456789-eE.tnfalsrue \\ab<>|";
  int loaded = 0, refused = 0;
  for (int round = 0; round < 300; ++round) {
    std::string text = real;
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + rng() % 8); break;
        default: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      }
    }
    try {
      const Tokenizer t = test::TokenizerFromJson(dir, text);
      ++loaded;
      try {
        const std::vector<int32_t> ids = t.Encode("Hello <s> world 12345 caf\xC3\xA9 \xF0\x9F\x98\x80");
        t.Decode(ids, true);
      } catch (const Error&) {
      }
    } catch (const Error&) {
      ++refused;
    }
  }
  CHECK(loaded + refused == 300);
  CHECK(refused > 0);
}

}  // namespace
}  // namespace landmark
