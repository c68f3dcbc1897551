// C API: the retrieval engine and its results (outputs and explanations).
#include <cmath>
#include <cstdint>

#include "landmark/error.h"
#include "src/capi/capi.h"

namespace landmark::capi {
namespace {

void Expect(size_t given, size_t expected, const std::string& what) {
  if (given != expected) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, what + " has " + std::to_string(given) + " elements, expected " +
                                              std::to_string(expected));
  }
}

const RetrievalResult& QueryOf(const ResultObject& r, size_t query) {
  if (query >= r.results.size()) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "query " + std::to_string(query) + " is past the result's " +
                                              std::to_string(r.results.size()) + " queries");
  }
  return r.results[query];
}

const SelectionExplanation& SelectionOf(const ResultObject& r, size_t query, size_t head) {
  const RetrievalResult& q = QueryOf(r, query);
  if (head >= q.selections.size()) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "selection head " + std::to_string(head) + " is past the query's " +
                                              std::to_string(q.selections.size()));
  }
  return q.selections[head];
}

// Runs the queries and hands out a result handle.
// `hits`: a text question's BM25 ranking (text stores with an index).
void Run(const RetrieverObject& r, const std::vector<RetrievalQuery>& queries, landmark_result** result,
         const std::vector<TextHit>* hits = nullptr) {
  auto object = std::make_shared<ResultObject>();
  object->store = r.store;
  object->q_heads = r.q_heads;
  object->head_dim = r.store->shape().head_dim;
  object->sharded = r.sharded != nullptr;
  object->index = r.index;
  InArena(r.arena, [&] {
    if (r.index && hits) {
      std::vector<uint32_t> chunks;
      std::vector<float> scores;
      for (const TextHit& h : *hits) {
        chunks.push_back(h.chunk);
        scores.push_back(float(h.score));
      }
      object->results.push_back(
          As(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { return r.retriever->QueryChunks(queries[0], chunks, scores); }));
    } else if (r.sharded) {
      object->results = As(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { return r.sharded->QueryBatch(queries); });
    } else if (queries.size() == 1) {
      object->results.push_back(As(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { return r.retriever->Query(queries[0]); }));
    } else {
      object->results = As(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { return r.retriever->QueryBatch(queries); });
    }
  });
  *result = Add<ResultObject, landmark_result>(object);
}

// The C options from the engine's settings (the fields the struct holds).
void ToC(const RetrieverConfig& r, landmark_retriever_options& o) {
  o.q_heads = r.q_heads;
  o.top_k = r.top_k;
  o.fusion = landmark_fusion(int(r.fusion));
  o.weights = landmark_weights(int(r.weights));
  o.softmax_off_by_one = r.softmax_off_by_one;
  o.window = r.window;
  o.sink_chunks = r.sink_chunks;
  o.prefetch = r.prefetch;
  o.device = capi::ToC(r.device);
}

// The engine's settings from the C options (fusion and weights checked).
RetrieverConfig ConfigOf(const landmark_retriever_options& o) {
  const int fusion = Raw(o.fusion), weights = Raw(o.weights);
  if (fusion != LANDMARK_FUSION_JOINT && fusion != LANDMARK_FUSION_HSA) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "options.fusion: unknown fusion " + std::to_string(fusion));
  }
  if (weights != LANDMARK_WEIGHTS_SOFTMAX && weights != LANDMARK_WEIGHTS_STICKBREAKING) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "options.weights: unknown weights " + std::to_string(weights));
  }
  RetrieverConfig config;
  config.q_heads = o.q_heads;
  config.top_k = o.top_k;
  config.fusion = fusion == LANDMARK_FUSION_HSA ? Fusion::kHsa : Fusion::kJoint;
  config.weights = weights == LANDMARK_WEIGHTS_STICKBREAKING ? RetrievalWeights::kStickBreaking
                                                             : RetrievalWeights::kSoftmax;
  config.softmax_off_by_one = o.softmax_off_by_one != 0;
  config.window = o.window;
  config.sink_chunks = o.sink_chunks;
  config.prefetch = o.prefetch != 0;
  config.device = DeviceFromC(Raw(o.device), "options.device");
  return config;
}

// The rest of a retriever handle once its store view is open.
void Finish(RetrieverObject& object, const landmark_retriever_options& o, const RetrieverConfig& config) {
  object.arena = ArenaOf(o.arena);
  if (!std::isfinite(o.temperature)) {
    Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "options.temperature must be a finite number, is " + std::to_string(o.temperature));
  }
  object.temperature = o.temperature;
  const StoreInfo& info = object.store->info();
  object.q_heads = config.q_heads ? config.q_heads : info.shape.kv_heads;
  const auto encoder = info.metadata.find("encoder");
  if (encoder != info.metadata.end() && encoder->second == "hashing") {
    object.encoder.emplace(HashingEncoderOptionsOf(info));
    if (HasTextIndex(info) && !object.sharded) {
      object.index = As(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { return std::make_shared<const TextIndex>(*object.store); });
    }
  }
}

// Option `key` of the C options through the tables (landmark_retriever_options_set).
bool SetRetrieverOption(landmark_retriever_options& o, std::string_view key, const std::string& value, bool must_exist) {
  RetrieverConfig r = ConfigOf(o);
  Config text;
  text.temperature = o.temperature;
  if (!SetOption(key, value, must_exist, FieldTarget<RetrieverConfig>{RetrievalFields(), r},
                 FieldTarget<Config>{TextQueryFields(), text})) {
    return false;
  }
  ToC(r, o);
  o.temperature = text.temperature;
  return true;
}

}  // namespace
}  // namespace landmark::capi

using namespace landmark;
using namespace landmark::capi;

extern "C" {

void landmark_retriever_options_init(landmark_retriever_options* options) {
  if (!options) return;
  *options = landmark_retriever_options{};
  options->struct_size = sizeof(*options);
  ToC(RetrieverConfig(), *options);
  options->temperature = Config().temperature;
}

landmark_status landmark_retriever_options_set(landmark_retriever_options* options, const char* key, const char* value) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    SetRetrieverOption(MutableOptions(options, "options"), Str(key, "key"), Str(value, "value"), true);
  });
}

landmark_status landmark_config_retriever_options(const landmark_config* config, landmark_retriever_options* options) {
  return Guard(LANDMARK_ERROR_CONFIG, [&] {
    const auto object = Get<ConfigObject>(config, "config");
    landmark_retriever_options& o = MutableOptions(options, "options");
    for (const auto& [key, value] : object->config.values) SetRetrieverOption(o, key, value, false);
  });
}

landmark_status landmark_retriever_create(landmark_store* store, const landmark_retriever_options* options,
                                          landmark_retriever** retriever) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    NotNull(retriever, "retriever") = nullptr;
    const auto s = Get<StoreObject>(store, "store");
    const landmark_retriever_options& o = Options(options, "options");
    const RetrieverConfig config = ConfigOf(o);
    auto object = std::make_shared<RetrieverObject>();
    // Its own view of the store's commit as of now (a later refresh of the
    // store handle does not move it under running queries).
    object->store = std::make_shared<const StoreReader>(As(LANDMARK_ERROR_IO, [&] { return StoreReader::Open(s->dir); }));
    Finish(*object, o, config);
    object->retriever = std::make_unique<Retriever>(*object->store, config);
    *retriever = Add<RetrieverObject, landmark_retriever>(object);
  });
}

landmark_status landmark_sharded_retriever_create(const char* prefix, const landmark_retriever_options* options,
                                                  landmark_retriever** retriever) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    NotNull(retriever, "retriever") = nullptr;
    const std::string dir = Str(prefix, "prefix");
    const landmark_retriever_options& o = Options(options, "options");
    const RetrieverConfig config = ConfigOf(o);
    Communicator& world = As(LANDMARK_ERROR_INVALID_ARGUMENT, [&]() -> Communicator& { return MpiWorld(); });
    auto object = std::make_shared<RetrieverObject>();
    object->sharded = As(LANDMARK_ERROR_IO, [&] { return std::make_unique<ShardedRetriever>(dir, config, world); });
    object->store = std::make_shared<const StoreReader>(
        As(LANDMARK_ERROR_IO, [&] { return StoreReader::Open(ShardPath(dir, world.rank())); }));
    Finish(*object, o, config);
    *retriever = Add<RetrieverObject, landmark_retriever>(object);
  });
}

landmark_status landmark_mpi_rank(size_t* rank, size_t* size) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    Communicator& world = MpiWorld();
    if (rank) *rank = world.rank();
    if (size) *size = world.size();
  });
}

landmark_status landmark_retriever_shape(const landmark_retriever* retriever, size_t* q_heads, size_t* head_dim,
                                         size_t* landmark_heads, size_t* landmark_dim) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto r = Get<RetrieverObject>(retriever, "retriever");
    const StoreShape& s = r->store->shape();
    if (q_heads) *q_heads = r->q_heads;
    if (head_dim) *head_dim = s.head_dim;
    if (landmark_heads) *landmark_heads = s.landmark_heads;
    if (landmark_dim) *landmark_dim = s.landmark_dim;
  });
}

landmark_status landmark_retriever_close(landmark_retriever* retriever) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { Take<RetrieverObject>(retriever, "retriever"); });
}

landmark_status landmark_retriever_query(const landmark_retriever* retriever, const float* q, size_t q_elements,
                                         const float* r, size_t r_elements, uint64_t position,
                                         landmark_result** result) {
  return landmark_retriever_query_batch(retriever, 1, q, q_elements, r, r_elements,
                                        position == LANDMARK_LAST_POSITION ? nullptr : &position, result);
}

landmark_status landmark_retriever_query_batch(const landmark_retriever* retriever, size_t count, const float* q,
                                               size_t q_elements, const float* r, size_t r_elements,
                                               const uint64_t* positions, landmark_result** result) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    NotNull(result, "result") = nullptr;
    const auto object = Get<RetrieverObject>(retriever, "retriever");
    if (object->sharded && object->sharded->communicator().rank() != 0) {  // rank 0's queries are broadcast
      Run(*object, {}, result);
      return;
    }
    NotNull(q, "q");
    if (count == 0) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "count is 0 (no queries)");
    const StoreShape& s = object->store->shape();
    const size_t q_size = object->q_heads * s.head_dim, r_size = s.landmark_heads * s.landmark_dim;
    Expect(q_elements, Elements(count, object->q_heads, s.head_dim, "q"),
           "q [" + std::to_string(count) + "][" + std::to_string(object->q_heads) + "][" + std::to_string(s.head_dim) + "]");
    if (r) {
      Expect(r_elements, Elements(count, s.landmark_heads, s.landmark_dim, "r"),
             "r [" + std::to_string(count) + "][" + std::to_string(s.landmark_heads) + "][" +
                 std::to_string(s.landmark_dim) + "]");
    } else if (r_elements != 0) {
      Fail(LANDMARK_ERROR_NULL_ARGUMENT, "r is NULL but r_elements is " + std::to_string(r_elements));
    }
    std::vector<RetrievalQuery> queries(count);
    for (size_t i = 0; i < count; ++i) {
      queries[i].q = q + i * q_size;
      queries[i].r = r ? r + i * r_size : nullptr;
      if (positions && positions[i] != LANDMARK_LAST_POSITION) queries[i].position = size_t(positions[i]);
    }
    Run(*object, queries, result);
  });
}

landmark_status landmark_retriever_query_text(const landmark_retriever* retriever, const char* question, size_t length,
                                              landmark_result** result) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    NotNull(result, "result") = nullptr;
    const auto object = Get<RetrieverObject>(retriever, "retriever");
    if (length > 0) NotNull(question, "question");
    const StoreShape& s = object->store->shape();
    if (!object->encoder) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, object->store->info().path +
                                                ": text questions need a store made by the hashing text encoder");
    }
    if (s.landmark_heads != s.kv_heads || s.landmark_dim != s.head_dim) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, object->store->info().path +
                                                ": text questions need one landmark per kv head of the head dim");
    }
    const HashingEncoder::QueryVectors v = object->encoder->EncodeTextQuery(
        std::string_view(question ? question : "", length), object->q_heads / s.kv_heads, object->temperature);
    RetrievalQuery query;
    query.q = v.q.data();
    query.r = v.r.data();
    if (object->index) {
      const std::vector<TextHit> hits =
          object->index->Search(std::string_view(question ? question : "", length), object->retriever->config().top_k);
      return Run(*object, {query}, result, &hits);
    }
    Run(*object, {query}, result);
  });
}

landmark_status landmark_result_count(const landmark_result* result, size_t* count) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    NotNull(count, "count") = Get<ResultObject>(result, "result")->results.size();
  });
}

landmark_status landmark_result_output(const landmark_result* result, size_t query, const float** out,
                                       const float** lse, const float** local_out, const float** local_lse,
                                       size_t* q_heads, size_t* head_dim) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto object = Get<ResultObject>(result, "result");
    const RetrievalResult& r = QueryOf(*object, query);
    auto data = [](const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); };
    if (out) *out = data(r.out);
    if (lse) *lse = data(r.lse);
    if (local_out) *local_out = data(r.local_out);
    if (local_lse) *local_lse = data(r.local_lse);
    if (q_heads) *q_heads = object->q_heads;
    if (head_dim) *head_dim = object->head_dim;
  });
}

landmark_status landmark_result_stats(const landmark_result* result, size_t query, landmark_query_stats* stats) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto object = Get<ResultObject>(result, "result");
    const RetrievalResult& r = QueryOf(*object, query);
    NotNull(stats, "stats") = landmark_query_stats{r.position, r.candidates, r.local_tokens, r.bytes_touched,
                                                   r.selections.size()};
  });
}

landmark_status landmark_result_selection(const landmark_result* result, size_t query, size_t head, size_t* count,
                                          const uint32_t** chunks, const float** scores, const float** weights) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto object = Get<ResultObject>(result, "result");
    const SelectionExplanation& s = SelectionOf(*object, query, head);
    NotNull(count, "count") = s.chunks.size();
    if (chunks) *chunks = s.chunks.data();
    if (scores) *scores = s.scores.data();
    if (weights) *weights = s.weights.data();
  });
}

landmark_status landmark_result_chunk_text(const landmark_result* result, size_t query, size_t head, size_t i,
                                           const char** text, size_t* length) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto object = Get<ResultObject>(result, "result");
    const SelectionExplanation& s = SelectionOf(*object, query, head);
    NotNull(text, "text");
    NotNull(length, "length");
    if (i >= s.chunks.size()) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "chunk index " + std::to_string(i) + " is past the " +
                                                std::to_string(s.chunks.size()) + " selected chunks");
    }
    // A sharded result: the texts of chunks on other ranks are not here.
    const bool here = !object->sharded || s.chunks[i] < object->store->chunks();
    const std::string_view t = here ? object->store->text(s.chunks[i]) : std::string_view();
    *text = t.data();
    *length = t.size();
  });
}

landmark_status landmark_result_chunk_source(const landmark_result* result, size_t query, size_t head, size_t i,
                                             const char** path, uint64_t* begin, uint64_t* end) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto object = Get<ResultObject>(result, "result");
    const SelectionExplanation& s = SelectionOf(*object, query, head);
    NotNull(path, "path") = nullptr;
    if (i >= s.chunks.size()) {
      Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "chunk index " + std::to_string(i) + " is past the " +
                                                std::to_string(s.chunks.size()) + " selected chunks");
    }
    if (!object->index) return;
    const TextSource src = object->index->source(s.chunks[i]);
    if (src.document < 0) return;
    *path = object->index->documents()[size_t(src.document)].path.c_str();
    if (begin) *begin = src.begin;
    if (end) *end = src.end;
  });
}

landmark_status landmark_result_close(landmark_result* result) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { Take<ResultObject>(result, "result"); });
}

}  // extern "C"
