// The C API of pretrained LLMs: load a Hugging Face directory, generate,
// ingest documents into a store, ask it (include/landmark/landmark.h).
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "landmark/llm.h"
#include "landmark/llm_store.h"
#include "landmark/tokenizer.h"
#include "src/capi/capi.h"
#include "src/io/text_files.h"
#include "src/llm/prompt.h"

namespace landmark::capi {

struct LlmObject {
  static constexpr Kind kKind = Kind::kLlm;
  std::optional<llm::LlmModel> model;
  std::optional<Tokenizer> tokenizer;
};
struct LlmAnswererObject {
  static constexpr Kind kKind = Kind::kLlmAnswerer;
  std::shared_ptr<const LlmObject> llm;  // the model outlives the answerer
  std::optional<llm::LlmAnswerer> answerer;
};
struct LlmAnswerObject {
  static constexpr Kind kKind = Kind::kLlmAnswer;
  std::string text;
  landmark_llm_answer_stats stats{};
  std::vector<llm::LlmSourceUse> sources;
};

namespace {

std::string OptionalStr(const char* text) { return text ? text : ""; }

void CheckFinite(double value, const char* what) {
  if (std::isnan(value) || std::isinf(value)) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, std::string(what) + " must be a finite number");
  }
}

// The generation options (NULL: the defaults) as the library's.
struct Generation {
  landmark_generation_options c{};
  llm::GenerateOptions options;
  llm::PromptOptions prompt;

  Generation(const landmark_generation_options* o, const llm::LlmModel& model) {
    if (o) {
      c = Options(o, "options");
    } else {
      landmark_generation_options_init(&c);
    }
    CheckFinite(c.temperature, "options.temperature");
    CheckFinite(c.top_p, "options.top_p");
    if (c.top_p > 1) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "options.top_p must be at most 1");
    if (c.max_tokens == 0) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "options.max_tokens must be at least 1");
    options.max_tokens = c.max_tokens;
    options.sampling = llm::ResolveSampling(model.config().generation, c.temperature, c.top_p, c.top_k, c.seed);
    prompt.chat_format = OptionalStr(c.chat_format);
    prompt.system = OptionalStr(c.system);
  }

  std::function<bool(std::string_view)> OnText() const {
    if (!c.on_text) return {};
    const landmark_text_fn fn = c.on_text;
    void* user = c.user_data;
    return [fn, user](std::string_view text) { return fn(text.data(), text.size(), user) == 0; };
  }
};

llm::LlmRetrievalOptions Retrieval(const landmark_llm_retrieval_options& o) {
  llm::LlmRetrievalOptions r;
  r.sink_chunks = o.sink_chunks;
  r.window = o.window;
  r.top_k = o.top_k;
  return r;
}

// Ingest options and the progress bridge (a callback's "stop" ends the ingest).
struct LlmIngestRun {
  landmark_llm_ingest_options c{};
  llm::LlmIngestOptions options;
  landmark_progress progress{};
  bool cancelled = false;

  explicit LlmIngestRun(const landmark_llm_ingest_options* o) {
    if (o) {
      c = Options(o, "options");
    } else {
      landmark_llm_ingest_options_init(&c);
    }
    if (c.chunk_size == 0) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "options.chunk_size must be at least 1");
    options.chunk_size = c.chunk_size;
    options.dtype = DTypeFromC(Raw(c.dtype), "options.dtype");
    options.landmark = KindFromC(Raw(c.landmark), "options.landmark");
    if (options.landmark == LandmarkKind::kLearned) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "options.landmark: an LLM store takes MEAN or MINMAX landmarks");
    }
    options.segment = c.segment;
    options.chat_format = OptionalStr(c.chat_format);
    options.system = OptionalStr(c.system);
    options.retrieval = Retrieval(Options(&c.retrieval, "options.retrieval"));
    if (c.progress) {
      options.progress = [this](uint64_t tokens, uint64_t bytes) {
        progress.tokens = tokens;
        progress.input_bytes = bytes;
        cancelled = c.progress(&progress, c.user_data) != 0;
        return !cancelled;
      };
    }
  }

  // Runs `add` (one document) and maps a callback's stop to CANCELLED.
  template <class Add>
  bool Run(Add&& add) {
    try {
      return add();
    } catch (const Error& e) {
      if (cancelled) Fail(LANDMARK_ERROR_CANCELLED, e.what());
      throw;
    }
  }
};

std::shared_ptr<LlmAnswerObject> AnswerOf(const llm::TextResult& r) {
  auto a = std::make_shared<LlmAnswerObject>();
  a->text = r.text;
  a->stats.prompt_tokens = r.result.prompt_tokens;
  a->stats.generated_tokens = r.result.tokens.size();
  a->stats.stopped = r.result.stop == llm::StopReason::kEos;
  a->stats.prefill_seconds = r.result.prefill_seconds;
  a->stats.decode_seconds = r.result.decode_seconds;
  return a;
}

}  // namespace
}  // namespace landmark::capi

using namespace landmark;
using namespace landmark::capi;

extern "C" {

landmark_status landmark_llm_load(const char* dir, landmark_llm** llm) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    NotNull(llm, "llm") = nullptr;
    auto object = std::make_shared<LlmObject>();
    object->model.emplace(llm::LlmModel::Load(Str(dir, "dir")));
    object->tokenizer.emplace(Tokenizer::FromDirectory(dir));
    *llm = Add<LlmObject, landmark_llm>(object);
  });
}

landmark_status landmark_llm_describe(const landmark_llm* llm, char* buffer, size_t capacity, size_t* length) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto object = Get<LlmObject>(llm, "llm");
    const llm::LlmConfig& c = object->model->config();
    nlohmann::ordered_json j;
    j["dir"] = c.dir;
    j["architecture"] = llm::Name(c.architecture);
    j["layers"] = c.layers;
    j["hidden_size"] = c.hidden_size;
    j["intermediate_size"] = c.intermediate_size;
    j["q_heads"] = c.q_heads;
    j["kv_heads"] = c.kv_heads;
    j["head_dim"] = c.head_dim;
    j["vocab_size"] = c.vocab_size;
    j["parameters"] = c.parameters();
    j["weight_dtype"] = Name(object->model->weight_dtype());
    j["trained_context"] = c.max_position_embeddings;
    j["chat_template"] = !object->tokenizer->chat_template().empty();
    CopyOut(j.dump(), buffer, capacity, length);
  });
}

landmark_status landmark_llm_close(landmark_llm* llm) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { Take<LlmObject>(llm, "llm"); });
}

void landmark_generation_options_init(landmark_generation_options* options) {
  if (!options) return;
  *options = landmark_generation_options{};
  options->struct_size = sizeof(*options);
  options->max_tokens = llm::GenerateOptions().max_tokens;
  options->temperature = -1;
  options->top_p = -1;
  options->top_k = -1;
}

landmark_status landmark_llm_generate(const landmark_llm* llm, const char* prompt,
                                      const landmark_generation_options* options, landmark_llm_answer** answer) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    NotNull(answer, "answer") = nullptr;
    const auto object = Get<LlmObject>(llm, "llm");
    Str(prompt, "prompt");
    const Generation g(options, *object->model);
    const llm::ChatPrompt chat = llm::MakePrompt(*object->model, *object->tokenizer, prompt, g.prompt);
    llm::LlmSession session(*object->model);
    *answer = Add<LlmAnswerObject, landmark_llm_answer>(
        AnswerOf(llm::GenerateText(session, *object->tokenizer, chat, g.options, g.OnText())));
  });
}

void landmark_llm_retrieval_options_init(landmark_llm_retrieval_options* options) {
  if (!options) return;
  const llm::LlmRetrievalOptions d;
  *options = landmark_llm_retrieval_options{};
  options->struct_size = sizeof(*options);
  options->sink_chunks = d.sink_chunks;
  options->window = d.window;
  options->top_k = d.top_k;
}

void landmark_llm_ingest_options_init(landmark_llm_ingest_options* options) {
  if (!options) return;
  const llm::LlmIngestOptions d;
  *options = landmark_llm_ingest_options{};
  options->struct_size = sizeof(*options);
  options->chunk_size = d.chunk_size;
  options->dtype = LANDMARK_F16;
  options->landmark = LANDMARK_KIND_MEAN;
  options->segment = d.segment;
  landmark_llm_retrieval_options_init(&options->retrieval);
}

landmark_status landmark_llm_ingest_files(const landmark_llm* llm, const char* dir, const char* const* paths,
                                          size_t count, const landmark_llm_ingest_options* options,
                                          landmark_ingest_stats* stats) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto object = Get<LlmObject>(llm, "llm");
    Str(dir, "dir");
    if (count > 0) NotNull(paths, "paths");
    LlmIngestRun run(options);
    std::vector<std::string> inputs;
    for (size_t i = 0; i < count; ++i) inputs.emplace_back(Str(paths[i], "paths[i]"));
    if (inputs.empty()) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "nothing to ingest (no paths)");
    landmark_ingest_stats s{};
    const TextInputs text = As(LANDMARK_ERROR_IO, [&] { return CollectTextFiles(inputs, run.c.strict != 0); });
    const std::vector<std::string>& files = text.files;
    s.skipped = text.skipped;
    run.progress.input_total = text.bytes;
    if (files.empty()) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "no text files among the paths");
    run.progress.files_total = files.size();
    llm::LlmIngest ingest = llm::LlmIngest::Open(*object->model, dir, run.options);
    const uint64_t before = ingest.tokens();
    for (const std::string& file : files) {
      run.progress.current = file.c_str();
      if (run.Run([&] { return ingest.AddFile(file); })) {
        ++s.files;
      } else {
        ++s.skipped;  // already in the store
      }
      ++run.progress.files_done;
    }
    run.Run([&] {
      ingest.Finish();
      return true;
    });
    s.tokens = ingest.tokens() - before;
    s.input_bytes = run.progress.input_total;
    if (stats) *stats = s;
  });
}

landmark_status landmark_llm_ingest_text(const landmark_llm* llm, const char* dir, const char* name, const char* text,
                                         size_t length, const landmark_llm_ingest_options* options,
                                         landmark_ingest_stats* stats) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto object = Get<LlmObject>(llm, "llm");
    Str(dir, "dir");
    Str(name, "name");
    if (length > 0) NotNull(text, "text");
    const std::string_view body(text ? text : "", length);
    const std::string why = CheckText(body);
    if (!why.empty()) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, std::string(name) + ": " + why);
    LlmIngestRun run(options);
    run.progress.input_total = length;
    run.progress.files_total = 1;
    run.progress.current = name;
    llm::LlmIngest ingest = llm::LlmIngest::Open(*object->model, dir, run.options);
    const uint64_t before = ingest.tokens();
    landmark_ingest_stats s{};
    (run.Run([&] { return ingest.AddText(name, body); }) ? s.files : s.skipped) = 1;
    run.Run([&] {
      ingest.Finish();
      return true;
    });
    s.tokens = ingest.tokens() - before;
    s.input_bytes = length;
    if (stats) *stats = s;
  });
}

landmark_status landmark_llm_answerer_open(const landmark_llm* llm, const char* dir,
                                           const landmark_llm_retrieval_options* options,
                                           landmark_llm_answerer** answerer) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    NotNull(answerer, "answerer") = nullptr;
    const auto object = Get<LlmObject>(llm, "llm");
    Str(dir, "dir");
    landmark_llm_retrieval_options o;
    landmark_llm_retrieval_options_init(&o);
    if (options) o = Options(options, "options");
    auto a = std::make_shared<LlmAnswererObject>();
    a->llm = object;
    a->answerer.emplace(*object->model, dir, Retrieval(o));
    *answerer = Add<LlmAnswererObject, landmark_llm_answerer>(a);
  });
}

landmark_status landmark_llm_ask(const landmark_llm_answerer* answerer, const char* question,
                                 const landmark_generation_options* options, landmark_llm_answer** answer) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    NotNull(answer, "answer") = nullptr;
    const auto object = Get<LlmAnswererObject>(answerer, "answerer");
    Str(question, "question");
    const Generation g(options, *object->llm->model);
    if (!g.prompt.chat_format.empty() || !g.prompt.system.empty()) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT,
           "options.chat_format / options.system: a store keeps the chat format and system message it was ingested with");
    }
    const llm::LlmAnswer r = object->answerer->Ask(question, g.options, g.OnText());
    auto a = std::make_shared<LlmAnswerObject>();
    a->text = r.text;
    a->stats.prompt_tokens = r.question_tokens;
    a->stats.generated_tokens = r.tokens.size();
    a->stats.stopped = r.stopped;
    a->stats.prefill_seconds = r.prefill_seconds;
    a->stats.decode_seconds = r.decode_seconds;
    a->sources = r.sources;
    *answer = Add<LlmAnswerObject, landmark_llm_answer>(a);
  });
}

landmark_status landmark_llm_answerer_close(landmark_llm_answerer* answerer) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { Take<LlmAnswererObject>(answerer, "answerer"); });
}

landmark_status landmark_llm_answer_text(const landmark_llm_answer* answer, const char** text, size_t* length) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto a = Get<LlmAnswerObject>(answer, "answer");
    NotNull(text, "text") = a->text.c_str();
    if (length) *length = a->text.size();
  });
}

landmark_status landmark_llm_answer_stats_get(const landmark_llm_answer* answer, landmark_llm_answer_stats* stats) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    NotNull(stats, "stats") = Get<LlmAnswerObject>(answer, "answer")->stats;
  });
}

landmark_status landmark_llm_answer_source_count(const landmark_llm_answer* answer, size_t* count) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    NotNull(count, "count") = Get<LlmAnswerObject>(answer, "answer")->sources.size();
  });
}

landmark_status landmark_llm_answer_source(const landmark_llm_answer* answer, size_t index,
                                           landmark_llm_source* source) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto a = Get<LlmAnswerObject>(answer, "answer");
    landmark_llm_source& out = NotNull(source, "source");
    if (index >= a->sources.size()) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT,
           "source " + std::to_string(index) + " out of range (" + std::to_string(a->sources.size()) + " sources)");
    }
    const llm::LlmSourceUse& s = a->sources[index];
    out.document = s.document.c_str();
    out.offset = s.source.offset;
    out.chunk = s.chunk;
    out.share = s.share;
    out.text = s.text.c_str();
    out.text_length = s.text.size();
  });
}

landmark_status landmark_llm_answer_close(landmark_llm_answer* answer) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { Take<LlmAnswerObject>(answer, "answer"); });
}

}  // extern "C"
