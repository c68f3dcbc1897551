// tokenizer.json: the components in the order `tokenizers` builds them
// (the normalizer before the added tokens, which may be normalized; the
// model before the post-processor, whose ids it checks).

#include "landmark/error.h"
#include "src/tokenizer/tokenizer_impl.h"

namespace landmark::tokenizer {

std::unique_ptr<Tokenizer::Impl> LoadTokenizerJson(const std::string& path) {
  const Json root = ReadJsonFile(path);
  const Where where(path, "");
  AsObject(root, where);
  if (const auto version = OptionalString(root, "version", where); version && *version != "1.0") {
    (where / "version").Fail("unknown tokenizer.json version '" + *version + "' (expected 1.0)");
  }
  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->path = path;
  if (const Json* n = Optional(root, "normalizer", where)) impl->normalizer = ParseNormalizer(*n, where / "normalizer");
  if (const Json* p = Optional(root, "pre_tokenizer", where)) {
    impl->pre_tokenizer = ParsePreTokenizer(*p, where / "pre_tokenizer");
  }
  impl->model = std::make_unique<Bpe>(Member(root, "model", where), where / "model");
  if (const Json* added = Optional(root, "added_tokens", where)) {
    impl->added.Parse(*added, where / "added_tokens", *impl->model, impl->normalizer.get());
  }
  impl->end_id = std::max(impl->model->end_id(), impl->added.end_id());
  if (const Json* p = Optional(root, "post_processor", where)) {
    impl->post_processor = ParsePostProcessor(*p, where / "post_processor", impl->end_id);
  }
  if (const Json* d = Optional(root, "decoder", where)) impl->decoder = ParseDecoder(*d, where / "decoder");
  return impl;
}

}  // namespace landmark::tokenizer
