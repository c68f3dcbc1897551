// C API: landmark's byte model (include/landmark/model.h) — load, ingest
// text into a store, answer questions, refusing those it was not trained on.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "landmark/error.h"
#include "landmark/model.h"
#include "src/capi/capi.h"
#include "src/io/text_files.h"

namespace landmark::capi {
namespace {

struct ModelObject {
  static constexpr Kind kKind = Kind::kModel;
  std::optional<Model> model;
};

// A store this model wrote is continued; anything else is created.
ModelIngest OpenIngest(const Model& model, const std::string& dir) {
  const bool exists = std::filesystem::exists(std::filesystem::path(dir) / "manifest.json");
  return exists ? ModelIngest::Append(model, dir) : ModelIngest::Create(model, dir);
}

}  // namespace
}  // namespace landmark::capi

using namespace landmark;        // NOLINT: the C entry points below
using namespace landmark::capi;  // NOLINT

extern "C" {

landmark_status landmark_model_load(const char* spec, landmark_model** model) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    Str(spec, "spec");
    NotNull(model, "model");
    *model = nullptr;
    auto object = std::make_shared<ModelObject>();
    object->model.emplace(Model::LoadSpec(spec));
    *model = Add<ModelObject, landmark_model>(object);
  });
}

landmark_status landmark_model_config_json(const landmark_model* model, char* buffer, size_t capacity,
                                           size_t* length) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto m = Get<ModelObject>(model, "model");
    CopyOut(m->model->config().ToJson(), buffer, capacity, length);
  });
}

landmark_status landmark_model_close(landmark_model* model) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { Take<ModelObject>(model, "model"); });
}

const char* landmark_model_task(void) { return kPassKeyTask; }

landmark_status landmark_model_ingest_files(const landmark_model* model, const char* dir, const char* const* paths,
                                            size_t count, uint64_t* tokens) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto m = Get<ModelObject>(model, "model");
    Str(dir, "dir");
    if (count > 0) NotNull(paths, "paths");
    std::vector<std::string> inputs;
    for (size_t i = 0; i < count; ++i) inputs.emplace_back(Str(paths[i], "paths[i]"));
    if (inputs.empty()) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "paths: nothing to ingest");
    const std::vector<std::string> files = As(LANDMARK_ERROR_IO, [&] { return ListTextFiles(inputs); });
    for (const std::string& file : files) {  // all checked before the store changes
      const std::string why = CheckTextFile(file);
      if (!why.empty()) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, file + ": " + why);
    }
    ModelIngest ingest = OpenIngest(*m->model, dir);
    std::string piece;
    for (const std::string& file : files) {
      TextPieces pieces(file, size_t(1) << 20);
      ingest.BeginDocument();
      while (pieces.Next(piece)) ingest.Add(piece);
    }
    ingest.Finish();
    if (tokens) *tokens = ingest.tokens();
  });
}

landmark_status landmark_model_ingest_text(const landmark_model* model, const char* dir, const char* text,
                                           size_t length, uint64_t* tokens) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto m = Get<ModelObject>(model, "model");
    Str(dir, "dir");
    if (length > 0) NotNull(text, "text");
    const std::string_view bytes(text ? text : "", length);
    const std::string why = CheckText(bytes);
    if (!why.empty()) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "text: " + why);
    ModelIngest ingest = OpenIngest(*m->model, dir);
    ingest.BeginDocument();
    ingest.Add(bytes);
    ingest.Finish();
    if (tokens) *tokens = ingest.tokens();
  });
}

void landmark_model_answer_init(landmark_model_answer* answer) {
  if (answer == nullptr) return;
  std::memset(answer, 0, sizeof(*answer));
  answer->struct_size = sizeof(*answer);
}

landmark_status landmark_model_ask(const landmark_model* model, const char* dir, const char* question,
                                   size_t max_bytes, int raw, char* buffer, size_t capacity, size_t* length,
                                   landmark_model_answer* answer) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto m = Get<ModelObject>(model, "model");
    Str(dir, "dir");
    const std::string q = Str(question, "question");
    if (answer && answer->struct_size != sizeof(landmark_model_answer)) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "answer: struct_size is " + std::to_string(answer->struct_size) +
                                                ", this library's is " + std::to_string(sizeof(landmark_model_answer)) +
                                                " (call landmark_model_answer_init first)");
    }
    if (max_bytes < 1 || max_bytes > 65536) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "max_bytes must be in [1, 65536], is " + std::to_string(max_bytes));
    }
    const std::string framed = raw ? q : PassKeyQuestion(q);
    if (framed.empty()) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "\"" + q + "\" is not a question landmark's byte model can answer: it "
                                                "was trained on one kind, " + kPassKeyTask +
                                                "; to anything else it would make an answer up (raw = 1 sends the "
                                                "bytes as given)");
    }
    const ModelAnswerer answerer(*m->model, dir);
    const ModelAnswer r = As(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { return answerer.Ask(framed, max_bytes); });
    CopyOut(r.text, buffer, capacity, length);
    if (answer) {
      answer->stopped = r.stopped ? 1 : 0;
      answer->steps = r.steps;
      answer->seconds = r.seconds;
      answer->bytes_read = r.bytes_touched;
    }
  });
}

}  // extern "C"
