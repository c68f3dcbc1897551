/* The C API from C (compiled as C99, not C++): stores of tensors and text,
 * retrieval against an exact reference, prefill, presets, threads, and
 * misuse (NULL handles, wrong sizes, use after close, double close), which
 * must give error codes and messages, never a crash.
 *
 *   capi_test DATA_DIR WORK_DIR CONFIGS_DIR   (WORK_DIR must not exist) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landmark/landmark.h"

static int failures = 0;
static const char* data_dir;
static const char* work_dir;
static const char* configs_dir;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK(%s) failed (last error: %s)\n", __FILE__, __LINE__, #cond, landmark_last_error()); \
      ++failures;                                                            \
    }                                                                        \
  } while (0)
/* A call that must succeed. */
#define OK(call) CHECK_STATUS(call, LANDMARK_OK)
/* A call that must fail with `status` and say something. */
#define CHECK_STATUS(call, status)                                           \
  do {                                                                       \
    landmark_status s_ = (call);                                             \
    if (s_ != (status)) {                                                    \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n", __FILE__, __LINE__, #call, \
              landmark_status_name(s_), landmark_status_name(status), landmark_last_error()); \
      ++failures;                                                            \
    } else if ((status) != LANDMARK_OK && landmark_last_error()[0] == '\0') { \
      fprintf(stderr, "%s:%d: %s failed without a message\n", __FILE__, __LINE__, #call); \
      ++failures;                                                            \
    }                                                                        \
  } while (0)
#define ERROR_MENTIONS(text) CHECK(strstr(landmark_last_error(), (text)) != NULL)

static int contains(const char* text, size_t length, const char* needle) {
  const size_t n = strlen(needle);
  size_t i;
  for (i = 0; i + n <= length; ++i) {
    if (memcmp(text + i, needle, n) == 0) return 1;
  }
  return 0;
}

static void path(char* out, size_t size, const char* dir, const char* name) { snprintf(out, size, "%s/%s", dir, name); }

/* Deterministic values in [-1, 1). */
static unsigned long long rng_state = 12345;
static float uniform(void) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Exact attention of one query head over keys 0..n-1 of kv head h,
 * token-major [n][kv_heads][d], in double. */
static void attention(const float* q, const float* keys, const float* values, size_t n, size_t kv_heads, size_t h,
                      size_t d, double* out) {
  double max = -INFINITY, sum = 0;
  size_t t, j;
  double* logits = malloc(n * sizeof(double));
  for (t = 0; t < n; ++t) {
    double dot = 0;
    for (j = 0; j < d; ++j) dot += (double)q[j] * keys[(t * kv_heads + h) * d + j];
    logits[t] = dot / sqrt((double)d);
    if (logits[t] > max) max = logits[t];
  }
  for (j = 0; j < d; ++j) out[j] = 0;
  for (t = 0; t < n; ++t) {
    const double p = exp(logits[t] - max);
    sum += p;
    for (j = 0; j < d; ++j) out[j] += p * values[(t * kv_heads + h) * d + j];
  }
  for (j = 0; j < d; ++j) out[j] /= sum;
  free(logits);
}

static void test_version(void) {
  CHECK(landmark_api_version() == LANDMARK_API_VERSION);
  CHECK(strlen(landmark_version()) >= 5);
  CHECK(strcmp(landmark_status_name(LANDMARK_ERROR_CLOSED), "LANDMARK_ERROR_CLOSED") == 0);
  CHECK(strcmp(landmark_status_name((landmark_status)99), "LANDMARK_ERROR_UNKNOWN") == 0);
}

enum { kTokens = 203, kKvHeads = 2, kDim = 16, kChunk = 8, kQHeads = 4 };

/* A store of tensors; joint fusion with every chunk selected is dense attention. */
static void test_tensor_store(void) {
  char dir[1024];
  static float keys[kTokens * kKvHeads * kDim], values[kTokens * kKvHeads * kDim];
  float q[3 * kQHeads * kDim];
  size_t i, count = 0, q_heads = 0, head_dim = 0, problems = 99;
  landmark_store_options options;
  landmark_tokens tokens;
  landmark_writer* writer = NULL;
  landmark_store* store = NULL;
  landmark_store_info info;
  landmark_retriever_options ropts;
  landmark_retriever* retriever = NULL;
  landmark_result *result = NULL, *batch = NULL, *failed = NULL;
  landmark_arena* arena = NULL;
  const float *out, *lse, *local_out, *batch_out;
  const uint32_t* chunks;
  const float *scores, *weights;
  landmark_query_stats stats;
  char json[4096];
  size_t json_length = 0;

  for (i = 0; i < sizeof(keys) / sizeof(keys[0]); ++i) {
    keys[i] = uniform();
    values[i] = uniform();
  }
  for (i = 0; i < sizeof(q) / sizeof(q[0]); ++i) q[i] = 2.0f * uniform();
  path(dir, sizeof(dir), work_dir, "tensors");

  landmark_store_options_init(&options);
  options.chunk_size = kChunk;
  options.kv_heads = kKvHeads;
  options.head_dim = kDim;
  options.dtype = LANDMARK_F32;
  OK(landmark_writer_create(dir, &options, &writer));
  landmark_tokens_init(&tokens);
  tokens.kv_heads = kKvHeads;
  tokens.head_dim = kDim;
  tokens.dtype = LANDMARK_F32;
  /* In two batches, the first ending inside a chunk. */
  tokens.tokens = 101;
  tokens.keys = keys;
  tokens.values = values;
  OK(landmark_writer_append(writer, &tokens));
  tokens.tokens = kTokens - 101;
  tokens.keys = keys + 101 * kKvHeads * kDim;
  tokens.values = values + 101 * kKvHeads * kDim;
  OK(landmark_writer_append(writer, &tokens));
  landmark_store_info_init(&info);
  OK(landmark_writer_get_info(writer, &info));
  CHECK(info.tokens == kTokens);
  OK(landmark_writer_close(writer));

  OK(landmark_store_verify(dir, &problems));
  CHECK(problems == 0);
  OK(landmark_store_info_read(dir, &info));
  CHECK(info.chunks == kTokens / kChunk && info.tail_tokens == kTokens % kChunk && info.kv_heads == kKvHeads);
  CHECK(info.dtype == LANDMARK_F32 && info.landmark == LANDMARK_KIND_MEAN && !info.has_text);
  OK(landmark_store_info_json(dir, NULL, 0, &json_length));
  CHECK(json_length > 10 && json_length < sizeof(json));
  OK(landmark_store_info_json(dir, json, sizeof(json), &json_length));
  CHECK(strstr(json, "\"chunk_size\": 8") != NULL);

  OK(landmark_store_open(dir, &store));
  OK(landmark_arena_create(1, &arena));
  landmark_retriever_options_init(&ropts);
  ropts.q_heads = kQHeads;
  ropts.top_k = 1000; /* every candidate */
  ropts.arena = arena;
  ropts.fusion = (landmark_fusion)9; /* not a fusion */
  CHECK_STATUS(landmark_retriever_create(store, &ropts, &retriever), LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("options.fusion");
  ropts.fusion = LANDMARK_FUSION_JOINT;
  ropts.device = (landmark_device)7;
  CHECK_STATUS(landmark_retriever_create(store, &ropts, &retriever), LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("options.device");
  ropts.device = LANDMARK_DEVICE_CPU; /* the exact reference below is the CPU's contract */
  OK(landmark_retriever_create(store, &ropts, &retriever));
  OK(landmark_arena_close(arena)); /* the retriever keeps its own reference */
  OK(landmark_store_close(store)); /* and the store */
  OK(landmark_retriever_shape(retriever, &q_heads, &head_dim, NULL, NULL));
  CHECK(q_heads == kQHeads && head_dim == kDim);

  OK(landmark_retriever_query(retriever, q, kQHeads * kDim, NULL, 0, LANDMARK_LAST_POSITION, &result));
  OK(landmark_result_count(result, &count));
  CHECK(count == 1);
  OK(landmark_result_output(result, 0, &out, &lse, &local_out, NULL, &q_heads, &head_dim));
  CHECK(out != NULL && lse != NULL && local_out == NULL && q_heads == kQHeads);
  {
    double expected[kDim], max_error = 0;
    size_t h, j;
    for (h = 0; h < kQHeads; ++h) {
      attention(q + h * kDim, keys, values, kTokens, kKvHeads, h / (kQHeads / kKvHeads), kDim, expected);
      for (j = 0; j < kDim; ++j) max_error = fmax(max_error, fabs(out[h * kDim + j] - expected[j]));
    }
    CHECK(max_error < 1e-5);
  }
  OK(landmark_result_stats(result, 0, &stats));
  CHECK(stats.position == kTokens - 1 && stats.selections == kKvHeads);
  CHECK(stats.candidates == kTokens / kChunk && stats.local_tokens == kTokens % kChunk);
  OK(landmark_result_selection(result, 0, 1, &count, &chunks, &scores, &weights));
  CHECK(count == kTokens / kChunk);
  for (i = 0; i < count; ++i) {
    CHECK(chunks[i] < kTokens / kChunk);
    CHECK(weights[i] >= 0 && weights[i] <= 1);
    if (i > 0) CHECK(scores[i] <= scores[i - 1]);
  }

  /* A batch gives the single queries' results. */
  OK(landmark_retriever_query_batch(retriever, 3, q, 3 * kQHeads * kDim, NULL, 0, NULL, &batch));
  OK(landmark_result_count(batch, &count));
  CHECK(count == 3);
  OK(landmark_result_output(batch, 0, &batch_out, NULL, NULL, NULL, NULL, NULL));
  for (i = 0; i < kQHeads * kDim; ++i) CHECK(fabsf(batch_out[i] - out[i]) <= 1e-5f * (1 + fabsf(out[i])));

  /* Wrong sizes. */
  CHECK_STATUS(landmark_retriever_query(retriever, q, kQHeads * kDim - 1, NULL, 0, LANDMARK_LAST_POSITION, &failed),
               LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("expected 64");
  CHECK_STATUS(landmark_retriever_query_batch(retriever, 3, q, 2 * kQHeads * kDim, NULL, 0, NULL, &failed),
               LANDMARK_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(landmark_retriever_query(retriever, q, kQHeads * kDim, NULL, 5, LANDMARK_LAST_POSITION, &failed),
               LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_retriever_query(retriever, q, kQHeads * kDim, NULL, 0, 100000, &failed),
               LANDMARK_ERROR_INVALID_ARGUMENT);
  CHECK(failed == NULL); /* a failed call leaves no handle */
  CHECK_STATUS(landmark_retriever_query_batch(retriever, (size_t)1 << 62, q, 0, NULL, 0, NULL, &failed),
               LANDMARK_ERROR_INVALID_ARGUMENT); /* sizes that overflow */
  ERROR_MENTIONS("overflow");
  CHECK_STATUS(landmark_result_selection(batch, 3, 0, &count, NULL, NULL, NULL), LANDMARK_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(landmark_result_selection(batch, 0, 2, &count, NULL, NULL, NULL), LANDMARK_ERROR_INVALID_ARGUMENT);
  tokens.kv_heads = 1;
  OK(landmark_writer_open(dir, &writer));
  CHECK_STATUS(landmark_writer_append(writer, &tokens), LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("kv heads");
  tokens.kv_heads = kKvHeads;
  tokens.struct_size = 3;
  CHECK_STATUS(landmark_writer_append(writer, &tokens), LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("struct_size");
  {  /* a second writer on the same store is refused (the lock) */
    landmark_writer* second = NULL;
    CHECK_STATUS(landmark_writer_open(dir, &second), LANDMARK_ERROR_IO);
    CHECK(second == NULL);
  }
  OK(landmark_writer_close(writer));

  OK(landmark_result_close(result));
  OK(landmark_result_close(batch));
  OK(landmark_retriever_close(retriever));
  /* Use after close and double close. */
  CHECK_STATUS(landmark_result_count(result, &count), LANDMARK_ERROR_CLOSED);
  CHECK_STATUS(landmark_result_close(result), LANDMARK_ERROR_CLOSED);
  CHECK_STATUS(landmark_retriever_query(retriever, q, kQHeads * kDim, NULL, 0, LANDMARK_LAST_POSITION, &result),
               LANDMARK_ERROR_CLOSED);
  ERROR_MENTIONS("closed");
  CHECK_STATUS(landmark_retriever_close(retriever), LANDMARK_ERROR_CLOSED);
  CHECK_STATUS(landmark_store_close(store), LANDMARK_ERROR_CLOSED);
  CHECK_STATUS(landmark_store_get_info(store, &info), LANDMARK_ERROR_CLOSED);
  CHECK_STATUS(landmark_writer_append(writer, &tokens), LANDMARK_ERROR_CLOSED);
  CHECK_STATUS(landmark_writer_commit(writer), LANDMARK_ERROR_CLOSED);
  CHECK_STATUS(landmark_writer_close(writer), LANDMARK_ERROR_CLOSED);
  CHECK_STATUS(landmark_arena_close(arena), LANDMARK_ERROR_CLOSED);
}

static int progress_calls = 0;
static int count_progress(const landmark_progress* p, void* user) {
  (void)user;
  CHECK(p->current != NULL && p->files_total >= 1);
  ++progress_calls;
  return 0;
}
static int stop_progress(const landmark_progress* p, void* user) {
  (void)p;
  ++*(int*)user;
  return 1;
}

/* A text store: documents and files through the hashing encoder, questions. */
static void test_text_store(void) {
  char dir[1024], vaults[1024], other[1024];
  const char* inputs[1];
  landmark_store_options options;
  landmark_ingest_options ingest;
  landmark_ingest_stats stats;
  landmark_writer* writer = NULL;
  landmark_store* store = NULL;
  landmark_store_info info;
  landmark_retriever_options ropts;
  landmark_retriever* retriever = NULL;
  landmark_result* result = NULL;
  const char* text;
  size_t length = 0, count = 0;
  const uint32_t* chunks;
  const char* note = "Remember: the spare key is under the blue flowerpot by the door.";
  int stops = 0;

  path(dir, sizeof(dir), work_dir, "text");
  path(vaults, sizeof(vaults), data_dir, "vaults.txt");
  landmark_store_options_init(&options);
  options.chunk_size = 16;
  options.head_dim = 128;
  OK(landmark_writer_create_text(dir, &options, &writer));
  OK(landmark_writer_append_text(writer, note, strlen(note)));
  landmark_ingest_options_init(&ingest);
  ingest.progress = count_progress;
  inputs[0] = vaults;
  OK(landmark_writer_ingest_files(writer, inputs, 1, &ingest, &stats));
  CHECK(stats.files == 1 && stats.tokens > 40 && stats.skipped == 0);
  CHECK(progress_calls >= 1);
  ingest.progress = stop_progress;
  ingest.user_data = &stops;
  CHECK_STATUS(landmark_writer_ingest_files(writer, inputs, 1, &ingest, &stats), LANDMARK_ERROR_CANCELLED);
  CHECK(stops == 1);
  path(other, sizeof(other), data_dir, "no-such-file.txt");
  inputs[0] = other;
  CHECK_STATUS(landmark_writer_ingest_files(writer, inputs, 1, NULL, NULL), LANDMARK_ERROR_IO);
  ERROR_MENTIONS("no-such-file.txt");
  inputs[0] = NULL;
  CHECK_STATUS(landmark_writer_ingest_files(writer, inputs, 1, NULL, NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  OK(landmark_writer_commit(writer));
  OK(landmark_writer_close(writer));

  OK(landmark_store_open(dir, &store));
  landmark_store_info_init(&info);
  OK(landmark_store_get_info(store, &info));
  CHECK(info.has_text && info.text_encoder && info.head_dim == 128);
  OK(landmark_store_chunk_text(store, 0, &text, &length));
  CHECK(length > 0 && strncmp(text, "Remember", 8) == 0);
  CHECK_STATUS(landmark_store_chunk_text(store, info.chunks + 1, &text, &length), LANDMARK_ERROR_INVALID_ARGUMENT);

  landmark_retriever_options_init(&ropts);
  ropts.top_k = 4;
  OK(landmark_retriever_create(store, &ropts, &retriever));
  {
    const char* question = "pass key for vault 204";
    size_t i;
    int found = 0;
    OK(landmark_retriever_query_text(retriever, question, strlen(question), &result));
    OK(landmark_result_selection(result, 0, 0, &count, &chunks, NULL, NULL));
    CHECK(count >= 1 && count <= 4); /* BM25: only chunks that share a word with the question */
    for (i = 0; i < count; ++i) {
      const char* source = NULL;
      uint64_t begin = 0, end = 0;
      OK(landmark_result_chunk_text(result, 0, 0, i, &text, &length));
      /* Text stores name where each chunk comes from (issue 16). */
      OK(landmark_result_chunk_source(result, 0, 0, i, &source, &begin, &end));
      CHECK(source != NULL && end - begin == length);
      if (contains(text, length, "90177")) {
        found = 1;
        CHECK(source != NULL && strstr(source, "vaults.txt") != NULL);
      }
    }
    CHECK(found);
    CHECK_STATUS(landmark_result_chunk_source(result, 0, 0, count, &text, NULL, NULL), LANDMARK_ERROR_INVALID_ARGUMENT);
    OK(landmark_result_close(result));
  }
  {
    const char* question = "where is the spare key?";
    OK(landmark_retriever_query_text(retriever, question, strlen(question), &result));
    OK(landmark_result_selection(result, 0, 0, &count, &chunks, NULL, NULL));
    CHECK(count >= 1 && chunks[0] <= 1);
    OK(landmark_result_close(result));
  }
  OK(landmark_retriever_close(retriever));
  OK(landmark_store_close(store));
  { /* Removing a document leaves it out of every answer. */
    size_t removed = 0, i;
    const char* question = "pass key for vault 204";
    OK(landmark_writer_open(dir, &writer));
    OK(landmark_writer_remove_document(writer, vaults, &removed));
    CHECK(removed == 1);
    OK(landmark_writer_close(writer));
    OK(landmark_store_open(dir, &store));
    OK(landmark_retriever_create(store, &ropts, &retriever));
    OK(landmark_retriever_query_text(retriever, question, strlen(question), &result));
    OK(landmark_result_selection(result, 0, 0, &count, &chunks, NULL, NULL));
    for (i = 0; i < count; ++i) {
      OK(landmark_result_chunk_text(result, 0, 0, i, &text, &length));
      CHECK(!contains(text, length, "90177"));
    }
    OK(landmark_result_close(result));
    OK(landmark_retriever_close(retriever));
    OK(landmark_store_close(store));
  }
}

/* Every function refuses NULL handles and pointers with a code. */
static void test_null_arguments(void) {
  landmark_store_options options;
  landmark_retriever_options ropts;
  landmark_prefill_options popts;
  landmark_store_info info;
  landmark_tokens tokens;
  landmark_result* result = NULL;
  landmark_writer* writer = NULL;
  landmark_store* store = NULL;
  landmark_config* config = NULL;
  size_t n = 0;
  float q[4] = {0}, out[4];
  const char* text;

  landmark_store_options_init(NULL); /* harmless */
  landmark_store_options_init(&options);
  landmark_retriever_options_init(&ropts);
  landmark_prefill_options_init(&popts);
  landmark_store_info_init(&info);
  landmark_tokens_init(&tokens);
  CHECK_STATUS(landmark_writer_create(NULL, &options, &writer), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_writer_create("x", NULL, &writer), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_writer_create("x", &options, NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_writer_open(NULL, &writer), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_writer_append(NULL, &tokens), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_writer_append_text(NULL, "a", 1), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_writer_commit(NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_writer_close(NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_writer_get_info(NULL, &info), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_store_open(NULL, &store), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_store_open("x", NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_store_get_info(NULL, &info), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_store_chunk_text(NULL, 0, &text, &n), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_store_close(NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_store_info_read(NULL, &info), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_store_verify(NULL, &n), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_retriever_create(NULL, &ropts, NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_retriever_query(NULL, q, 4, NULL, 0, LANDMARK_LAST_POSITION, &result),
               LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_retriever_query_text(NULL, "a", 1, &result), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_retriever_close(NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_result_count(NULL, &n), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_result_close(NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_config_load(NULL, &config), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_config_close(NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_arena_close(NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_prefill(NULL, 1, 1, 4, q, q, LANDMARK_F32, 1, &popts, out, 4, NULL, 0, NULL, 0, NULL),
               LANDMARK_ERROR_NULL_ARGUMENT);
  CHECK_STATUS(landmark_prefill(q, 1, 1, 4, q, q, LANDMARK_F32, 1, NULL, out, 4, NULL, 0, NULL, 0, NULL),
               LANDMARK_ERROR_NULL_ARGUMENT);
  /* Forged and foreign handles. */
  CHECK_STATUS(landmark_store_close((landmark_store*)(size_t)8), LANDMARK_ERROR_CLOSED);
  OK(landmark_config_parse("", 0, "empty", &config));
  CHECK_STATUS(landmark_store_close((landmark_store*)config), LANDMARK_ERROR_CLOSED);
  ERROR_MENTIONS("config handle");
  OK(landmark_config_close(config));
  /* Stores that are not there, or not stores. */
  CHECK_STATUS(landmark_store_open("/nonexistent/landmark-store", &store), LANDMARK_ERROR_IO);
  CHECK(store == NULL);
  CHECK_STATUS(landmark_store_open(data_dir, &store), LANDMARK_ERROR_IO);
  CHECK_STATUS(landmark_writer_create(data_dir, &options, &writer), LANDMARK_ERROR_IO);
  options.chunk_size = 0;
  CHECK_STATUS(landmark_writer_create("unused", &options, &writer), LANDMARK_ERROR_INVALID_ARGUMENT);
  options.chunk_size = 64;
  options.dtype = (landmark_dtype)7;
  CHECK_STATUS(landmark_writer_create("unused", &options, &writer), LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("dtype");
  CHECK_STATUS(landmark_arena_create(1000000, NULL), LANDMARK_ERROR_NULL_ARGUMENT);
}

/* Causal prefill (dense policy = exact causal attention) and a sparse policy's mask. */
static void test_prefill(void) {
  enum { L = 150, Hq = 4, Hkv = 2, D = 8, B = 16 };
  static float q[L * Hq * D], k[L * Hkv * D], v[L * Hkv * D], out[L * Hq * D], lse[L * Hq];
  static uint8_t mask[Hkv * 10 * 10];
  landmark_prefill_options options;
  landmark_prefill_stats stats;
  landmark_arena* arena = NULL;
  size_t i, t, h, j;
  double max_error = 0, expected[D];

  for (i = 0; i < L * Hq * D; ++i) q[i] = uniform();
  for (i = 0; i < L * Hkv * D; ++i) {
    k[i] = uniform();
    v[i] = uniform();
  }
  OK(landmark_arena_create(2, &arena));
  landmark_prefill_options_init(&options);
  options.policy = LANDMARK_PREFILL_DENSE;
  options.block = B;
  options.arena = arena;
  OK(landmark_prefill(q, L, Hq, D, k, v, LANDMARK_F32, Hkv, &options, out, L * Hq * D, lse, L * Hq, mask,
                      sizeof(mask), &stats));
  CHECK(stats.blocks == 10 && fabs(stats.density - 1.0) < 1e-12);
  for (t = 0; t < L; ++t) {
    for (h = 0; h < Hq; ++h) {
      attention(q + (t * Hq + h) * D, k, v, t + 1, Hkv, h / (Hq / Hkv), D, expected);
      for (j = 0; j < D; ++j) max_error = fmax(max_error, fabs(out[(t * Hq + h) * D + j] - expected[j]));
    }
  }
  CHECK(max_error < 1e-5);
  options.policy = LANDMARK_PREFILL_DMA;
  options.sparsity = 0.9;
  OK(landmark_prefill(q, L, Hq, D, k, v, LANDMARK_F32, Hkv, &options, out, L * Hq * D, NULL, 0, mask, sizeof(mask),
                      &stats));
  CHECK(stats.density < 1.0);
  for (i = 0; i < 10; ++i) CHECK(mask[i * 10 + i] == 1 && mask[i * 10] == 1); /* diagonal and block 0 */
  /* Wrong sizes. */
  CHECK_STATUS(landmark_prefill(q, L, Hq, D, k, v, LANDMARK_F32, Hkv, &options, out, L * Hq * D - 1, NULL, 0, NULL,
                                0, NULL),
               LANDMARK_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(landmark_prefill(q, L, 3, D, k, v, LANDMARK_F32, Hkv, &options, out, L * 3 * D, NULL, 0, NULL, 0, NULL),
               LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("multiple of kv heads");
  CHECK_STATUS(landmark_prefill(q, L, Hq, D, k, v, LANDMARK_F32, Hkv, &options, out, L * Hq * D, NULL, 0, mask, 7,
                                NULL),
               LANDMARK_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(landmark_prefill(q, L, Hq, D, k, v, (landmark_dtype)5, Hkv, &options, out, L * Hq * D, NULL, 0, NULL,
                                0, NULL),
               LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("kv_dtype");
  options.policy = (landmark_prefill_policy)9;
  CHECK_STATUS(landmark_prefill(q, L, Hq, D, k, v, LANDMARK_F32, Hkv, &options, out, L * Hq * D, NULL, 0, NULL, 0,
                                NULL),
               LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("options.policy");
  options.policy = LANDMARK_PREFILL_DMA;
  OK(landmark_arena_close(arena));
  CHECK_STATUS(landmark_prefill(q, L, Hq, D, k, v, LANDMARK_F32, Hkv, &options, out, L * Hq * D, NULL, 0, NULL, 0,
                                NULL),
               LANDMARK_ERROR_CLOSED); /* options.arena was closed */
}

/* Presets: the shipped ones load; values land in the option structs; an
 * unknown key or a bad value is an error naming it. */
static void test_config(void) {
  const char* presets[] = {"demo.toml", "llama3-8b.toml", "hsa.toml"};
  const char* good = "[model]\nq_heads = 32\nkv_heads = 8\nhead_dim = 128\n[retrieval]\ntop_k = 16\nfusion = \"hsa\"\n"
                     "[prefill]\npolicy = \"dma\"\n[prefill.dma]\nsparsity = 0.5\n[runtime]\nthreads = 3\n"
                     "device = \"cpu\"\n";
  const char* typo = "[retrieval]\ntop_k = 16\ntopk = 3\n";
  const char* bad_value = "[retrieval]\nfusion = \"mixed\"\n";
  const char* bad_type = "[model]\nkv_heads = \"eight\"\n";
  landmark_config* config = NULL;
  landmark_store_options options;
  landmark_retriever_options ropts;
  landmark_prefill_options popts;
  size_t i, threads = 0;
  char file[1024];

  for (i = 0; i < sizeof(presets) / sizeof(presets[0]); ++i) {
    path(file, sizeof(file), configs_dir, presets[i]);
    OK(landmark_config_load(file, &config));
    OK(landmark_config_close(config));
  }
  path(file, sizeof(file), configs_dir, "llama3-8b.toml");
  OK(landmark_config_load(file, &config));
  landmark_retriever_options_init(&ropts);
  landmark_store_options_init(&options);
  OK(landmark_config_retriever_options(config, &ropts));
  OK(landmark_config_store_options(config, &options));
  CHECK(ropts.q_heads == 32 && options.kv_heads == 8 && options.head_dim == 128);
  OK(landmark_config_close(config));

  OK(landmark_config_parse(good, strlen(good), "good.toml", &config));
  landmark_retriever_options_init(&ropts);
  landmark_prefill_options_init(&popts);
  ropts.window = 77; /* not in the preset: kept */
  OK(landmark_config_retriever_options(config, &ropts));
  OK(landmark_config_prefill_options(config, &popts));
  OK(landmark_config_threads(config, &threads));
  CHECK(ropts.q_heads == 32 && ropts.top_k == 16 && ropts.fusion == LANDMARK_FUSION_HSA && ropts.window == 77);
  CHECK(popts.policy == LANDMARK_PREFILL_DMA && fabs(popts.sparsity - 0.5) < 1e-12 && threads == 3);
  CHECK(ropts.device == LANDMARK_DEVICE_CPU && popts.device == LANDMARK_DEVICE_CPU);
  ropts.struct_size = 1;
  CHECK_STATUS(landmark_config_retriever_options(config, &ropts), LANDMARK_ERROR_INVALID_ARGUMENT);
  OK(landmark_config_close(config));
  CHECK_STATUS(landmark_config_close(config), LANDMARK_ERROR_CLOSED);

  CHECK_STATUS(landmark_config_parse(typo, strlen(typo), "typo.toml", &config), LANDMARK_ERROR_CONFIG);
  ERROR_MENTIONS("typo.toml: [retrieval].topk: unknown key");
  CHECK(config == NULL);
  CHECK_STATUS(landmark_config_parse(bad_value, strlen(bad_value), "v.toml", &config), LANDMARK_ERROR_CONFIG);
  ERROR_MENTIONS("[retrieval].fusion");
  CHECK_STATUS(landmark_config_parse(bad_type, strlen(bad_type), "t.toml", &config), LANDMARK_ERROR_CONFIG);
  ERROR_MENTIONS("[model].kv_heads: expected an integer");
  CHECK_STATUS(landmark_config_parse("[model\n", 7, "broken.toml", &config), LANDMARK_ERROR_CONFIG);
  ERROR_MENTIONS("broken.toml:1");
  CHECK_STATUS(landmark_config_load("/nonexistent.toml", &config), LANDMARK_ERROR_CONFIG);
  ERROR_MENTIONS("/nonexistent.toml");

  /* One option by its preset key, or the key's last part. */
  landmark_prefill_options_init(&popts);
  OK(landmark_prefill_options_set(&popts, "prefill.dma.sparsity", "0.75"));
  OK(landmark_prefill_options_set(&popts, "importance", "qk"));
  OK(landmark_prefill_options_set(&popts, "policy", "dma"));
  OK(landmark_prefill_options_set(&popts, "threshold", "alpha"));
  CHECK(fabs(popts.sparsity - 0.75) < 1e-12 && popts.importance == 1 && popts.policy == LANDMARK_PREFILL_DMA &&
        popts.threshold_alpha == 1);
  CHECK_STATUS(landmark_prefill_options_set(&popts, "sparsity", "1.5"), LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("prefill.dma.sparsity: must be in [0, 1] (got 1.5)");
  CHECK_STATUS(landmark_prefill_options_set(&popts, "sparsty", "0.5"), LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("did you mean 'sparsity'");
  CHECK_STATUS(landmark_prefill_options_set(&popts, NULL, "0.5"), LANDMARK_ERROR_NULL_ARGUMENT);
  landmark_retriever_options_init(&ropts);
  OK(landmark_retriever_options_set(&ropts, "retrieval.top_k", "8"));
  OK(landmark_retriever_options_set(&ropts, "fusion", "hsa"));
  OK(landmark_retriever_options_set(&ropts, "temperature", "4"));
  OK(landmark_retriever_options_set(&ropts, "runtime.device", "cpu"));
  CHECK(ropts.top_k == 8 && ropts.fusion == LANDMARK_FUSION_HSA && ropts.temperature == 4.0f &&
        ropts.device == LANDMARK_DEVICE_CPU);
  CHECK_STATUS(landmark_retriever_options_set(&ropts, "top_k", "0"), LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("retrieval.top_k: must be in [1, ");
  CHECK_STATUS(landmark_retriever_options_set(&ropts, "store.dtype", "f32"), LANDMARK_ERROR_INVALID_ARGUMENT);
  ERROR_MENTIONS("unknown option 'store.dtype'");
  landmark_store_options_init(&options);
  OK(landmark_store_options_set(&options, "store.segment_size", "64M"));
  OK(landmark_store_options_set(&options, "dtype", "bf16"));
  OK(landmark_store_options_set(&options, "bigram_weight", "0.25"));
  CHECK(options.segment_bytes == ((size_t)64 << 20) && options.dtype == LANDMARK_BF16 && options.bigram_weight == 0.25f);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s DATA_DIR WORK_DIR CONFIGS_DIR\n", argv[0]);
    return 2;
  }
  data_dir = argv[1];
  work_dir = argv[2];
  configs_dir = argv[3];
  test_version();
  test_tensor_store();
  test_text_store();
  test_null_arguments();
  test_prefill();
  test_config();
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("all C API checks passed\n");
  return 0;
}
