// Stands in for the tokenizer (include/landmark/tokenizer.h) until its
// implementation is in the library; src/cli/CMakeLists.txt drops this file
// as soon as a library source defines Tokenizer::FromDirectory. Only what
// `landmark generate` calls is here, and every path refuses with the same
// message: text prompts need the tokenizer, --ids works without it.
#include "landmark/error.h"
#include "landmark/tokenizer.h"

namespace landmark {
namespace {

[[noreturn]] void Pending() {
  LANDMARK_THROW("this build has no tokenizer yet (include/landmark/tokenizer.h is being implemented): give the "
                 "prompt as token ids with --ids");
}

}  // namespace

struct Tokenizer::Impl {};
Tokenizer Tokenizer::FromDirectory(const std::string&) { Pending(); }
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
std::vector<int32_t> Tokenizer::Encode(std::string_view, const EncodeOptions&, std::vector<size_t>*) const { Pending(); }
int32_t Tokenizer::TokenId(std::string_view) const { Pending(); }
int32_t Tokenizer::eos_id() const { Pending(); }
const std::string& Tokenizer::bos_token() const { Pending(); }
const std::string& Tokenizer::eos_token() const { Pending(); }
StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {
  (void)tokenizer_, (void)skip_special_, (void)emitted_;  // the real decoder's state
  Pending();
}
std::string StreamDecoder::Next(int32_t) { Pending(); }
std::string StreamDecoder::Flush() { Pending(); }
ChatFormat ParseChatFormat(std::string_view) { Pending(); }
ChatTemplate ChatTemplate::FromTokenizer(const Tokenizer&) { Pending(); }
ChatTemplate ChatTemplate::FromFormat(ChatFormat, std::string, std::string) { Pending(); }
std::string ChatTemplate::Render(const std::vector<ChatMessage>&, bool) const { Pending(); }

}  // namespace landmark
