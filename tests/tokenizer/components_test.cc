// The pieces of a tokenizer on small hand-written tokenizer.json files:
// added-token options, normalizers, split behaviours, BPE options, decoders,
// post-processors; empty and one-character input; UTF-8 handling; threads.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "landmark/error.h"
#include "landmark/tokenizer.h"
#include "src/tokenizer/byte_level.h"
#include "src/tokenizer/pattern.h"
#include "src/tokenizer/unicode.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace landmark {
namespace {

using nlohmann::json;
using test::BpeJson;
using test::kLlmData;

std::vector<std::string> Tokens(const Tokenizer& t, const std::string& text, const EncodeOptions& options = {}) {
  std::vector<std::string> out;
  for (const int32_t id : t.Encode(text, options)) out.push_back(t.TokenString(id));
  return out;
}

using Strings = std::vector<std::string>;

json Added(int id, const std::string& content, bool special, json options = json::object()) {
  json a = {{"id", id},        {"content", content}, {"special", special},    {"single_word", false},
            {"lstrip", false}, {"rstrip", false},    {"normalized", !special}};
  for (const auto& [k, v] : options.items()) a[k] = v;
  return a;
}

TEST_CASE("tokenizer: empty input and one character") {
  for (const std::string name : {"llama3", "qwen2", "gpt2-digits", "sentencepiece-legacy", "sentencepiece-metaspace"}) {
    CAPTURE(name);
    const Tokenizer t = Tokenizer::FromFile(kLlmData + "tokenizers/" + name + "/tokenizer.json");
    const bool bos = name != "qwen2" && name != "gpt2-digits";
    std::vector<size_t> offsets;
    CHECK(t.Encode("", {}, &offsets).size() == (bos ? 1u : 0u));
    CHECK(offsets == std::vector<size_t>(bos ? 1 : 0, 0));
    CHECK(t.Encode("", {.add_special = false}).empty());
    CHECK(t.Decode({}).empty());
    for (const std::string c : {"a", "\xC3\xA9", "\xF0\x9F\x98\x80", "\n"}) {
      CAPTURE(c);
      const std::vector<int32_t> ids = t.Encode(c, {.add_special = false});
      CHECK(!ids.empty());
      CHECK(t.Decode(ids) == c);
    }
  }
}

TEST_CASE("tokenizer: text that is not UTF-8 is an error naming the byte") {
  const Tokenizer t = Tokenizer::FromFile(kLlmData + "tokenizers/llama3/tokenizer.json");
  CHECK_THROWS_WITH_AS(t.Encode("abc\xC3("), doctest::Contains("not valid UTF-8 at byte 3"), Error);
  CHECK_THROWS_WITH_AS(t.Encode("\xED\xA0\x80"), doctest::Contains("at byte 0"), Error);  // a surrogate
  CHECK_THROWS_AS(t.Encode("\xC0\x80"), Error);                                           // overlong
  CHECK_THROWS_AS(t.Encode("\xF4\x90\x80\x80"), Error);                                   // past U+10FFFF
}

TEST_CASE("tokenizer: non-special added tokens match even when special ones are read as text") {
  const Tokenizer t = Tokenizer::FromFile(kLlmData + "tokenizers/qwen2/tokenizer.json");
  const int32_t tool = t.TokenId("<tool_call>"), start = t.TokenId("<|im_start|>");
  REQUIRE(tool >= 0);
  CHECK_FALSE(t.IsSpecial(tool));
  CHECK(t.IsSpecial(start));
  const std::string text = "<|im_start|>x<tool_call>{}</tool_call>";
  const std::vector<int32_t> parsed = t.Encode(text);
  CHECK(parsed.front() == start);
  CHECK(std::count(parsed.begin(), parsed.end(), tool) == 1);
  const std::vector<int32_t> as_text = t.Encode(text, {.parse_special = false});
  CHECK(std::count(as_text.begin(), as_text.end(), start) == 0);
  CHECK(std::count(as_text.begin(), as_text.end(), tool) == 1);
  CHECK(t.Decode(as_text) == text);
  CHECK(t.Decode(parsed, true) == "x<tool_call>{}</tool_call>");
}

TEST_CASE("tokenizer: added tokens: lstrip, rstrip, single_word, normalized") {
  test::TempDir dir("tokenizer-added");
  const json j =
      BpeJson({"a", "b", " ", "h", "i"}, {},
              {{"normalizer", {{"type", "Lowercase"}}},
               {"added_tokens",
                {Added(5, "<mask>", true, {{"lstrip", true}}),
                 Added(6, "ab", false, {{"single_word", true}, {"normalized", false}}),
                 Added(7, "[R]", true, {{"rstrip", true}}), Added(8, "HI", false, {{"normalized", true}})}}});
  const Tokenizer t = test::TokenizerFromJson(dir, j.dump());
  std::vector<size_t> offsets;
  CHECK(t.Encode("a <mask>b", {}, &offsets) == std::vector<int32_t>{0, 5, 1});
  CHECK(offsets == std::vector<size_t>{0, 1, 8});  // <mask> takes the space before it
  CHECK(Tokens(t, "ab") == Strings{"ab"});
  CHECK(Tokens(t, "aab") == Strings{"a", "a", "b"});  // a word character touches it
  CHECK(Tokens(t, "a ab b") == Strings{"a", " ", "ab", " ", "b"});
  CHECK(Tokens(t, "[R]  a") == Strings{"[R]", "a"});  // takes the spaces after it
  // Read as text: lowercased to "[r]", whose characters this vocabulary lacks (dropped: no unk token).
  CHECK(Tokens(t, "a[R]a", {.parse_special = false}) == Strings{"a", "a"});
  CHECK(Tokens(t, "Hi hI") == Strings{"HI", " ", "HI"});  // matched after lowercasing, as "hi"
  CHECK(t.Decode(t.Encode("Hi")) == "hi");                // decodes as it is matched, as `tokenizers` does
}

TEST_CASE("tokenizer: normalizers (NFKC, NFD, Lowercase, Strip, Replace regex, StripAccents) and their offsets") {
  test::TempDir dir("tokenizer-normalizers");
  const Strings chars = {"<unk>", "f", "i", "e", "\xCC\x81", "\xC3\xA9", " ", "x", "1"};
  const auto make = [&](const json& normalizer) {
    return test::TokenizerFromJson(
        dir, BpeJson(chars, {}, {{"normalizer", normalizer}, {"model", {{"unk_token", "<unk>"}}}}).dump());
  };
  std::vector<size_t> offsets;
  const Tokenizer nfkc = make({{"type", "NFKC"}});
  CHECK(Tokens(nfkc, "x\xEF\xAC\x81x", {}) == Strings{"x", "f", "i", "x"});  // the ligature fi
  nfkc.Encode("x\xEF\xAC\x81x", {}, &offsets);
  CHECK(offsets == std::vector<size_t>{0, 1, 1, 4});
  CHECK(Tokens(nfkc, "e\xCC\x81") == Strings{"\xC3\xA9"});  // composed
  CHECK(Tokens(nfkc, "\xE2\x91\xA0") == Strings{"1"});      // circled one
  const Tokenizer nfd = make({{"type", "NFD"}});
  CHECK(Tokens(nfd, "x\xC3\xA9") == Strings{"x", "e", "\xCC\x81"});
  nfd.Encode("x\xC3\xA9", {}, &offsets);
  CHECK(offsets == std::vector<size_t>{0, 1, 1});
  const Tokenizer lower = make({{"type", "Lowercase"}});
  CHECK(Tokens(lower, "FI\xC4\xB0") == Strings{"f", "i", "i", "<unk>"});  // İ is i + U+0307
  const Tokenizer strip = make({{"type", "Sequence"},
                                {"normalizers",
                                 {{{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                                  {{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}}}}});
  CHECK(Tokens(strip, " \t x \n\n x  ") == Strings{"x", " ", "x"});
  strip.Encode(" \t x \n\n x  ", {}, &offsets);
  CHECK(offsets == std::vector<size_t>{3, 4, 8});
  const Tokenizer accents =
      make({{"type", "Sequence"}, {"normalizers", {{{"type", "NFD"}}, {{"type", "StripAccents"}}}}});
  CHECK(Tokens(accents, "\xC3\xA9") == Strings{"e"});
}

TEST_CASE("tokenizer: Split behaviours, Digits, Metaspace schemes, Whitespace") {
  test::TempDir dir("tokenizer-split");
  const Strings vocab = {"<unk>", "a", "b", "-", "ab", "a-", "-b", "a-b", "--", "1", "2", "12", ",", "ab,"};
  const Strings merges = {"a -", "- b", "a- b", "a b", "- -", "1 2", "ab ,"};
  const auto make = [&](const json& pre) {
    return test::TokenizerFromJson(
        dir, BpeJson(vocab, merges, {{"pre_tokenizer", pre}, {"model", {{"unk_token", "<unk>"}}}}).dump());
  };
  const auto split = [&](const char* behavior, bool invert = false) {
    return make({{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}});
  };
  CHECK(Tokens(test::TokenizerFromJson(dir, BpeJson(vocab, merges).dump()), "a-b") == Strings{"a-b"});
  CHECK(Tokens(split("Removed"), "a-b") == Strings{"a", "b"});
  CHECK(Tokens(split("Isolated"), "a-b") == Strings{"a", "-", "b"});
  CHECK(Tokens(split("MergedWithPrevious"), "a-b") == Strings{"a-", "b"});
  CHECK(Tokens(split("MergedWithNext"), "a-b") == Strings{"a", "-b"});
  CHECK(Tokens(split("Contiguous"), "a--b") == Strings{"a", "--", "b"});
  CHECK(Tokens(split("Isolated"), "a--b") == Strings{"a", "-", "-", "b"});
  CHECK(Tokens(split("Removed", true), "a-b") == Strings{"-"});
  const json regex = {
      {"type", "Split"}, {"pattern", {{"Regex", "\\p{N}+"}}}, {"behavior", "Isolated"}, {"invert", false}};
  CHECK(Tokens(make(regex), "a12b") == Strings{"a", "12", "b"});
  CHECK(Tokens(make({{"type", "Digits"}, {"individual_digits", true}}), "a12") == Strings{"a", "1", "2"});
  CHECK(Tokens(make({{"type", "Digits"}, {"individual_digits", false}}), "a12") == Strings{"a", "12"});
  // \s as Oniguruma has it: White_Space, which U+180E is not (PCRE2's \s takes it).
  const std::string mongolian = "\xE1\xA0\x8E";
  const Tokenizer spaces = test::TokenizerFromJson(
      dir,
      BpeJson({"a", "b", mongolian}, {},
              {{"pre_tokenizer",
                {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Removed"}, {"invert", false}}}})
          .dump());
  CHECK(Tokens(spaces, "a" + mongolian + "b \u3000a") == Strings{"a", mongolian, "b", "a"});
  CHECK(Tokens(make({{"type", "Whitespace"}}), "ab, ab") == Strings{"ab", ",", "ab"});
  CHECK(Tokens(make({{"type", "WhitespaceSplit"}}), "ab, ab") == Strings{"ab,", "ab"});

  const std::string m = "\xE2\x96\x81";  // ▁
  const json added = json::array({Added(5, "<x>", true)});
  const auto metaspace = [&](const char* scheme, bool split_words) {
    return test::TokenizerFromJson(
        dir, BpeJson({"a", "b", m, m + "a", m + "b"}, {m + " a", m + " b"},
                     {{"pre_tokenizer",
                       {{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", scheme}, {"split", split_words}}},
                      {"decoder",
                       {{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", scheme}, {"split", split_words}}},
                      {"added_tokens", added}})
                 .dump());
  };
  CHECK(Tokens(metaspace("always", true), "a b") == Strings{m + "a", m + "b"});
  CHECK(Tokens(metaspace("always", true), "a<x>b") == Strings{m + "a", "<x>", m + "b"});
  CHECK(Tokens(metaspace("first", true), "a<x>b") == Strings{m + "a", "<x>", "b"});
  CHECK(Tokens(metaspace("never", true), "a<x>b") == Strings{"a", "<x>", "b"});
  const Tokenizer always = metaspace("always", true);
  CHECK(always.Decode(always.Encode("a b")) == "a b");
  const Tokenizer never = metaspace("never", false);
  CHECK(never.Decode(never.Encode("a b")) == "a b");
}

TEST_CASE("tokenizer: BPE options: byte fallback, unk (fused or not), ignore_merges, dropped characters") {
  test::TempDir dir("tokenizer-bpe");
  const Strings vocab = {"<unk>", "a", "b", "c", "ab", "abc", "<0xC3>", "<0xA9>"};
  const auto make = [&](const json& model) {
    return test::TokenizerFromJson(dir, BpeJson(vocab, {"a b"}, {{"model", model}}).dump());
  };
  const Tokenizer fallback = make({{"unk_token", "<unk>"}, {"byte_fallback", true}, {"fuse_unk", true}});
  CHECK(Tokens(fallback,
               "\xC3\xA9"
               "ab") == Strings{"<0xC3>", "<0xA9>", "ab"});
  CHECK(Tokens(fallback, "xyab") == Strings{"<unk>", "ab"});  // <0x78> is not in the vocabulary: unk, fused
  CHECK(Tokens(make({{"unk_token", "<unk>"}}), "xyab") == Strings{"<unk>", "<unk>", "ab"});
  CHECK(Tokens(make(json::object()), "xyab") == Strings{"ab"});  // no unk token: dropped, as in `tokenizers`
  CHECK(Tokens(make(json::object()), "abc") == Strings{"ab", "c"});
  CHECK(Tokens(make({{"ignore_merges", true}}), "abc") == Strings{"abc"});
  // The same word again comes from the cache.
  const Tokenizer plain = make(json::object());
  for (int k = 0; k < 3; ++k) CHECK(Tokens(plain, "abcab") == Strings{"ab", "c", "ab"});
  // Merge ranks, not merge order of appearance: "b c" (rank 0) before "a b" (rank 1).
  const Tokenizer ranked = test::TokenizerFromJson(dir, BpeJson({"a", "b", "c", "bc", "ab"}, {"b c", "a b"}).dump());
  CHECK(Tokens(ranked, "abc") == Strings{"a", "bc"});
  CHECK(Tokens(ranked, "abab") == Strings{"ab", "ab"});
}

TEST_CASE("tokenizer: decoding invalid UTF-8: byte fallback gives U+FFFD per byte, byte-level per maximal subpart") {
  const std::string fffd = "\xEF\xBF\xBD";
  const Tokenizer sp = Tokenizer::FromFile(kLlmData + "tokenizers/sentencepiece-legacy/tokenizer.json");
  const int32_t e4 = sp.TokenId("<0xE4>"), bd = sp.TokenId("<0xBD>"), a0 = sp.TokenId("<0xA0>");
  CHECK(sp.Decode({e4, bd}) == fffd + fffd);
  CHECK(sp.Decode({e4, bd, a0}) == "\xE4\xBD\xA0");
  StreamDecoder stream(sp);
  CHECK(stream.Next(e4).empty());  // held back until the character is complete
  CHECK(stream.Next(bd).empty());
  CHECK(stream.Next(a0) == "\xE4\xBD\xA0");
  CHECK(stream.Next(e4).empty());
  CHECK(stream.Flush() == fffd);

  const Tokenizer bl = Tokenizer::FromFile(kLlmData + "tokenizers/llama3/tokenizer.json");
  const auto byte = [&](uint8_t b) { return bl.TokenId(tokenizer::ByteToChar(b)); };
  CHECK(bl.Decode({byte(0xE4), byte(0xBD)}) == fffd);
  CHECK(bl.Decode({byte(0xE4), byte(0xBD), byte(0xA0)}) == "\xE4\xBD\xA0");
  CHECK(bl.Decode({byte(0xFF), byte('a')}) == fffd + "a");
  CHECK_THROWS_WITH_AS(bl.Decode({int32_t(bl.vocab_size())}), doctest::Contains("is not in the vocabulary"), Error);
  CHECK_THROWS_AS(bl.Decode({-1}), Error);
  CHECK_THROWS_AS(bl.TokenString(1 << 30), Error);
  CHECK(tokenizer::Utf8Lossy("a\xF0\x9F\x98"
                             "b\x80") == "a" + fffd + "b" + fffd);
}

TEST_CASE("tokenizer: post-processors add their tokens with offsets; RobertaProcessing; no decoder") {
  test::TempDir dir("tokenizer-post");
  const Strings vocab = {"<s>", "</s>", "a", "b"};
  const json added = {Added(0, "<s>", true), Added(1, "</s>", true)};
  std::vector<size_t> offsets;
  const Tokenizer roberta = test::TokenizerFromJson(dir, BpeJson(vocab, {},
                                                                 {{"added_tokens", added},
                                                                  {"post_processor",
                                                                   {{"type", "RobertaProcessing"},
                                                                    {"sep", {"</s>", 1}},
                                                                    {"cls", {"<s>", 0}},
                                                                    {"trim_offsets", true},
                                                                    {"add_prefix_space", false}}}})
                                                             .dump());
  CHECK(roberta.Encode("ab", {}, &offsets) == std::vector<int32_t>{0, 2, 3, 1});
  CHECK(offsets == std::vector<size_t>{0, 0, 1, 2});
  CHECK(roberta.Encode("ab", {.add_special = false}) == std::vector<int32_t>{2, 3});
  CHECK(roberta.Decode({0, 2, 3, 1}) == "<s> a b </s>");  // no decoder: tokens joined by spaces
  CHECK(roberta.Decode({0, 2, 3, 1}, true) == "a b");
  const Tokenizer text_template =
      test::TokenizerFromJson(dir, BpeJson(vocab, {},
                                           {{"added_tokens", added},
                                            {"post_processor",
                                             {{"type", "TemplateProcessing"},
                                              {"single", "<s> $A </s>"},
                                              {"pair", "$A $B"},
                                              {"special_tokens",
                                               {{"<s>", {{"id", "<s>"}, {"ids", {0}}, {"tokens", {"<s>"}}}},
                                                {"</s>", {{"id", "</s>"}, {"ids", {1}}, {"tokens", {"</s>"}}}}}}}}})
                                       .dump());
  CHECK(text_template.Encode("", {}, &offsets) == std::vector<int32_t>{0, 1});
  CHECK(offsets == std::vector<size_t>{0, 0});
  CHECK(text_template.Encode("ba", {}, &offsets) == std::vector<int32_t>{0, 3, 2, 1});
  CHECK(offsets == std::vector<size_t>{0, 0, 1, 2});
}

TEST_CASE("tokenizer: many threads encode at once and agree") {
  const Tokenizer t = Tokenizer::FromFile(kLlmData + "tokenizers/qwen2/tokenizer.json");
  const json cases = test::ReadJson(kLlmData + "tokenizers/qwen2/cases.json")["cases"];
  std::vector<std::vector<int32_t>> expected;
  for (const json& c : cases) expected.push_back(c["ids"].get<std::vector<int32_t>>());
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      int good = 0;
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < cases.size(); ++i) good += t.Encode(cases[i]["text"].get<std::string>()) == expected[i];
      }
      ok[k] = good;
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const int good : ok) CHECK(good == int(20 * cases.size()));
}

TEST_CASE("tokenizer: Oniguruma regexes written for PCRE2") {
  using tokenizer::OnigurumaToPcre2;
  CHECK(OnigurumaToPcre2(R"(\s+(?!\S)|\s+)") == R"(\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+)");
  CHECK(OnigurumaToPcre2(R"( ?[^\s\p{L}\p{N}]+)") == R"( ?[^\p{White_Space}\p{L}\p{N}]+)");
  CHECK(OnigurumaToPcre2(R"(\h+[\h_])") == R"([0-9a-fA-F]+[0-9a-fA-F_])");
  CHECK(OnigurumaToPcre2(R"(\w\W)") ==
        R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}][^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}])");
  CHECK(OnigurumaToPcre2(R"(\\s\Q\s\E[]\s][[:alpha:]\s])") ==
        R"(\\s\Q\s\E[]\p{White_Space}][[:alpha:]\p{White_Space}])");
  CHECK(OnigurumaToPcre2(R"((?i:'s|'t)|\p{N}{1,3})") == R"((?i:'s|'t)|\p{N}{1,3})");
}

TEST_CASE("tokenizer: Python's strip for Jinja's trim, Unicode classes") {
  CHECK(tokenizer::PythonStrip(" \t\x1c a b \xE3\x80\x80\n") == "a b");
  CHECK(tokenizer::PythonStrip("\xE2\x80\x8B") == "\xE2\x80\x8B");  // zero width space is not whitespace
  CHECK(tokenizer::PythonStrip("   ").empty());
  CHECK(tokenizer::IsWordChar(U'\u00E9'));
  CHECK(tokenizer::IsWordChar(U'\u0301'));
  CHECK_FALSE(tokenizer::IsWordChar(U','));
  CHECK(tokenizer::IsNumeric(U'\u2460'));
  CHECK(tokenizer::IsWhitespace(U'\u3000'));
  CHECK_FALSE(tokenizer::IsWhitespace(U'\u200B'));
}

}  // namespace
}  // namespace landmark
