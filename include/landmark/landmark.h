/* landmark C API: a stable C99 interface to the chunk store, the retrieval
 * engine and sparse prefill, for desktop apps, scripts (Python's ctypes) and
 * other languages.
 *
 * Conventions
 *  - Every function returns a landmark_status; LANDMARK_OK (0) is success.
 *    On failure, landmark_last_error() gives this thread's message naming
 *    the argument, file or key and what was wrong. No C++ exception ever
 *    crosses this boundary. A failed call that creates a handle sets its
 *    out-parameter to NULL.
 *  - Handles are opaque and checked on every call: NULL gives
 *    LANDMARK_ERROR_NULL_ARGUMENT; a handle already closed (use after close,
 *    double close), or one of another kind, gives LANDMARK_ERROR_CLOSED. A
 *    closed handle's value is never reused. Closing a handle while another
 *    thread uses it is safe: the object lives until that call returns.
 *  - Ownership: every pointer passed in is borrowed for the call only (the
 *    library copies what it keeps). Pointers handed out (const char*,
 *    const float*, ...) are owned by the library and stay valid for the
 *    lifetime stated beside each function. Handles the caller creates are
 *    the caller's to close.
 *  - Sizes are in elements unless named *_bytes. Arrays are C order
 *    (row-major), shapes written [outer][...][inner].
 *  - Option structs start with `struct_size`; fill them with the matching
 *    *_init() function (defaults), then change fields. A struct_size the
 *    library does not know gives LANDMARK_ERROR_INVALID_ARGUMENT.
 *  - Handles may be used from several threads at once, except a writer,
 *    which one thread at a time must use.
 */
#ifndef LANDMARK_LANDMARK_H_
#define LANDMARK_LANDMARK_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LANDMARK_API __attribute__((visibility("default")))
#else
#define LANDMARK_API
#endif

/* The version of this header's interface; bumped on incompatible change. */
#define LANDMARK_API_VERSION 1

/* ---- status, errors, version -------------------------------------------- */

typedef enum landmark_status {
  LANDMARK_OK = 0,
  LANDMARK_ERROR_NULL_ARGUMENT = 1,    /* a required handle or pointer is NULL */
  LANDMARK_ERROR_INVALID_ARGUMENT = 2, /* a size, shape or option is wrong */
  LANDMARK_ERROR_CLOSED = 3,           /* the handle was closed, or is of another kind */
  LANDMARK_ERROR_IO = 4,               /* a file or store is missing, unreadable, damaged or locked */
  LANDMARK_ERROR_CONFIG = 5,           /* a preset is not valid TOML, or has an unknown key or bad value */
  LANDMARK_ERROR_CANCELLED = 6,        /* a progress callback asked to stop */
  LANDMARK_ERROR_OUT_OF_MEMORY = 7,
  LANDMARK_ERROR_INTERNAL = 8          /* a bug in landmark: please report the message */
} landmark_status;

/* "LANDMARK_OK", "LANDMARK_ERROR_CLOSED", ...; static storage. */
LANDMARK_API const char* landmark_status_name(landmark_status status);
/* The message of the last call that failed on this thread ("" if none).
 * Owned by the library; valid until the next failing call on this thread. */
LANDMARK_API const char* landmark_last_error(void);
/* LANDMARK_API_VERSION of the library actually loaded. */
LANDMARK_API int landmark_api_version(void);
/* "0.1.0"; static storage. */
LANDMARK_API const char* landmark_version(void);

/* ---- enums --------------------------------------------------------------- */

typedef enum landmark_dtype { LANDMARK_F32 = 0, LANDMARK_F16 = 1, LANDMARK_BF16 = 2 } landmark_dtype;
typedef enum landmark_landmark_kind {
  LANDMARK_KIND_LEARNED = 0, /* given by the model at append */
  LANDMARK_KIND_MEAN = 1,    /* mean of each chunk's keys */
  LANDMARK_KIND_MINMAX = 2   /* per-dimension min and max of the keys (Quest bound) */
} landmark_landmark_kind;
typedef enum landmark_fusion { LANDMARK_FUSION_JOINT = 0, LANDMARK_FUSION_HSA = 1 } landmark_fusion;
typedef enum landmark_weights { LANDMARK_WEIGHTS_SOFTMAX = 0, LANDMARK_WEIGHTS_STICKBREAKING = 1 } landmark_weights;
/* Where the engine runs (device.h): the GPU when the CUDA backend was built
 * and sees one, else the CPU (auto); always the CPU; or the GPU, failing
 * with LANDMARK_ERROR_INVALID_ARGUMENT saying why it cannot. */
typedef enum landmark_device {
  LANDMARK_DEVICE_AUTO = 0,
  LANDMARK_DEVICE_CPU = 1,
  LANDMARK_DEVICE_CUDA = 2
} landmark_device;
typedef enum landmark_prefill_policy {
  LANDMARK_PREFILL_DENSE = 0,
  LANDMARK_PREFILL_FLASHPREFILL = 1,
  LANDMARK_PREFILL_DMA = 2
} landmark_prefill_policy;

/* ---- threads -------------------------------------------------------------- */

/* A oneTBB task arena owned by the host app: the work of every call given
 * this arena (ingest, queries, prefill) runs on at most `threads` threads
 * (0: all CPUs). Handles that keep an arena hold a reference, so it may be
 * closed at any time. Without an arena, calls run in the calling thread's
 * current arena (all CPUs by default). Batches of 8 or more queries score
 * landmarks with oneDNN, which runs on OpenMP threads (OMP_NUM_THREADS);
 * start the app with OMP_WAIT_POLICY=passive, or libgomp's idle workers
 * spin and take CPU from the TBB work (the CLI and the Python package set it). */
typedef struct landmark_arena landmark_arena;
LANDMARK_API landmark_status landmark_arena_create(size_t threads, landmark_arena** arena);
LANDMARK_API landmark_status landmark_arena_threads(const landmark_arena* arena, size_t* threads);
LANDMARK_API landmark_status landmark_arena_close(landmark_arena* arena);

/* ---- presets (configs/NAME.toml) ------------------------------------------- */

/* A preset read from TOML (see configs/README.md for the keys). It fills
 * option structs: only the fields the file sets are changed. */
typedef struct landmark_config landmark_config;
LANDMARK_API landmark_status landmark_config_load(const char* path, landmark_config** config);
/* From text (`length` bytes, need not be NUL-terminated); `name` labels messages. */
LANDMARK_API landmark_status landmark_config_parse(const char* toml, size_t length, const char* name,
                                                   landmark_config** config);
/* runtime.threads (0 when the file does not set it). */
LANDMARK_API landmark_status landmark_config_threads(const landmark_config* config, size_t* threads);
LANDMARK_API landmark_status landmark_config_close(landmark_config* config);

/* ---- store: shape and info ------------------------------------------------ */

typedef struct landmark_store_options {
  size_t struct_size;
  size_t chunk_size;     /* S, tokens per chunk (default 64) */
  size_t kv_heads;       /* H_kv (default 1) */
  size_t head_dim;       /* d (default 64; the hashing encoder retrieves better at 256-512) */
  landmark_dtype dtype;  /* storage dtype of K, V, landmarks (default f16) */
  landmark_landmark_kind landmark; /* default mean */
  size_t landmark_heads; /* learned: retrieval heads (0: kv_heads) */
  size_t landmark_dim;   /* learned: R (0: head_dim) */
  size_t commit_every;   /* chunks between automatic commits (default 1024; 0: only explicit) */
  size_t segment_bytes;  /* kv file roll-over size (default 1 GiB) */
  /* Text stores (landmark_writer_create_text): the hashing encoder. */
  uint64_t encoder_seed;
  float bigram_weight;
} landmark_store_options;
LANDMARK_API void landmark_store_options_init(landmark_store_options* options);
/* Fields the preset sets ([model] kv_heads/head_dim, [store], [encoder]). */
LANDMARK_API landmark_status landmark_config_store_options(const landmark_config* config,
                                                           landmark_store_options* options);
/* Sets one option by its preset key (configs/README.md; `landmark config`
 * lists them), e.g. "store.chunk_size", or by the key's last part when that
 * is unique ("chunk_size"); `value` as the preset writes it ("64", "bf16",
 * "1G"), checked as in a preset. The landmark_*_options_set functions fail
 * with LANDMARK_ERROR_INVALID_ARGUMENT naming the key for a bad value, and
 * for a key the struct does not hold (listing those it does). */
LANDMARK_API landmark_status landmark_store_options_set(landmark_store_options* options, const char* key,
                                                        const char* value);

typedef struct landmark_store_info {
  size_t struct_size;
  size_t chunk_size, kv_heads, head_dim;
  landmark_dtype dtype;
  landmark_landmark_kind landmark;
  size_t landmark_heads, landmark_dim;
  uint64_t commit;       /* commits so far */
  uint64_t chunks;       /* complete chunks */
  uint64_t tokens;       /* chunks * chunk_size + tail_tokens */
  uint64_t tail_tokens;
  uint64_t kv_bytes, landmark_bytes, text_bytes;
  int has_text;          /* 1: chunk texts are kept */
  int text_encoder;      /* 1: made by the hashing encoder (text questions work) */
} landmark_store_info;
LANDMARK_API void landmark_store_info_init(landmark_store_info* info);

/* Reads only the manifest of the store in `dir` (fast, works on damaged data). */
LANDMARK_API landmark_status landmark_store_info_read(const char* dir, landmark_store_info* info);
/* The manifest as JSON (shape, counts, sizes, creation metadata). Writes at
 * most `capacity` bytes including the NUL into `buffer` (may be NULL when
 * capacity is 0) and the full length without NUL into `*length`: call
 * twice to size the buffer. */
LANDMARK_API landmark_status landmark_store_info_json(const char* dir, char* buffer, size_t capacity, size_t* length);
/* Checks a store completely: sizes, checksums, offsets. LANDMARK_OK when
 * sound; LANDMARK_ERROR_IO when damaged, with every problem (one per line,
 * each naming its file) in landmark_last_error(). `problems` (may be NULL)
 * receives their count. */
LANDMARK_API landmark_status landmark_store_verify(const char* dir, size_t* problems);

/* ---- store: writing ------------------------------------------------------- */

/* One writer per store (an advisory lock enforces it); use from one thread. */
typedef struct landmark_writer landmark_writer;
/* A new store of tensors (K/V from a model) in `dir` (created if missing;
 * must not hold a store). */
LANDMARK_API landmark_status landmark_writer_create(const char* dir, const landmark_store_options* options,
                                                    landmark_writer** writer);
/* A new text store: the built-in hashing encoder with options' kv_heads,
 * head_dim, encoder_seed and bigram_weight (recorded in the manifest). */
LANDMARK_API landmark_status landmark_writer_create_text(const char* dir, const landmark_store_options* options,
                                                         landmark_writer** writer);
/* Opens an existing store to append (trims anything past its last commit). */
LANDMARK_API landmark_status landmark_writer_open(const char* dir, landmark_writer** writer);

/* Tokens to append: keys and values [tokens][kv_heads][head_dim] of `dtype`
 * (converted to the store's dtype); kv_heads and head_dim must be the
 * store's. Learned stores: `landmarks` [landmark_chunks][landmark_heads]
 * [landmark_dim], one per chunk this batch completes. Text stores may add
 * the text and, per token, the end of its text (byte offset into `text`). */
typedef struct landmark_tokens {
  size_t struct_size;
  size_t tokens, kv_heads, head_dim;
  landmark_dtype dtype;
  const void* keys;
  const void* values;
  const void* landmarks;
  size_t landmark_chunks, landmark_heads, landmark_dim;
  landmark_dtype landmarks_dtype;
  const char* text;
  size_t text_length;
  const uint32_t* token_text_end;
} landmark_tokens;
LANDMARK_API void landmark_tokens_init(landmark_tokens* tokens);
LANDMARK_API landmark_status landmark_writer_append(landmark_writer* writer, const landmark_tokens* tokens);

/* Text stores: appends `length` bytes of UTF-8 text as one document,
 * encoded by the store's hashing encoder (stores with an index: in chunks of
 * its own, named "(text N)" as its source, N the store's tokens before it). */
LANDMARK_API landmark_status landmark_writer_append_text(landmark_writer* writer, const char* text, size_t length);

/* Ingest progress, reported after every piece of input (a few MiB). */
typedef struct landmark_progress {
  uint64_t tokens;       /* appended so far */
  uint64_t input_bytes;  /* input read so far */
  uint64_t input_total;  /* all input (0: unknown) */
  size_t files_done, files_total;
  const char* current;   /* the input being read; valid during the callback only */
} landmark_progress;
/* Return 0 to go on, anything else to stop: the call then returns
 * LANDMARK_ERROR_CANCELLED, keeping what was appended (commit or close keeps it). */
typedef int (*landmark_progress_fn)(const landmark_progress* progress, void* user_data);

typedef struct landmark_ingest_options {
  size_t struct_size;
  int strict;                   /* 1: a file that is not UTF-8 text is an error (default: skipped) */
  landmark_progress_fn progress;  /* may be NULL */
  void* user_data;              /* passed to progress */
  landmark_arena* arena;        /* may be NULL */
  int force;                    /* 1: add a file whose content is already in the store (default: skipped) */
} landmark_ingest_options;
LANDMARK_API void landmark_ingest_options_init(landmark_ingest_options* options);

typedef struct landmark_ingest_stats {
  uint64_t tokens, input_bytes;
  size_t files, skipped;  /* files ingested and left out (not text, or already in the store) */
} landmark_ingest_stats;

/* Text stores: every text file under `paths` (files or directories, walked
 * recursively in sorted order), each file one document. `options` and
 * `stats` may be NULL. */
LANDMARK_API landmark_status landmark_writer_ingest_files(landmark_writer* writer, const char* const* paths,
                                                          size_t count, const landmark_ingest_options* options,
                                                          landmark_ingest_stats* stats);
/* Tensor stores: keys and values from .npy or .safetensors[:NAME] files
 * [n][kv_heads][head_dim]; `landmarks` (learned stores, else NULL). */
LANDMARK_API landmark_status landmark_writer_ingest_tensors(landmark_writer* writer, const char* keys,
                                                            const char* values, const char* landmarks,
                                                            const landmark_ingest_options* options,
                                                            landmark_ingest_stats* stats);
/* Text stores with an index: marks every document ingested as `path` as
 * removed (left out of every answer from the next commit); `removed` (may
 * be NULL) receives how many. */
LANDMARK_API landmark_status landmark_writer_remove_document(landmark_writer* writer, const char* path,
                                                             size_t* removed);
/* Makes everything appended so far durable (readers see it). */
LANDMARK_API landmark_status landmark_writer_commit(landmark_writer* writer);
/* As of the last commit; `tokens` includes what is pending. */
LANDMARK_API landmark_status landmark_writer_get_info(const landmark_writer* writer, landmark_store_info* info);
/* Commits, releases the lock and closes the handle (closed even when the
 * commit fails; the status then says why). */
LANDMARK_API landmark_status landmark_writer_close(landmark_writer* writer);

/* ---- store: reading ------------------------------------------------------- */

/* A read-only view of the store's last commit, memory-mapped. */
typedef struct landmark_store landmark_store;
LANDMARK_API landmark_status landmark_store_open(const char* dir, landmark_store** store);
LANDMARK_API landmark_status landmark_store_get_info(const landmark_store* store, landmark_store_info* info);
/* Maps what commits since opening added; *changed (may be NULL) = 1 if any.
 * Invalidates text pointers obtained before; do not call it while other
 * threads use this store handle (retrievers have their own view). */
LANDMARK_API landmark_status landmark_store_refresh(landmark_store* store, int* changed);
/* The source text of chunk `chunk` (the tail is chunk == chunks); not NUL
 * terminated. Points into the mapping: valid until the store handle is
 * closed or refreshed (retrievers and results keep it open). */
LANDMARK_API landmark_status landmark_store_chunk_text(const landmark_store* store, uint64_t chunk,
                                                       const char** text, size_t* length);
/* Closes this handle; retrievers made from it keep the store open. */
LANDMARK_API landmark_status landmark_store_close(landmark_store* store);

/* ---- retrieval -------------------------------------------------------------- */

typedef struct landmark_retriever_options {
  size_t struct_size;
  size_t q_heads;         /* H_q, a multiple of the store's kv heads (0: = kv heads) */
  size_t top_k;           /* chunks selected per kv head (default 64) */
  landmark_fusion fusion; /* default joint */
  landmark_weights weights; /* hsa only; default softmax */
  int softmax_off_by_one; /* 1: an implicit zero logit inside each chunk */
  size_t window;          /* local window W in tokens (default 0) */
  size_t sink_chunks;     /* joint only: the first chunks, always attended */
  int prefetch;           /* 1 (default): madvise the selected chunks */
  float temperature;      /* text questions: logit scale of a matching token (default 16) */
  landmark_device device; /* default auto */
  landmark_arena* arena;  /* may be NULL; the retriever keeps a reference */
} landmark_retriever_options;
LANDMARK_API void landmark_retriever_options_init(landmark_retriever_options* options);
/* Fields the preset sets ([model] q_heads, [retrieval], [encoder] temperature, [runtime] device). */
LANDMARK_API landmark_status landmark_config_retriever_options(const landmark_config* config,
                                                               landmark_retriever_options* options);
/* One option by its key ("retrieval.top_k", "top_k", "runtime.device"), as
 * landmark_store_options_set. */
LANDMARK_API landmark_status landmark_retriever_options_set(landmark_retriever_options* options, const char* key,
                                                            const char* value);

typedef struct landmark_retriever landmark_retriever;
/* The retriever keeps the store open (closing the store handle is fine). */
LANDMARK_API landmark_status landmark_retriever_create(landmark_store* store, const landmark_retriever_options* options,
                                                       landmark_retriever** retriever);
/* Shapes queries must have: q [q_heads][head_dim], r [landmark_heads][landmark_dim]. */
LANDMARK_API landmark_status landmark_retriever_shape(const landmark_retriever* retriever, size_t* q_heads,
                                                      size_t* head_dim, size_t* landmark_heads, size_t* landmark_dim);
LANDMARK_API landmark_status landmark_retriever_close(landmark_retriever* retriever);

/* A sharded store (`landmark ingest --shards N`, include/landmark/shard.h)
 * over Open MPI: every rank of MPI_COMM_WORLD calls this with the same
 * arguments and opens PREFIX/shard-<rank> (MPI is initialised here unless
 * the program did it; landmark finalises it at exit if it did). Queries
 * with this retriever are collective: every rank calls the same query
 * function the same number of times; rank 0's queries are used (other ranks
 * may pass count 0 and q NULL) and rank 0 receives the results, the other
 * ranks a result of 0 queries. Selections equal one process's over the
 * whole store, outputs within f32 rounding. Chunk texts are returned for
 * the chunks of rank 0's shard. Fails with LANDMARK_ERROR_INVALID_ARGUMENT
 * when landmark was built without MPI. */
LANDMARK_API landmark_status landmark_sharded_retriever_create(const char* prefix, const landmark_retriever_options* options,
                                                               landmark_retriever** retriever);
/* This process's rank and the number of ranks (initialises MPI). */
LANDMARK_API landmark_status landmark_mpi_rank(size_t* rank, size_t* size);

/* Results of one or more queries; the caller closes it. Holds the store
 * open, so chunk texts stay valid as long as the result. */
typedef struct landmark_result landmark_result;

/* Position meaning "the last token of the store" (p = n - 1). */
#define LANDMARK_LAST_POSITION ((uint64_t)-1)

/* One query: q [q_heads][head_dim] (q_elements must equal that product),
 * r [landmark_heads][landmark_dim] or NULL (the mean of each group's
 * queries; r_elements then 0), at `position` (LANDMARK_LAST_POSITION: n-1). */
LANDMARK_API landmark_status landmark_retriever_query(const landmark_retriever* retriever, const float* q,
                                                      size_t q_elements, const float* r, size_t r_elements,
                                                      uint64_t position, landmark_result** result);
/* `count` queries at once (scoring as one GEMM; the same results as single
 * queries): q [count][q_heads][head_dim], r NULL or [count][landmark_heads]
 * [landmark_dim], positions NULL (all n-1) or [count]. */
LANDMARK_API landmark_status landmark_retriever_query_batch(const landmark_retriever* retriever, size_t count,
                                                            const float* q, size_t q_elements, const float* r,
                                                            size_t r_elements, const uint64_t* positions,
                                                            landmark_result** result);
/* Text stores: a question encoded by the store's hashing encoder (UTF-8,
 * `length` bytes), at the last position. */
LANDMARK_API landmark_status landmark_retriever_query_text(const landmark_retriever* retriever, const char* question,
                                                           size_t length, landmark_result** result);

/* Number of queries in the result. */
LANDMARK_API landmark_status landmark_result_count(const landmark_result* result, size_t* count);
/* Outputs of query `query`, pointers into the result (valid until it is
 * closed); any out pointer may be NULL. A part the fusion does not make
 * is returned as NULL.
 *   out       [q_heads][head_dim]: the fused output (hsa: the retrieval term)
 *   lse       [q_heads]: joint: log-sum-exp of everything attended
 *   local_out [q_heads][head_dim], local_lse [q_heads]: hsa: the local term
 * `q_heads` and `head_dim` (may be NULL) receive the shape. */
LANDMARK_API landmark_status landmark_result_output(const landmark_result* result, size_t query, const float** out,
                                                    const float** lse, const float** local_out,
                                                    const float** local_lse, size_t* q_heads, size_t* head_dim);
typedef struct landmark_query_stats {
  uint64_t position;      /* p */
  uint64_t candidates;    /* chunks that could be selected */
  uint64_t local_tokens;  /* tokens of the local term */
  uint64_t bytes_touched; /* landmarks scored + K/V attended */
  size_t selections;      /* selection heads: one per kv head, or one shared */
} landmark_query_stats;
LANDMARK_API landmark_status landmark_result_stats(const landmark_result* result, size_t query,
                                                   landmark_query_stats* stats);
/* Why chunks were chosen for query `query`, selection head `head`, in
 * descending score: `count` chunk ids, scores s_c and weights (hsa: w_i;
 * joint: the chunk's share of the softmax, averaged over the group).
 * Pointers into the result. */
LANDMARK_API landmark_status landmark_result_selection(const landmark_result* result, size_t query, size_t head,
                                                       size_t* count, const uint32_t** chunks, const float** scores,
                                                       const float** weights);
/* The text of the i-th selected chunk (text stores; else length 0).
 * Valid until the result is closed. Not NUL terminated. */
LANDMARK_API landmark_status landmark_result_chunk_text(const landmark_result* result, size_t query, size_t head,
                                                        size_t i, const char** text, size_t* length);
/* Where the i-th selected chunk comes from (text stores with an index):
 * its document's path (NUL terminated, valid until the result is closed)
 * and the byte range [begin, end) of its text there; path NULL when unknown. */
LANDMARK_API landmark_status landmark_result_chunk_source(const landmark_result* result, size_t query, size_t head,
                                                          size_t i, const char** path, uint64_t* begin,
                                                          uint64_t* end);
LANDMARK_API landmark_status landmark_result_close(landmark_result* result);

/* ---- sparse prefill ------------------------------------------------------- */

typedef struct landmark_prefill_options {
  size_t struct_size;
  landmark_prefill_policy policy; /* default flashprefill */
  size_t block;                   /* B, tokens per block (default 64) */
  /* flashprefill */
  int threshold_alpha;            /* 0: delta form (default), 1: alpha form */
  float delta, alpha;
  double vertical_fraction;
  size_t slash_count;
  /* dma */
  int importance;                 /* 0: value norm (default), 1: pooled q.k, 2: learned (dma_weights) */
  double sparsity;
  size_t window, stride, dilation, dilated_count;
  const float* dma_weights;       /* learned importance [kv_heads][head_dim], else NULL */
  size_t dma_weights_elements;
  landmark_device device;         /* default auto */
  landmark_arena* arena;          /* may be NULL */
} landmark_prefill_options;
LANDMARK_API void landmark_prefill_options_init(landmark_prefill_options* options);
/* Fields the preset sets ([prefill], [prefill.flashprefill], [prefill.dma],
 * [runtime] device). */
LANDMARK_API landmark_status landmark_config_prefill_options(const landmark_config* config,
                                                             landmark_prefill_options* options);
/* One option by its key ("prefill.dma.sparsity", "sparsity", "policy"), as
 * landmark_store_options_set. */
LANDMARK_API landmark_status landmark_prefill_options_set(landmark_prefill_options* options, const char* key,
                                                          const char* value);

typedef struct landmark_prefill_stats {
  size_t blocks;           /* nb = ceil(tokens / block) */
  size_t selected_blocks;  /* all kv heads */
  double density;          /* selected / causal blocks */
  double mask_seconds, attention_seconds;
} landmark_prefill_stats;

/* Causal prefill of Q [tokens][q_heads][head_dim] f32 over K, V
 * [tokens][kv_heads][head_dim] of `kv_dtype` under the policy's block mask.
 * Writes out [tokens][q_heads][head_dim] (out_elements must equal that),
 * lse [tokens][q_heads] (or NULL, lse_elements 0), the mask [kv_heads][nb]
 * [nb] as 0/1 bytes (or NULL, mask_elements 0) and `stats` (may be NULL). */
LANDMARK_API landmark_status landmark_prefill(const float* q, size_t tokens, size_t q_heads, size_t head_dim,
                                              const void* k, const void* v, landmark_dtype kv_dtype, size_t kv_heads,
                                              const landmark_prefill_options* options, float* out,
                                              size_t out_elements, float* lse, size_t lse_elements, uint8_t* mask,
                                              size_t mask_elements, landmark_prefill_stats* stats);

/* ---- pretrained LLMs (Hugging Face directories) --------------------------
 * Llama / Qwen2 / Qwen3 / Mistral models read from their directory
 * (config.json, *.safetensors, tokenizer.json): plain generation, and a
 * library of documents ingested once into a chunk store (every layer's K/V)
 * then asked forever. docs/llm.md has the details. */
typedef struct landmark_llm landmark_llm;
typedef struct landmark_llm_answerer landmark_llm_answerer;
typedef struct landmark_llm_answer landmark_llm_answer;

/* Loads (memory-maps) a model directory. */
LANDMARK_API landmark_status landmark_llm_load(const char* dir, landmark_llm** llm);
/* The model's shape as JSON ({"architecture": ..., "layers": ..., ...});
 * as landmark_store_info_json: `length` gets the size, NUL excluded. */
LANDMARK_API landmark_status landmark_llm_describe(const landmark_llm* llm, char* buffer, size_t capacity,
                                                   size_t* length);
LANDMARK_API landmark_status landmark_llm_close(landmark_llm* llm);

/* Called with each piece of generated text as it is decoded (valid during
 * the call only). Return 0 to go on, anything else to stop there. */
typedef int (*landmark_text_fn)(const char* text, size_t length, void* user_data);

typedef struct landmark_generation_options {
  size_t struct_size;
  size_t max_tokens;   /* default 256 */
  double temperature;  /* < 0 (default): generation_config.json's when it samples, else greedy; 0: greedy */
  double top_p;        /* < 0 (default): as temperature */
  int64_t top_k;       /* < 0 (default): as temperature; 0: all */
  uint64_t seed;
  const char* chat_format; /* NULL or "": the model's template (plain text without one); "raw"; "llama2",
                              "llama3", "chatml", "mistral" (generate only: a store keeps its own) */
  const char* system;      /* a system message, or NULL (generate only) */
  landmark_text_fn on_text; /* may be NULL */
  void* user_data;          /* passed to on_text */
} landmark_generation_options;
LANDMARK_API void landmark_generation_options_init(landmark_generation_options* options);

/* Generates a reply to `prompt` with exact attention (inside the model's
 * trained context). The answer handle holds the text and the statistics. */
LANDMARK_API landmark_status landmark_llm_generate(const landmark_llm* llm, const char* prompt,
                                                   const landmark_generation_options* options,
                                                   landmark_llm_answer** answer);

typedef struct landmark_llm_retrieval_options {
  size_t struct_size;
  size_t sink_chunks; /* default 1 */
  size_t window;      /* local tokens attended exactly; 0: from the trained context */
  size_t top_k;       /* chunks per kv head and layer; 0: from the trained context */
} landmark_llm_retrieval_options;
LANDMARK_API void landmark_llm_retrieval_options_init(landmark_llm_retrieval_options* options);

typedef struct landmark_llm_ingest_options {
  size_t struct_size;
  size_t chunk_size;        /* new stores; default 64 */
  landmark_dtype dtype;     /* new stores; default f16 */
  landmark_landmark_kind landmark; /* new stores: MEAN (default) or MINMAX */
  size_t segment;           /* tokens per forward pass; 0: from the model */
  const char* chat_format;  /* new stores: NULL (the model's template, plain text without one), "raw", a family */
  const char* system;       /* new stores: a system message, or NULL */
  int strict;               /* 1: a file that is not UTF-8 text is an error (default: skipped) */
  landmark_llm_retrieval_options retrieval; /* how the segments read what came before */
  landmark_progress_fn progress; /* may be NULL; files_done/total and input bytes are filled */
  void* user_data;
} landmark_llm_ingest_options;
LANDMARK_API void landmark_llm_ingest_options_init(landmark_llm_ingest_options* options);

/* Runs every text file under `paths` (files or directories) through the
 * model into the store `dir` (created, or added to / resumed when it exists:
 * same model required; files already in it are skipped). Commits as it goes:
 * a killed ingest resumes at its last commit. `stats` may be NULL. */
LANDMARK_API landmark_status landmark_llm_ingest_files(const landmark_llm* llm, const char* dir,
                                                       const char* const* paths, size_t count,
                                                       const landmark_llm_ingest_options* options,
                                                       landmark_ingest_stats* stats);
/* The same for one text held in memory, under `name` (a path-like label). */
LANDMARK_API landmark_status landmark_llm_ingest_text(const landmark_llm* llm, const char* dir, const char* name,
                                                      const char* text, size_t length,
                                                      const landmark_llm_ingest_options* options,
                                                      landmark_ingest_stats* stats);

/* Opens an LLM store for questions (the model must be the one it was
 * ingested with). The answerer keeps its own view of the store. */
LANDMARK_API landmark_status landmark_llm_answerer_open(const landmark_llm* llm, const char* dir,
                                                        const landmark_llm_retrieval_options* options,
                                                        landmark_llm_answerer** answerer);
LANDMARK_API landmark_status landmark_llm_ask(const landmark_llm_answerer* answerer, const char* question,
                                              const landmark_generation_options* options,
                                              landmark_llm_answer** answer);
LANDMARK_API landmark_status landmark_llm_answerer_close(landmark_llm_answerer* answerer);

typedef struct landmark_llm_answer_stats {
  size_t prompt_tokens, generated_tokens;
  int stopped; /* 1: an end-of-sequence token came; 0: max_tokens (or on_text) ended it */
  double prefill_seconds, decode_seconds;
} landmark_llm_answer_stats;
LANDMARK_API landmark_status landmark_llm_answer_text(const landmark_llm_answer* answer, const char** text,
                                                      size_t* length);
LANDMARK_API landmark_status landmark_llm_answer_stats_get(const landmark_llm_answer* answer,
                                                           landmark_llm_answer_stats* stats);
/* The chunks the layers chose most while reading the question (ask only;
 * 0 for generate), most used first. */
LANDMARK_API landmark_status landmark_llm_answer_source_count(const landmark_llm_answer* answer, size_t* count);
typedef struct landmark_llm_source {
  const char* document; /* its path as ingested; "" for the chat preamble */
  uint64_t offset;      /* byte offset of the chunk's first token in the document */
  uint64_t chunk;
  double share;         /* of all (layer, kv head) selections */
  const char* text;     /* the chunk's text */
  size_t text_length;
} landmark_llm_source;
/* Pointers stay valid while the answer handle is open. */
LANDMARK_API landmark_status landmark_llm_answer_source(const landmark_llm_answer* answer, size_t index,
                                                        landmark_llm_source* source);
LANDMARK_API landmark_status landmark_llm_answer_close(landmark_llm_answer* answer);

/* ---- landmark's byte model (docs/model.md) -------------------------------
 * The model that `landmark ingest --model` / `landmark ask` run: text
 * streamed through its lower layers into a store, questions answered by its
 * upper layers retrieving from it. The shipped weights answer one kind of
 * question (landmark_model_task); others are refused, not made up. */

typedef struct landmark_model landmark_model;
/* "default" (the shipped weights, or $LANDMARK_MODEL) or a .safetensors path. */
LANDMARK_API landmark_status landmark_model_load(const char* spec, landmark_model** model);
/* The config (docs/model.md) as JSON, copied as landmark_store_info_json does. */
LANDMARK_API landmark_status landmark_model_config_json(const landmark_model* model, char* buffer, size_t capacity,
                                                        size_t* length);
LANDMARK_API landmark_status landmark_model_close(landmark_model* model);
/* The one kind of question the model answers, in words; static storage. */
LANDMARK_API const char* landmark_model_task(void);

/* Text through the model into the store at `dir`: created, or continued
 * when this model wrote it. Files: every file under `paths` (files or
 * directories, .gz read as text), one document each; a file that is not
 * UTF-8 text is an error naming it. `tokens` (may be NULL): the store's
 * tokens afterwards. */
LANDMARK_API landmark_status landmark_model_ingest_files(const landmark_model* model, const char* dir,
                                                         const char* const* paths, size_t count, uint64_t* tokens);
/* One document from memory (UTF-8). */
LANDMARK_API landmark_status landmark_model_ingest_text(const landmark_model* model, const char* dir,
                                                        const char* text, size_t length, uint64_t* tokens);

typedef struct landmark_model_answer {
  size_t struct_size; /* set by landmark_model_answer_init */
  int stopped;        /* 1: the stop byte came; 0: cut at max_bytes, not a finished answer */
  size_t steps;       /* forward passes */
  double seconds;
  uint64_t bytes_read; /* store bytes: landmarks scored + K/V attended */
} landmark_model_answer;
LANDMARK_API void landmark_model_answer_init(landmark_model_answer* answer);
/* Answers `question` about the store at `dir` (greedy, at most max_bytes,
 * 1..65536). A question of another kind than landmark_model_task fails with
 * LANDMARK_ERROR_INVALID_ARGUMENT saying what the model answers; raw = 1
 * sends the bytes as given, unframed and unchecked. The answer goes to
 * `buffer` (NUL terminated, cut to capacity; capacity 0: only `length`);
 * `length` (may be NULL): its full length; `answer` (may be NULL): how. */
LANDMARK_API landmark_status landmark_model_ask(const landmark_model* model, const char* dir, const char* question,
                                                size_t max_bytes, int raw, char* buffer, size_t capacity,
                                                size_t* length, landmark_model_answer* answer);

#ifdef __cplusplus
}
#endif

#endif /* LANDMARK_LANDMARK_H_ */
