/* The C API of pretrained LLMs, from C99: stories260K (a real Llama-2
 * architecture model) reproduces its llama2.c greedy output through
 * landmark_llm_generate; a document ingested into a store is asked and its
 * source named; bad arguments give status codes with messages.
 * usage: llm_capi_test MODEL_DIR REFERENCE_TXT WORK_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landmark/landmark.h"

static int failures = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                     \
    }                                                                 \
  } while (0)
#define OK(call)                                                                            \
  do {                                                                                      \
    landmark_status s_ = (call);                                                            \
    if (s_ != LANDMARK_OK) {                                                                \
      fprintf(stderr, "%s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #call, landmark_status_name(s_), \
              landmark_last_error());                                                       \
      exit(1);                                                                              \
    }                                                                                       \
  } while (0)

static char* ReadAll(const char* path) {
  FILE* f = fopen(path, "rb");
  long n;
  char* text;
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  text = (char*)malloc((size_t)n + 1);
  if (fread(text, 1, (size_t)n, f) != (size_t)n) exit(1);
  text[n] = '\0';
  fclose(f);
  return text;
}

typedef struct {
  size_t calls, bytes;
} Streamed;
static int OnText(const char* text, size_t length, void* user) {
  Streamed* s = (Streamed*)user;
  (void)text;
  ++s->calls;
  s->bytes += length;
  return 0;
}
static int StopAtOnce(const char* text, size_t length, void* user) {
  (void)text;
  (void)length;
  (void)user;
  return 1;
}
static size_t progress_calls = 0;
static int OnProgress(const landmark_progress* p, void* user) {
  (void)user;
  if (p->tokens > 0) ++progress_calls;
  return 0;
}

int main(int argc, char** argv) {
  landmark_llm* llm = NULL;
  landmark_llm_answer* answer = NULL;
  landmark_generation_options g;
  landmark_llm_answer_stats stats;
  const char* text;
  size_t length, count, i;
  char json[1024], store[4096], doc[4096];
  char* reference;
  Streamed streamed = {0, 0};
  if (argc != 4) {
    fprintf(stderr, "usage: %s MODEL_DIR REFERENCE_TXT WORK_DIR\n", argv[0]);
    return 2;
  }
  reference = ReadAll(argv[2]);

  /* Errors: a directory that is no model, NULLs, a closed handle. */
  CHECK(landmark_llm_load("/nonexistent-model", &llm) == LANDMARK_ERROR_IO);
  CHECK(strstr(landmark_last_error(), "/nonexistent-model") != NULL);
  CHECK(llm == NULL);
  CHECK(landmark_llm_load(NULL, &llm) == LANDMARK_ERROR_NULL_ARGUMENT);

  OK(landmark_llm_load(argv[1], &llm));
  OK(landmark_llm_describe(llm, json, sizeof json, &length));
  CHECK(strstr(json, "\"architecture\":\"LlamaForCausalLM\"") != NULL);
  CHECK(length == strlen(json));

  /* Greedy from BOS with an empty prompt is llama2.c's reference run. */
  landmark_generation_options_init(&g);
  g.max_tokens = 256;
  g.temperature = 0;
  g.on_text = OnText;
  g.user_data = &streamed;
  OK(landmark_llm_generate(llm, "", &g, &answer));
  OK(landmark_llm_answer_text(answer, &text, &length));
  OK(landmark_llm_answer_stats_get(answer, &stats));
  CHECK(stats.generated_tokens == 256);
  CHECK(streamed.bytes == length);
  CHECK(streamed.calls > 10);
  {
    /* The reference (llama2.c's) starts with the space SentencePiece puts
     * before the first word and ends with a newline. */
    const char* want = reference + (reference[0] == ' ');
    const char* got = text + (text[0] == ' ');
    size_t n = strlen(want);
    while (n > 0 && want[n - 1] == '\n') --n;
    CHECK(strlen(got) == n && strncmp(want, got, n) == 0);
    if (strlen(got) != n || strncmp(want, got, n) != 0) fprintf(stderr, "got:  %s\nwant: %s\n", got, want);
  }
  OK(landmark_llm_answer_source_count(answer, &count));
  CHECK(count == 0);
  OK(landmark_llm_answer_close(answer));
  CHECK(landmark_llm_answer_close(answer) == LANDMARK_ERROR_CLOSED);

  /* A callback's stop ends generation after its first piece. */
  g.on_text = StopAtOnce;
  OK(landmark_llm_generate(llm, "Once upon a time", &g, &answer));
  OK(landmark_llm_answer_stats_get(answer, &stats));
  CHECK(stats.generated_tokens < 5);
  OK(landmark_llm_answer_close(answer));

  /* Bad options. */
  g.on_text = NULL;
  g.temperature = 0.0 / 0.0;
  CHECK(landmark_llm_generate(llm, "x", &g, &answer) == LANDMARK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(landmark_last_error(), "temperature") != NULL);
  g.temperature = 0;
  g.chat_format = "klingon";
  CHECK(landmark_llm_generate(llm, "x", &g, &answer) == LANDMARK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(landmark_last_error(), "chatml") != NULL);
  g.chat_format = NULL;
  g.struct_size = 3;
  CHECK(landmark_llm_generate(llm, "x", &g, &answer) == LANDMARK_ERROR_INVALID_ARGUMENT);
  landmark_generation_options_init(&g);

  /* A document into a store, then a question about it. */
  {
    landmark_llm_ingest_options o;
    landmark_ingest_stats is;
    landmark_llm_answerer* answerer = NULL;
    landmark_llm_source source;
    const char* paths[1];
    FILE* f;
    snprintf(store, sizeof store, "%s/store", argv[3]);
    snprintf(doc, sizeof doc, "%s/lily.txt", argv[3]);
    f = fopen(doc, "w");
    if (!f) return 1;
    for (i = 0; i < 40; ++i) fprintf(f, "Lily had a red ball number %zu. She played with it in the park every day. ", i);
    fclose(f);
    landmark_llm_ingest_options_init(&o);
    o.chunk_size = 16;
    o.progress = OnProgress;
    o.retrieval.window = 64;
    o.retrieval.top_k = 2;
    paths[0] = doc;
    OK(landmark_llm_ingest_files(llm, store, paths, 1, &o, &is));
    CHECK(is.files == 1 && is.tokens > 400);
    CHECK(progress_calls > 0);
    /* The same file again is skipped. */
    OK(landmark_llm_ingest_files(llm, store, paths, 1, &o, &is));
    CHECK(is.files == 0 && is.skipped == 1 && is.tokens == 0);
    /* In-memory text; invalid UTF-8 is refused. */
    OK(landmark_llm_ingest_text(llm, store, "memo", "Tom saw a big dog.", 18, &o, &is));
    CHECK(is.files == 1);
    CHECK(landmark_llm_ingest_text(llm, store, "bad", "\xff\xfe", 2, &o, &is) == LANDMARK_ERROR_INVALID_ARGUMENT);

    {
      landmark_llm_retrieval_options r;
      landmark_llm_retrieval_options_init(&r);
      r.window = 32;
      r.top_k = 2;
      OK(landmark_llm_answerer_open(llm, store, &r, &answerer));
    }
    g.max_tokens = 12;
    g.temperature = 0;
    OK(landmark_llm_ask(answerer, "What did Lily play with?", &g, &answer));
    OK(landmark_llm_answer_text(answer, &text, &length));
    CHECK(length > 0);
    OK(landmark_llm_answer_source_count(answer, &count));
    CHECK(count > 0);
    OK(landmark_llm_answer_source(answer, 0, &source));
    CHECK(source.share > 0 && source.share <= 1);
    CHECK(source.text_length > 0);
    CHECK(landmark_llm_answer_source(answer, count, &source) == LANDMARK_ERROR_INVALID_ARGUMENT);
    printf("ask: \"%.*s\" (top source %s @ %llu, %.0f%%)\n", (int)length, text,
           source.document[0] ? source.document : "(preamble)", (unsigned long long)source.offset, 100 * source.share);
    OK(landmark_llm_answer_close(answer));
    g.chat_format = "chatml";
    CHECK(landmark_llm_ask(answerer, "q", &g, &answer) == LANDMARK_ERROR_INVALID_ARGUMENT);
    CHECK(answer == NULL);
    OK(landmark_llm_answerer_close(answerer));
    CHECK(landmark_llm_answerer_open(llm, "/nonexistent-store", NULL, &answerer) == LANDMARK_ERROR_IO);
  }

  OK(landmark_llm_close(llm));
  CHECK(landmark_llm_describe(llm, json, sizeof json, &length) == LANDMARK_ERROR_CLOSED);
  free(reference);
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("all LLM C API checks passed\n");
  return 0;
}
