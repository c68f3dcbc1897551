// Chat templates against transformers' apply_chat_template on ten real
// templates (tests/data/llm/chat/templates.json): the family recognised,
// every conversation rendered exactly (or refused with the template's
// error), the rendered prompt's ids; forced formats and bad input.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "landmark/tokenizer.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace landmark {
namespace {

using nlohmann::json;
using test::kLlmData;

std::vector<ChatMessage> Messages(const json& list) {
  std::vector<ChatMessage> out;
  for (const json& m : list) out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  return out;
}

std::string Token(const json& value) { return value.is_null() ? "" : value.get<std::string>(); }

TEST_CASE("chat: every template of templates.json renders as transformers does") {
  // The family expected of each template, and the fixture tokenizer it was rendered with.
  const std::map<std::string, std::pair<ChatFormat, std::string>> expected = {
      {"llama2", {ChatFormat::kLlama2, "sentencepiece-legacy"}},
      {"llama3", {ChatFormat::kLlama3, "llama3"}},
      {"llama3.2", {ChatFormat::kLlama3, "llama3"}},
      {"qwen2", {ChatFormat::kChatMl, "qwen2"}},
      {"qwen2.5", {ChatFormat::kChatMl, "qwen2"}},
      {"chatml", {ChatFormat::kChatMl, "qwen2"}},
      {"smollm2", {ChatFormat::kChatMl, "qwen2"}},
      {"mistral-v0.1", {ChatFormat::kMistral, "sentencepiece-legacy"}},
      {"mistral-v0.3", {ChatFormat::kMistral, "sentencepiece-legacy"}}};
  const json templates = test::ReadJson(kLlmData + "chat/templates.json")["templates"];
  CHECK(templates.size() == 10);
  size_t rendered = 0, refused = 0;
  for (const json& entry : templates) {
    const std::string name = entry["name"];
    CAPTURE(name);
    const std::string jinja = entry["template"];
    if (name == "zephyr") {  // not a family landmark knows
      CHECK_THROWS_WITH_AS(ChatTemplate::Recognise(jinja, "<s>", "</s>"), doctest::Contains("as the chat format"),
                           Error);
      CHECK_THROWS_WITH_AS(ChatTemplate::Recognise(jinja, "<s>", "</s>"),
                           doctest::Contains("llama2 ([INST] with <<SYS>>), llama3 (<|start_header_id|>), chatml"),
                           Error);
      CHECK_THROWS_WITH_AS(ChatTemplate::Recognise(jinja, "<s>", "</s>"), doctest::Contains("or \"raw\""), Error);
      continue;
    }
    REQUIRE(expected.count(name) == 1);
    const auto& [format, tokenizer_name] = expected.at(name);
    const ChatTemplate chat = ChatTemplate::Recognise(jinja, Token(entry["bos_token"]), Token(entry["eos_token"]));
    CHECK(chat.format() == format);
    const Tokenizer tok = Tokenizer::FromFile(kLlmData + "tokenizers/" + tokenizer_name + "/tokenizer.json");
    for (const json& c : entry["cases"]) {
      const std::vector<ChatMessage> messages = Messages(c["messages"]);
      const bool generation = c["add_generation_prompt"];
      CAPTURE(c["messages"].dump());
      CAPTURE(generation);
      if (c.contains("error")) {
        CHECK_THROWS_WITH_AS(chat.Render(messages, generation),
                             doctest::Contains(c["error"].get<std::string>().c_str()), Error);
        ++refused;
        continue;
      }
      const std::string prompt = chat.Render(messages, generation);
      CHECK(prompt == c["rendered"].get<std::string>());
      CHECK(tok.Encode(prompt, {.add_special = false}) == c["ids"].get<std::vector<int32_t>>());
      ++rendered;
    }
  }
  CHECK(rendered == 68);
  CHECK(refused == 4);
}

TEST_CASE("chat: what Recognise reads from the template text") {
  std::map<std::string, ChatTemplate::Variant> variants;
  const json templates = test::ReadJson(kLlmData + "chat/templates.json")["templates"];
  for (const json& entry : templates) {
    const std::string name = entry["name"];
    if (name == "zephyr") continue;
    variants[name] = ChatTemplate::Recognise(entry["template"].get<std::string>(), "", "").variant();
  }
  CHECK(variants["qwen2"].default_system == "You are a helpful assistant.");
  CHECK(variants["qwen2.5"].default_system == "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  CHECK(variants["smollm2"].default_system == "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  CHECK(variants["chatml"].default_system.empty());
  CHECK(variants["llama3.2"].dated_system_header);
  CHECK_FALSE(variants["llama3"].dated_system_header);
  CHECK(variants["mistral-v0.1"].inst_space);
  CHECK_FALSE(variants["mistral-v0.1"].system_with_last_user);
  CHECK_FALSE(variants["mistral-v0.3"].inst_space);
  CHECK(variants["mistral-v0.3"].assistant_space);
  CHECK(variants["mistral-v0.3"].system_with_last_user);
  CHECK_FALSE(variants["mistral-v0.3"].trim_content);

  // The loop of Mistral-7B-Instruct-v0.3's template as published: double
  // quotes, answers trimmed.
  const std::string published =
      "{%- if messages[0][\"role\"] == \"system\" %}{%- set system_message = messages[0][\"content\"] %}"
      "{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}"
      "{{- bos_token }}{%- for message in loop_messages %}{%- if message[\"role\"] == \"user\" %}"
      "{%- if loop.last and system_message is defined %}"
      "{{- \"[INST] \" + system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}"
      "{%- else %}{{- \"[INST] \" + message[\"content\"] + \"[/INST]\" }}{%- endif %}"
      "{%- elif message[\"role\"] == \"assistant\" %}{{- \" \" + message[\"content\"]|trim + eos_token}}"
      "{%- endif %}{%- endfor %}";
  const ChatTemplate v03 = ChatTemplate::Recognise(published, "<s>", "</s>");
  CHECK(v03.format() == ChatFormat::kMistral);
  CHECK(v03.Render({{"system", "S"}, {"user", "Hi"}, {"assistant", " Hello "}, {"user", "Q"}}, true) ==
        "<s>[INST] Hi[/INST] Hello</s>[INST] S\n\nQ[/INST]");
}

TEST_CASE("chat: the models' own templates, the date, forced formats, bad conversations") {
  const Tokenizer llama3 = Tokenizer::FromDirectory(kLlmData + "models/llama3");
  ChatTemplate chat = ChatTemplate::FromTokenizer(llama3);
  CHECK(chat.format() == ChatFormat::kLlama3);
  chat.set_date_string("04 Dec 2025");
  const std::string prompt = chat.Render({{"user", "Hi"}}, true);
  CHECK(prompt ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
        "Today Date: 04 Dec 2025\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  const std::vector<int32_t> ids = llama3.Encode(prompt, {.add_special = false});
  CHECK(ids.front() == llama3.bos_id());
  CHECK(std::count(ids.begin(), ids.end(), llama3.TokenId("<|eot_id|>")) == 2);

  const ChatTemplate qwen = ChatTemplate::FromTokenizer(Tokenizer::FromDirectory(kLlmData + "models/qwen2"));
  CHECK(qwen.variant().default_system == "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");

  for (ChatFormat f : {ChatFormat::kLlama2, ChatFormat::kLlama3, ChatFormat::kChatMl, ChatFormat::kMistral}) {
    CHECK(ParseChatFormat(Name(f)) == f);
    CHECK_FALSE(ChatTemplate::FromFormat(f, "<s>", "</s>").Render({{"user", "Q"}}, true).empty());
  }
  CHECK_THROWS_WITH_AS(ParseChatFormat("vicuna"), doctest::Contains("(expected llama2, llama3, chatml or mistral)"), Error);
  CHECK(ChatTemplate::FromFormat(ChatFormat::kMistral, "<s>", "</s>").Render({{"system", "S"}, {"user", "Q"}}, true) ==
        "<s>[INST] S\n\nQ[/INST]");
  CHECK(ChatTemplate::FromFormat(ChatFormat::kChatMl, "", "").Render({{"user", "Q"}}, false) ==
        "<|im_start|>user\nQ<|im_end|>\n");

  const ChatTemplate llama2 = ChatTemplate::FromFormat(ChatFormat::kLlama2, "<s>", "</s>");
  CHECK_THROWS_WITH_AS(llama2.Render({{"user", "a"}, {"user", "b"}}, true), doctest::Contains("must alternate"), Error);
  CHECK_THROWS_WITH_AS(llama2.Render({{"tool", "{}"}}, true), doctest::Contains("role 'tool'"), Error);
  CHECK_THROWS_WITH_AS(llama2.Render({}, true), doctest::Contains("no messages"), Error);

  const Tokenizer stories = Tokenizer::FromDirectory(kLlmData + "stories260K/hf");
  CHECK_THROWS_WITH_AS(ChatTemplate::FromTokenizer(stories), doctest::Contains("choose a chat format"), Error);
  CHECK_THROWS_WITH_AS(ChatTemplate::FromTokenizer(stories), doctest::Contains("or \"raw\""), Error);
}

}  // namespace
}  // namespace landmark
