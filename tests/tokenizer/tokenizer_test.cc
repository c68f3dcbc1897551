// Tokenizers against `tokenizers` 0.23 (tests/data/llm/tokenizers: ids of
// hard strings, decode) and the real stories260K tokenizer; chat templates
// against transformers' apply_chat_template (tests/data/llm/chat).
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "landmark/error.h"
#include "landmark/tokenizer.h"
#include "tests/temp_dir.h"

namespace landmark {
namespace {

using json = nlohmann::json;
const std::string kData = LANDMARK_TEST_DATA "/llm";

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

std::vector<int32_t> Ids(const json& j) { return j.get<std::vector<int32_t>>(); }

const char* kTokenizers[] = {"llama3", "qwen2", "gpt2-digits", "sentencepiece-legacy", "sentencepiece-metaspace"};

TEST_CASE("tokenizer: every hard string of every fixture tokenizer encodes and decodes as `tokenizers` does") {
  for (const char* name : kTokenizers) {
    CAPTURE(name);
    const std::string dir = kData + "/tokenizers/" + name;
    const Tokenizer t = Tokenizer::FromFile(dir + "/tokenizer.json");
    const json cases = ReadJson(dir + "/cases.json")["cases"];
    REQUIRE(cases.size() > 20);
    for (const json& c : cases) {
      const std::string text = c["text"].get<std::string>();
      CAPTURE(text);
      CHECK(t.Encode(text) == Ids(c["ids"]));
      CHECK(t.Encode(text, {false, true}) == Ids(c["ids_no_special"]));
      CHECK(t.Encode(text, {false, false}) == Ids(c["ids_specials_as_text"]));
      CHECK(t.Decode(Ids(c["ids"])) == c["decoded"].get<std::string>());
      CHECK(t.Decode(Ids(c["ids"]), true) == c["decoded_skip_special"].get<std::string>());
      std::vector<std::string> tokens;
      for (int32_t id : Ids(c["ids"])) tokens.push_back(t.TokenString(id));
      CHECK(tokens == c["tokens"].get<std::vector<std::string>>());
    }
  }
}

TEST_CASE("tokenizer: the real stories260K (Llama 2 SentencePiece, byte fallback) tokenizes as the reference") {
  const Tokenizer t = Tokenizer::FromDirectory(kData + "/stories260K/hf");
  CHECK(t.vocab_size() == 512);
  CHECK(t.bos_id() == 1);
  CHECK(t.eos_id() == 2);
  for (const json& c : ReadJson(kData + "/stories260K/reference/tokenizer_cases.json")) {
    const std::string text = c["text"].get<std::string>();
    CAPTURE(text);
    CHECK(t.Encode(text, {true, false}) == Ids(c["ids"]));
  }
  const json greedy = ReadJson(kData + "/stories260K/reference/greedy_256_ids.json");
  std::ifstream in(kData + "/stories260K/reference/greedy_256.txt");
  std::stringstream want;
  want << in.rdbuf();
  std::vector<int32_t> ids = greedy.is_array() ? Ids(greedy) : Ids(greedy["ids"]);
  const std::string text = t.Decode(ids);
  CHECK(!text.empty());
  CHECK(want.str().find(text.substr(0, 40)) != std::string::npos);
}

TEST_CASE("tokenizer: offsets point at each token's text in the input") {
  const Tokenizer t = Tokenizer::FromFile(kData + "/tokenizers/qwen2/tokenizer.json");
  const std::string text = "Hello, world! The pass key is 31415.\nCafé ok";
  std::vector<size_t> offsets;
  const std::vector<int32_t> ids = t.Encode(text, {false, false}, &offsets);
  REQUIRE(offsets.size() == ids.size());
  std::string rebuilt;
  for (size_t i = 0; i < ids.size(); ++i) {
    const size_t end = i + 1 < ids.size() ? offsets[i + 1] : text.size();
    CHECK(offsets[i] <= end);
    CHECK(t.Decode({ids[i]}) == text.substr(offsets[i], end - offsets[i]));
  }
}

TEST_CASE("tokenizer: a 2 MB document without a pre-tokenizer (one BPE word) encodes and round-trips") {
  const Tokenizer t = Tokenizer::FromFile(kData + "/tokenizers/sentencepiece-legacy/tokenizer.json");
  std::string text;
  while (text.size() < (size_t(2) << 20)) text += "The licence grants you the rights to copy 12345 times. ";
  const std::vector<int32_t> ids = t.Encode(text, {false, false});
  CHECK(ids.size() > text.size() / 8);
  CHECK(t.Decode(ids) == text.substr(0, text.size()));
}

TEST_CASE("tokenizer: the stream decoder gives the whole decode piece by piece") {
  for (const char* name : kTokenizers) {
    CAPTURE(name);
    const Tokenizer t = Tokenizer::FromFile(kData + "/tokenizers/" + name + "/tokenizer.json");
    const std::string text = "Emoji 😀 👋🏽 and CJK 你好 — café; numbers 12345.\n  spaces";
    const std::vector<int32_t> ids = t.Encode(text, {false, false});
    StreamDecoder stream(t, false);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.Next(id);
    streamed += stream.Flush();
    CHECK(streamed == t.Decode(ids));
  }
}

// A copy of the llama3 fixture tokenizer.json with `edit` applied.
std::string Damaged(const test::TempDir& dir, const std::function<void(json&)>& edit) {
  json j = ReadJson(kData + "/tokenizers/llama3/tokenizer.json");
  edit(j);
  const std::string path = dir / "tokenizer.json";
  std::ofstream(path) << j.dump();
  return path;
}

TEST_CASE("tokenizer: hostile tokenizer.json files are clear errors") {
  test::TempDir dir("tokenizer-bad");
  auto fails = [&](const std::function<void(json&)>& edit, const char* expected) {
    CAPTURE(expected);
    try {
      Tokenizer::FromFile(Damaged(dir, edit));
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(expected) != std::string::npos);
      CHECK(std::string(e.what()).find("tokenizer.json") != std::string::npos);
    }
  };
  fails([](json& j) { j["model"]["type"] = "WordPiece"; }, "WordPiece");
  fails([](json& j) { j["normalizer"] = {{"type", "BertNormalizer"}}; }, "BertNormalizer");
  fails([](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed"; }, "regex");
  fails([](json& j) { j["model"]["vocab"]["!"] = -3; }, "vocab");
  fails([](json& j) { j["model"]["merges"][0] = "x y z"; }, "merge");
  fails([](json& j) { j["model"]["merges"].push_back(json::array({"\xe2\x96\x81zz", "q"})); }, "merge");
  fails([](json& j) { j["decoder"] = {{"type", "WordPiece"}}; }, "WordPiece");
  fails([](json& j) { j["added_tokens"][0]["id"] = "seven"; }, "id");
  fails([](json& j) { j["model"].erase("vocab"); }, "vocab");
  {
    std::ofstream(dir / "tokenizer.json") << "{\"model\": {\"type\": \"BPE\", \"vocab\": {";  // truncated
    CHECK_THROWS_WITH_AS(Tokenizer::FromFile(dir / "tokenizer.json"), doctest::Contains("not valid JSON"), Error);
  }
  CHECK_THROWS_AS(Tokenizer::FromFile(dir / "missing.json"), Error);
  const Tokenizer t = Tokenizer::FromFile(kData + "/tokenizers/llama3/tokenizer.json");
  CHECK_THROWS_AS(t.Decode({int32_t(t.vocab_size())}), Error);
  CHECK_THROWS_AS(t.Decode({-1}), Error);
  CHECK(t.Encode("", {false, true}).empty());
}

TEST_CASE("chat templates: every fixture conversation renders as transformers renders it") {
  const json fixtures = ReadJson(kData + "/chat/templates.json")["templates"];
  REQUIRE(fixtures.size() == 10);
  for (const json& f : fixtures) {
    const std::string name = f["name"].get<std::string>();
    CAPTURE(name);
    const std::string bos = f["bos_token"].is_string() ? f["bos_token"].get<std::string>() : "";
    const std::string eos = f["eos_token"].is_string() ? f["eos_token"].get<std::string>() : "";
    if (name == "zephyr") {
      CHECK_THROWS_WITH_AS(ChatTemplate::Recognise(f["template"].get<std::string>(), bos, eos),
                           doctest::Contains("as the chat format"), Error);
      continue;
    }
    const ChatTemplate chat = ChatTemplate::Recognise(f["template"].get<std::string>(), bos, eos);
    for (const json& c : f["cases"]) {
      std::vector<ChatMessage> messages;
      for (const json& m : c["messages"]) messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
      const bool gen = c["add_generation_prompt"].get<bool>();
      CAPTURE(c.dump());
      if (c.contains("error")) {
        CHECK_THROWS_AS(chat.Render(messages, gen), Error);
      } else {
        CHECK(chat.Render(messages, gen) == c["rendered"].get<std::string>());
      }
    }
  }
  CHECK(ParseChatFormat("chatml") == ChatFormat::kChatMl);
  CHECK_THROWS_WITH_AS(ParseChatFormat("vicuna"), doctest::Contains("(expected llama2, llama3, chatml or mistral)"), Error);
}

TEST_CASE("chat templates: the model directories' own templates and their rendered ids") {
  const json fixtures = ReadJson(kData + "/chat/templates.json")["templates"];
  for (const char* model : {"llama3", "qwen2", "mistral", "llama2"}) {
    CAPTURE(model);
    const Tokenizer t = Tokenizer::FromDirectory(kData + "/models/" + model);
    const ChatTemplate chat = ChatTemplate::FromTokenizer(t);
    const std::string prompt = chat.Render({{"user", "Where is vault 7?"}}, true);
    CHECK(prompt.find("Where is vault 7?") != std::string::npos);
    CHECK(!t.Encode(prompt, {false, true}).empty());
  }
  // The llama3 fixture's ids of a rendered conversation (special tokens parsed, no BOS added).
  for (const json& f : fixtures) {
    if (f["name"] != "llama3.2" && f["name"] != "qwen2.5") continue;
    const Tokenizer t = Tokenizer::FromDirectory(kData + "/models/" + (f["name"] == "llama3.2" ? "llama3" : "qwen2"));
    for (const json& c : f["cases"]) {
      if (c.contains("ids")) CHECK(t.Encode(c["rendered"].get<std::string>(), {false, true}) == Ids(c["ids"]));
    }
  }
}

}  // namespace
}  // namespace landmark
