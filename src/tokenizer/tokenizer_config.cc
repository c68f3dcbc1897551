// tokenizer_config.json (bos/eos tokens, the chat template) and
// chat_template.jinja, which transformers 5 writes beside it and which
// takes precedence, as in transformers.

#include <cstdint>
#include <filesystem>

#include "landmark/error.h"
#include "src/io/mapped_file.h"
#include "src/tokenizer/tokenizer_impl.h"

namespace landmark::tokenizer {
namespace {

// "<s>" or {"content": "<s>", ...} (an AddedToken); "" when absent.
std::string TokenContent(const Json& config, std::string_view key, const Where& where) {
  const Json* value = Optional(config, key, where);
  if (value == nullptr) return "";
  if (value->is_object()) return StringMember(*value, "content", where / key);
  return AsString(*value, where / key);
}

// A string, or a list of {"name", "template"} of which "default" is taken
// ("" when there is none: transformers then asks for a name).
std::string ChatTemplateText(const Json& config, const Where& where) {
  const Json* value = Optional(config, "chat_template", where);
  if (value == nullptr) return "";
  const Where w = where / "chat_template";
  if (value->is_string()) return value->get<std::string>();
  const Json& list = AsArray(*value, w);
  for (size_t i = 0; i < list.size(); ++i) {
    if (StringMember(list[i], "name", w[i]) == "default") return StringMember(list[i], "template", w[i]);
  }
  return "";
}

int32_t IdOf(const Tokenizer::Impl& impl, const std::string& token, const Where& where) {
  const int32_t added = impl.added.TokenId(token);
  const int32_t id = added >= 0 ? added : impl.model->TokenId(token);
  if (id < 0) where.Fail("'" + token + "' is not in the vocabulary of " + impl.path);
  return id;
}

}  // namespace

void LoadTokenizerConfig(const std::string& dir, Tokenizer::Impl& impl) {
  const std::string config_path = (std::filesystem::path(dir) / "tokenizer_config.json").string();
  if (std::filesystem::exists(config_path)) {
    const Json config = ReadJsonFile(config_path);
    const Where where(config_path, "");
    AsObject(config, where);
    impl.bos_token = TokenContent(config, "bos_token", where);
    impl.eos_token = TokenContent(config, "eos_token", where);
    impl.chat_template = ChatTemplateText(config, where);
    if (!impl.bos_token.empty()) impl.bos_id = IdOf(impl, impl.bos_token, where / "bos_token");
    if (!impl.eos_token.empty()) impl.eos_id = IdOf(impl, impl.eos_token, where / "eos_token");
  }
  const std::string jinja_path = (std::filesystem::path(dir) / "chat_template.jinja").string();
  if (std::filesystem::exists(jinja_path)) {
    const MappedFile jinja(jinja_path);
    impl.chat_template.assign(reinterpret_cast<const char*>(jinja.data()), jinja.size());
  }
}

}  // namespace landmark::tokenizer
