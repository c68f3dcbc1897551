// Tokenizers against what `tokenizers` 0.23 and transformers 5 produced
// (tests/data/llm, made by make_fixtures.py): every case of the five
// tokenizer fixtures (ids with and without the post-processor and with
// special tokens read as text, tokens, decoding with and without special
// tokens), the real Llama 2 tokenizer of stories260K, the model directories;
// offsets, the streaming decoder, and documents of 2 MB.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "landmark/tokenizer.h"
#include "src/tokenizer/byte_level.h"
#include "src/tokenizer/unicode.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace landmark {
namespace {

using nlohmann::json;
using test::kLlmData;
using test::ReadJson;

const char* const kFixtures[] = {"llama3", "qwen2", "gpt2-digits", "sentencepiece-legacy", "sentencepiece-metaspace"};

Tokenizer Fixture(const std::string& name) {
  return Tokenizer::FromFile(kLlmData + "tokenizers/" + name + "/tokenizer.json");
}
json Cases(const std::string& name) { return ReadJson(kLlmData + "tokenizers/" + name + "/cases.json")["cases"]; }
std::vector<int32_t> Ids(const json& j) { return j.get<std::vector<int32_t>>(); }
bool ByteLevel(const std::string& name) { return name.rfind("sentencepiece", 0) != 0; }

// The input bytes a token stands for: byte-level characters back to bytes,
// or "▁" as a space and <0xNN> as its byte.
std::string TokenBytes(const Tokenizer& t, int32_t id, bool byte_level) {
  const std::string token = t.TokenString(id);
  if (t.IsSpecial(id)) return token;
  std::string bytes;
  if (byte_level) {
    for (size_t i = 0; i < token.size();) {
      bytes += static_cast<char>(tokenizer::CharToByte(tokenizer::NextCodePoint(token, i)));
    }
    return bytes;
  }
  if (token.size() == 6 && token.rfind("<0x", 0) == 0) {
    return std::string(1, static_cast<char>(std::stoi(token.substr(3, 2), nullptr, 16)));
  }
  for (size_t at = 0;;) {
    const size_t found = token.find("\xE2\x96\x81", at);
    bytes += token.substr(at, found - at);
    if (found == std::string::npos) return bytes;
    bytes += ' ';
    at = found + 3;
  }
}

// Each token's bytes are the text at its offset (a "▁" the pre-tokenizer
// or normalizer put before a piece stands for nothing), offsets never
// decrease, and a token the post-processor adds takes the next one's.
void CheckOffsets(const Tokenizer& t, const std::string& text, bool byte_level) {
  std::vector<size_t> offsets;
  const std::vector<int32_t> ids = t.Encode(text, {}, &offsets);
  REQUIRE(offsets.size() == ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    CAPTURE(i);
    CHECK(offsets[i] <= text.size());
    if (i > 0) CHECK(offsets[i] >= offsets[i - 1]);
    std::string bytes = TokenBytes(t, ids[i], byte_level);
    if (t.IsSpecial(ids[i]) && text.compare(offsets[i], bytes.size(), bytes) != 0) {
      CHECK(offsets[i] == (i + 1 < ids.size() ? offsets[i + 1] : text.size()));  // added by the post-processor
      continue;
    }
    if (!byte_level && bytes[0] == ' ' && (offsets[i] >= text.size() || text[offsets[i]] != ' ')) bytes.erase(0, 1);
    CHECK(text.compare(offsets[i], bytes.size(), bytes) == 0);
  }
}

std::string StreamDecode(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip_special) {
  StreamDecoder stream(t, skip_special);
  std::string text;
  for (const int32_t id : ids) {
    const std::string piece = stream.Next(id);
    CHECK(tokenizer::ValidUtf8Prefix(piece) == piece.size());
    text += piece;
  }
  return text + stream.Flush();
}

TEST_CASE("tokenizer: every fixture case matches tokenizers 0.23") {
  for (const std::string name : kFixtures) {
    CAPTURE(name);
    const Tokenizer t = Fixture(name);
    const json cases = Cases(name);
    CHECK(cases.size() > 30);
    for (const json& c : cases) {
      const std::string text = c["text"];
      CAPTURE(text);
      const std::vector<int32_t> ids = t.Encode(text);
      CHECK(ids == Ids(c["ids"]));
      CHECK(t.Encode(text, {.add_special = false}) == Ids(c["ids_no_special"]));
      CHECK(t.Encode(text, {.add_special = false, .parse_special = false}) == Ids(c["ids_specials_as_text"]));
      std::vector<std::string> tokens;
      for (const int32_t id : ids) tokens.push_back(t.TokenString(id));
      CHECK(tokens == c["tokens"].get<std::vector<std::string>>());
      CHECK(t.Decode(ids) == c["decoded"].get<std::string>());
      CHECK(t.Decode(ids, true) == c["decoded_skip_special"].get<std::string>());
    }
  }
}

TEST_CASE("tokenizer: offsets point at each token's text") {
  for (const std::string name : kFixtures) {
    CAPTURE(name);
    const Tokenizer t = Fixture(name);
    for (const json& c : Cases(name)) {
      const std::string text = c["text"];
      CAPTURE(text);
      if (name == "qwen2" && t.Decode(t.Encode(text, {.add_special = false})) != text) {
        std::vector<size_t> offsets;  // NFC changed the text: offsets still ordered and inside it
        t.Encode(text, {}, &offsets);
        CHECK(std::is_sorted(offsets.begin(), offsets.end()));
        CHECK((offsets.empty() || offsets.back() <= text.size()));
        continue;
      }
      CheckOffsets(t, text, ByteLevel(name));
    }
  }
}

TEST_CASE("tokenizer: the streaming decoder gives what Decode gives") {
  for (const std::string name : kFixtures) {
    CAPTURE(name);
    const Tokenizer t = Fixture(name);
    for (const json& c : Cases(name)) {
      CAPTURE(c["text"].get<std::string>());
      for (const char* key : {"ids", "ids_specials_as_text"}) {
        const std::vector<int32_t> ids = Ids(c[key]);
        CHECK(StreamDecode(t, ids, false) == t.Decode(ids, false));
        CHECK(StreamDecode(t, ids, true) == t.Decode(ids, true));
      }
    }
  }
}

TEST_CASE("tokenizer: stories260K's Llama 2 tokenizer (special tokens read as text)") {
  const Tokenizer t = Tokenizer::FromDirectory(kLlmData + "stories260K/hf");
  CHECK(t.vocab_size() == 512);
  CHECK(t.bos_id() == 1);
  CHECK(t.eos_id() == 2);
  CHECK(t.bos_token() == "<s>");
  CHECK(t.TokenString(13) == "<0x0A>");
  CHECK(t.TokenId("<0x0A>") == 13);
  CHECK(t.TokenId("no such token") == -1);
  CHECK(t.chat_template().empty());
  const json cases = ReadJson(kLlmData + "stories260K/reference/tokenizer_cases.json");
  CHECK(cases.size() == 16);
  for (const json& c : cases) {
    const std::string text = c["text"];
    CAPTURE(text);
    const std::vector<int32_t> ids = t.Encode(text, {.parse_special = false});
    CHECK(ids == Ids(c["ids"]));
    CheckOffsets(t, text, false);
    CHECK(StreamDecode(t, ids, true) == t.Decode(ids, true));
  }
  // Its 256 greedy tokens decode to the text llama2.c printed (which keeps
  // the first token's space).
  const std::vector<int32_t> greedy = Ids(ReadJson(kLlmData + "stories260K/reference/greedy_256_ids.json")["ids"]);
  const std::string decoded = t.Decode(greedy, true);
  CHECK(" " + decoded + "\n" == test::ReadFile(kLlmData + "stories260K/reference/greedy_256.txt"));
  CHECK(StreamDecode(t, greedy, true) == decoded);
}

TEST_CASE("tokenizer: model directories (tokenizer_config.json, chat_template.jinja, reference prompts)") {
  struct Model {
    const char* dir;
    const char* bos;
    const char* eos;
    ChatFormat format;
  };
  for (const Model& m :
       {Model{"llama3", "<|begin_of_text|>", "<|eot_id|>", ChatFormat::kLlama3},
        Model{"llama3-bf16", "<|begin_of_text|>", "<|eot_id|>", ChatFormat::kLlama3},
        Model{"qwen2", "", "<|im_end|>", ChatFormat::kChatMl},
        Model{"qwen2-f16", "", "<|im_end|>", ChatFormat::kChatMl},
        Model{"qwen3", "", "<|im_end|>", ChatFormat::kChatMl}, Model{"mistral", "<s>", "</s>", ChatFormat::kMistral},
        Model{"llama2", "<s>", "</s>", ChatFormat::kLlama2}}) {
    CAPTURE(m.dir);
    const std::string dir = kLlmData + "models/" + m.dir;
    const Tokenizer t = Tokenizer::FromDirectory(dir);
    CHECK(t.bos_token() == m.bos);
    CHECK(t.eos_token() == m.eos);
    CHECK(t.bos_id() == (*m.bos ? t.TokenId(m.bos) : -1));
    CHECK(t.eos_id() == t.TokenId(m.eos));
    CHECK(t.IsSpecial(t.eos_id()));
    CHECK(ChatTemplate::FromTokenizer(t).format() == m.format);
    const json prompts = ReadJson(dir + "/reference/reference.json")["prompts"];
    for (const json& prompt : prompts) {
      const std::string text = prompt["text"];
      CAPTURE(text);
      CHECK(t.Encode(text) == Ids(prompt["ids"]));
      // A random model's greedy ids: where they hold invalid byte runs
      // the stream's pieces are valid UTF-8 but need not join to Decode.
      const std::vector<int32_t> greedy = Ids(prompt["greedy"]);
      const std::string whole = t.Decode(greedy, true), streamed = StreamDecode(t, greedy, true);
      if (whole.find("\xEF\xBF\xBD") == std::string::npos) CHECK(streamed == whole);
    }
  }
  CHECK_THROWS_WITH_AS(Tokenizer::FromDirectory(kLlmData + "chat"), doctest::Contains("no tokenizer.json"), Error);
  CHECK_THROWS_WITH_AS(Tokenizer::FromDirectory(kLlmData + "absent"), doctest::Contains("not a directory"), Error);
}

// A document of about 2 MB made of the fixture texts (every script, digits,
// code, runs of spaces), as ingest hands whole documents to Encode.
std::string LongDocument() {
  std::string unit;
  for (const json& c : Cases("qwen2")) unit += c["text"].get<std::string>() + "\n";
  std::string doc;
  while (doc.size() < (size_t(2) << 20)) doc += unit;
  return doc;
}

TEST_CASE("tokenizer: a 2 MB document encodes whole (SentencePiece: one word of 2 MB) and decodes back") {
  const std::string doc = LongDocument();
  for (const std::string name : {"sentencepiece-legacy", "sentencepiece-metaspace", "llama3", "gpt2-digits"}) {
    CAPTURE(name);
    const Tokenizer t = Fixture(name);
    std::vector<size_t> offsets;
    const std::vector<int32_t> ids = t.Encode(doc, {.add_special = false, .parse_special = false}, &offsets);
    CHECK(ids.size() > doc.size() / 8);
    CHECK(std::is_sorted(offsets.begin(), offsets.end()));
    CHECK(t.Decode(ids) == doc);
  }
}

}  // namespace
}  // namespace landmark
