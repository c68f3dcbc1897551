// C API: presets, store shapes and info, the writer (tensors, text, files)
// and the read-only store.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "landmark/error.h"
#include "landmark/ingest.h"
#include "landmark/text_index.h"
#include "src/capi/capi.h"
#include "src/io/text_files.h"

namespace landmark::capi {
namespace {

landmark_dtype ToC(DType t) { return t == DType::kF32 ? LANDMARK_F32 : t == DType::kF16 ? LANDMARK_F16 : LANDMARK_BF16; }

// The shape's fields of a C struct that has them (store info, store options).
template <class C>
void ShapeToC(const StoreShape& s, C& out) {
  out.chunk_size = s.chunk_size;
  out.kv_heads = s.kv_heads;
  out.head_dim = s.head_dim;
  out.dtype = ToC(s.dtype);
  out.landmark = landmark_landmark_kind(int(s.landmark));
  out.landmark_heads = s.landmark_heads;
  out.landmark_dim = s.landmark_dim;
}

void ToC(const StoreInfo& i, landmark_store_info& out) {
  ShapeToC(i.shape, out);
  out.commit = i.commit;
  out.chunks = i.chunks;
  out.tokens = i.tokens;
  out.tail_tokens = i.tail_tokens;
  out.kv_bytes = i.kv_bytes;
  out.landmark_bytes = i.landmark_bytes;
  out.text_bytes = i.text_bytes;
  out.has_text = i.has_text;
  const auto encoder = i.metadata.find("encoder");
  out.text_encoder = encoder != i.metadata.end() && encoder->second == "hashing";
}

landmark_store_info& InfoOut(landmark_store_info* info) {
  landmark_store_info& out = NotNull(info, "info");
  if (out.struct_size != sizeof(landmark_store_info)) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "info: struct_size is " + std::to_string(out.struct_size) +
                                              ", this library's is " + std::to_string(sizeof(landmark_store_info)) +
                                              " (call landmark_store_info_init first)");
  }
  return out;
}

// The store's options from the C ones (dtype and landmark checked, the shape not).
StoreOptions OptionsOf(const landmark_store_options& o) {
  StoreOptions options;
  StoreShape& s = options.shape;
  s.chunk_size = o.chunk_size;
  s.kv_heads = o.kv_heads;
  s.head_dim = o.head_dim;
  s.dtype = DTypeFromC(Raw(o.dtype), "options.dtype");
  s.landmark = KindFromC(Raw(o.landmark), "options.landmark");
  s.landmark_heads = o.landmark_heads;
  s.landmark_dim = o.landmark_dim;
  options.commit_every = o.commit_every;
  options.segment_bytes = o.segment_bytes;
  return options;
}

StoreOptions FromC(const landmark_store_options& o) {
  StoreOptions options = OptionsOf(o);
  As(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { options.shape.Validate(); });
  return options;
}

// The C options from the store's and the text encoder's (the fields the struct holds).
void ToC(const StoreOptions& options, const HashingEncoderOptions& e, landmark_store_options& o) {
  ShapeToC(options.shape, o);
  o.commit_every = options.commit_every;
  o.segment_bytes = options.segment_bytes;
  o.encoder_seed = e.seed;
  o.bigram_weight = e.bigram_weight;
}

HashingEncoderOptions EncoderOf(const landmark_store_options& o) {
  HashingEncoderOptions e = TextEncoderOptions();
  e.kv_heads = o.kv_heads;
  e.head_dim = o.head_dim;
  e.seed = o.encoder_seed;
  e.bigram_weight = o.bigram_weight;
  return e;
}

bool SetStoreOption(landmark_store_options& o, std::string_view key, const std::string& value, bool must_exist) {
  StoreOptions store = OptionsOf(o);
  HashingEncoderOptions encoder = EncoderOf(o);
  if (!SetOption(key, value, must_exist, FieldTarget<StoreOptions>{StoreFields(), store},
                 FieldTarget<HashingEncoderOptions>{EncoderFields(), encoder})) {
    return false;
  }
  ToC(store, encoder, o);
  return true;
}

// Ingest options and the progress bridge (a callback's "stop" ends the ingest).
struct Ingest {
  landmark_ingest_options options{};
  std::shared_ptr<tbb::task_arena> arena;

  explicit Ingest(const landmark_ingest_options* o) {
    landmark_ingest_options_init(&options);
    if (o) options = Options(o, "options");
    arena = ArenaOf(options.arena);
  }
  IngestProgressFn Progress() const {
    if (!options.progress) return {};
    return [fn = options.progress, user = options.user_data](const IngestProgress& p) {
      landmark_progress c{p.tokens, p.input_bytes, p.input_total, p.files_done, p.files_total, p.current.c_str()};
      if (fn(&c, user) != 0) Fail(LANDMARK_ERROR_CANCELLED, "ingest stopped by the progress callback");
    };
  }
};

void ToC(const IngestStats& s, landmark_ingest_stats* out) {
  if (!out) return;
  *out = landmark_ingest_stats{s.tokens, s.input_bytes, s.files, s.skipped.size()};
}

}  // namespace
}  // namespace landmark::capi

using namespace landmark;
using namespace landmark::capi;

extern "C" {

// ---- presets ----

landmark_status landmark_config_load(const char* path, landmark_config** config) {
  return Guard(LANDMARK_ERROR_CONFIG, [&] {
    NotNull(config, "config") = nullptr;
    auto object = std::make_shared<ConfigObject>();
    object->config = LoadConfig(Str(path, "path"));
    *config = Add<ConfigObject, landmark_config>(object);
  });
}

landmark_status landmark_config_parse(const char* toml, size_t length, const char* name, landmark_config** config) {
  return Guard(LANDMARK_ERROR_CONFIG, [&] {
    NotNull(config, "config") = nullptr;
    if (length > 0) NotNull(toml, "toml");
    auto object = std::make_shared<ConfigObject>();
    object->config = ParseConfig(std::string_view(toml ? toml : "", length), name ? name : "config");
    *config = Add<ConfigObject, landmark_config>(object);
  });
}

landmark_status landmark_config_threads(const landmark_config* config, size_t* threads) {
  return Guard(LANDMARK_ERROR_CONFIG, [&] {
    const auto c = Get<ConfigObject>(config, "config");
    NotNull(threads, "threads") = c->config.threads;
  });
}

landmark_status landmark_config_close(landmark_config* config) {
  return Guard(LANDMARK_ERROR_CONFIG, [&] { Take<ConfigObject>(config, "config"); });
}

// ---- shapes and info ----

void landmark_store_options_init(landmark_store_options* options) {
  if (!options) return;
  *options = landmark_store_options{};
  options->struct_size = sizeof(*options);
  ToC(StoreOptions(), HashingEncoderOptions(), *options);
}

landmark_status landmark_store_options_set(landmark_store_options* options, const char* key, const char* value) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    SetStoreOption(MutableOptions(options, "options"), Str(key, "key"), Str(value, "value"), true);
  });
}

landmark_status landmark_config_store_options(const landmark_config* config, landmark_store_options* options) {
  return Guard(LANDMARK_ERROR_CONFIG, [&] {
    const auto object = Get<ConfigObject>(config, "config");
    landmark_store_options& o = MutableOptions(options, "options");
    for (const auto& [key, value] : object->config.values) SetStoreOption(o, key, value, false);
  });
}

void landmark_store_info_init(landmark_store_info* info) {
  if (!info) return;
  *info = landmark_store_info{};
  info->struct_size = sizeof(*info);
}

landmark_status landmark_store_info_read(const char* dir, landmark_store_info* info) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    landmark_store_info& out = InfoOut(info);
    ToC(ReadStoreInfo(Str(dir, "dir")), out);
  });
}

landmark_status landmark_store_info_json(const char* dir, char* buffer, size_t capacity, size_t* length) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    NotNull(dir, "dir");
    if (capacity > 0) NotNull(buffer, "buffer");
    CopyOut(ReadStoreInfo(dir).ToJson(), buffer, capacity, length);
  });
}

landmark_status landmark_store_verify(const char* dir, size_t* problems) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    NotNull(dir, "dir");
    const std::vector<std::string> found = VerifyStore(dir);
    if (problems) *problems = found.size();
    if (found.empty()) return;
    std::string message;
    for (const std::string& p : found) message += (message.empty() ? "" : "\n") + p;
    Fail(LANDMARK_ERROR_IO, message);
  });
}

// ---- writing ----

landmark_status landmark_writer_create(const char* dir, const landmark_store_options* options,
                                       landmark_writer** writer) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    NotNull(writer, "writer") = nullptr;
    NotNull(dir, "dir");
    const StoreOptions o = FromC(Options(options, "options"));
    auto object = std::make_shared<WriterObject>();
    object->writer.emplace(StoreWriter::Create(dir, o));
    *writer = Add<WriterObject, landmark_writer>(object);
  });
}

landmark_status landmark_writer_create_text(const char* dir, const landmark_store_options* options,
                                            landmark_writer** writer) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    NotNull(writer, "writer") = nullptr;
    NotNull(dir, "dir");
    const landmark_store_options& c = Options(options, "options");
    StoreOptions o = TextStoreOptions(EncoderOf(c));
    const StoreOptions shape = FromC(c);
    o.shape = shape.shape;
    o.commit_every = shape.commit_every;
    o.segment_bytes = shape.segment_bytes;
    if (o.shape.landmark == LandmarkKind::kLearned) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "options.landmark: text stores need mean or minmax landmarks");
    }
    auto object = std::make_shared<WriterObject>();
    object->writer.emplace(StoreWriter::Create(dir, o));
    *writer = Add<WriterObject, landmark_writer>(object);
  });
}

landmark_status landmark_writer_open(const char* dir, landmark_writer** writer) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    NotNull(writer, "writer") = nullptr;
    auto object = std::make_shared<WriterObject>();
    object->writer.emplace(StoreWriter::Append(Str(dir, "dir")));
    *writer = Add<WriterObject, landmark_writer>(object);
  });
}

void landmark_tokens_init(landmark_tokens* tokens) {
  if (!tokens) return;
  *tokens = landmark_tokens{};
  tokens->struct_size = sizeof(*tokens);
}

landmark_status landmark_writer_append(landmark_writer* writer, const landmark_tokens* tokens) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto w = Get<WriterObject>(writer, "writer");
    const landmark_tokens& t = Options(tokens, "tokens");
    const StoreInfo info = w->writer->info();
    const StoreShape& s = info.shape;
    auto bad = [](const std::string& m) { Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "tokens: " + m); };
    if (t.kv_heads != s.kv_heads || t.head_dim != s.head_dim) {
      bad("keys/values are [" + std::to_string(t.tokens) + "][" + std::to_string(t.kv_heads) + "][" +
          std::to_string(t.head_dim) + "] but the store has " + std::to_string(s.kv_heads) + " kv heads of dim " +
          std::to_string(s.head_dim));
    }
    if (t.tokens > 0 && (!t.keys || !t.values)) Fail(LANDMARK_ERROR_NULL_ARGUMENT, "tokens: keys or values is NULL");
    Elements(t.tokens, t.kv_heads, t.head_dim, "tokens");
    TokenBatch batch;
    batch.tokens = t.tokens;
    batch.keys = t.keys;
    batch.values = t.values;
    batch.dtype = DTypeFromC(Raw(t.dtype), "tokens.dtype");
    const size_t completes = (info.tokens % s.chunk_size + t.tokens) / s.chunk_size;
    if (s.landmark == LandmarkKind::kLearned) {
      if (t.landmark_chunks != completes || t.landmark_heads != s.landmark_heads || t.landmark_dim != s.landmark_dim) {
        bad("landmarks are [" + std::to_string(t.landmark_chunks) + "][" + std::to_string(t.landmark_heads) + "][" +
            std::to_string(t.landmark_dim) + "]; this batch completes " + std::to_string(completes) +
            " chunks of a store with " + std::to_string(s.landmark_heads) + " landmark heads of dim " +
            std::to_string(s.landmark_dim));
      }
      if (completes > 0 && !t.landmarks) Fail(LANDMARK_ERROR_NULL_ARGUMENT, "tokens: landmarks is NULL");
      batch.landmarks = t.landmarks;
      batch.landmark_chunks = t.landmark_chunks;
      batch.landmark_dtype = DTypeFromC(Raw(t.landmarks_dtype), "tokens.landmarks_dtype");
    } else if (t.landmarks) {
      bad("landmarks given, but the store computes its own (" + std::string(Name(s.landmark)) + ")");
    }
    if (t.text || t.token_text_end) {
      if (!info.has_text) bad("text given, but the store keeps no text");
      if (!t.text || !t.token_text_end) Fail(LANDMARK_ERROR_NULL_ARGUMENT, "tokens: text and token_text_end go together");
      for (size_t i = 0; i < t.tokens; ++i) {
        if (t.token_text_end[i] > t.text_length || (i > 0 && t.token_text_end[i] < t.token_text_end[i - 1])) {
          bad("token_text_end[" + std::to_string(i) + "] = " + std::to_string(t.token_text_end[i]) +
              " is past the text (" + std::to_string(t.text_length) + " bytes) or before the previous token's end");
        }
      }
      batch.text = std::string_view(t.text, t.text_length);
      batch.token_text_end = t.token_text_end;
    } else if (info.has_text && t.tokens > 0) {
      bad("the store keeps text: give text and token_text_end");
    }
    w->writer->Append(batch);
  });
}

landmark_status landmark_writer_append_text(landmark_writer* writer, const char* text, size_t length) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto w = Get<WriterObject>(writer, "writer");
    if (length > 0) NotNull(text, "text");
    // As the CLI and landmark_writer_ingest_files refuse such files.
    if (const std::string why = CheckText(std::string_view(text ? text : "", length)); !why.empty()) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "text: " + why + "; give UTF-8 text");
    }
    const StoreInfo info = w->writer->info();
    TextIngestOptions options;
    options.encoder = As(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { return HashingEncoderOptionsOf(info); });
    options.force = true;  // text given in memory: the caller decides what to add
    if (length == 0) return;
    IngestTextDocument(*w->writer, std::string_view(text, length), "(text " + std::to_string(info.tokens) + ")", options);
  });
}

void landmark_ingest_options_init(landmark_ingest_options* options) {
  if (!options) return;
  *options = landmark_ingest_options{};
  options->struct_size = sizeof(*options);
}

landmark_status landmark_writer_ingest_files(landmark_writer* writer, const char* const* paths, size_t count,
                                             const landmark_ingest_options* options, landmark_ingest_stats* stats) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto w = Get<WriterObject>(writer, "writer");
    if (count > 0) NotNull(paths, "paths");
    std::vector<std::string> inputs;
    for (size_t i = 0; i < count; ++i) inputs.emplace_back(Str(paths[i], "paths[i]"));
    const Ingest ingest(options);
    TextIngestOptions text;
    text.encoder = As(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { return HashingEncoderOptionsOf(w->writer->info()); });
    text.strict = ingest.options.strict != 0;
    text.force = ingest.options.force != 0;
    IngestStats result;
    InArena(ingest.arena, [&] { result = IngestText(*w->writer, inputs, text, ingest.Progress()); });
    ToC(result, stats);
  });
}

landmark_status landmark_writer_remove_document(landmark_writer* writer, const char* path, size_t* removed) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto w = Get<WriterObject>(writer, "writer");
    const size_t n = RemoveTextDocument(*w->writer, Str(path, "path"));
    if (removed) *removed = n;
  });
}

landmark_status landmark_writer_ingest_tensors(landmark_writer* writer, const char* keys, const char* values,
                                               const char* landmarks, const landmark_ingest_options* options,
                                               landmark_ingest_stats* stats) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto w = Get<WriterObject>(writer, "writer");
    TensorIngestOptions tensors;
    tensors.keys = Str(keys, "keys");
    tensors.values = Str(values, "values");
    if (landmarks) tensors.landmarks = landmarks;
    const Ingest ingest(options);
    IngestStats result;
    InArena(ingest.arena, [&] { result = IngestTensors(*w->writer, tensors, ingest.Progress()); });
    ToC(result, stats);
  });
}

landmark_status landmark_writer_commit(landmark_writer* writer) {
  return Guard(LANDMARK_ERROR_IO, [&] { Get<WriterObject>(writer, "writer")->writer->Commit(); });
}

landmark_status landmark_writer_get_info(const landmark_writer* writer, landmark_store_info* info) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto w = Get<WriterObject>(writer, "writer");
    ToC(w->writer->info(), InfoOut(info));
  });
}

landmark_status landmark_writer_close(landmark_writer* writer) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto w = Take<WriterObject>(writer, "writer");
    w->writer->Close();  // the handle is gone either way
  });
}

// ---- reading ----

landmark_status landmark_store_open(const char* dir, landmark_store** store) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    NotNull(store, "store") = nullptr;
    auto object = std::make_shared<StoreObject>();
    object->dir = Str(dir, "dir");
    object->reader.emplace(StoreReader::Open(object->dir));
    *store = Add<StoreObject, landmark_store>(object);
  });
}

landmark_status landmark_store_get_info(const landmark_store* store, landmark_store_info* info) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const auto s = Get<StoreObject>(store, "store");
    ToC(s->reader->info(), InfoOut(info));
  });
}

landmark_status landmark_store_refresh(landmark_store* store, int* changed) {
  return Guard(LANDMARK_ERROR_IO, [&] {
    const bool c = Get<StoreObject>(store, "store")->reader->Refresh();
    if (changed) *changed = c;
  });
}

landmark_status landmark_store_chunk_text(const landmark_store* store, uint64_t chunk, const char** text,
                                          size_t* length) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto s = Get<StoreObject>(store, "store");
    NotNull(text, "text");
    NotNull(length, "length");
    const StoreInfo& info = s->reader->info();
    const uint64_t last = info.tail_tokens > 0 ? info.chunks : info.chunks - (info.chunks > 0);
    if (info.tokens == 0 || chunk > last) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "chunk " + std::to_string(chunk) + " is past the store's " +
                                                std::to_string(info.chunks) + " chunks" +
                                                (info.tail_tokens ? " and tail" : ""));
    }
    const std::string_view t = s->reader->text(chunk);
    *text = t.data();
    *length = t.size();
  });
}

landmark_status landmark_store_close(landmark_store* store) {
  return Guard(LANDMARK_ERROR_IO, [&] { Take<StoreObject>(store, "store"); });
}

}  // extern "C"
