/* A small "desktop app" on the landmark C API: ingest a folder of text into
 * a store on disk, then answer questions from stdin with the passages the
 * retrieval engine picks.
 *
 *   desktop_app [--config PRESET] STORE [FOLDER...]
 *
 * With folders, their text files are added to STORE (created if missing,
 * else appended to), with a progress line. Then each line read from stdin
 * is a question; the three best passages are printed with their weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <landmark/landmark.h>

/* Prints the library's message and exits when a call fails. */
static void check(landmark_status status, const char* what) {
  if (status == LANDMARK_OK) return;
  fprintf(stderr, "%s: %s (%s)\n", what, landmark_last_error(), landmark_status_name(status));
  exit(1);
}

static int show_progress(const landmark_progress* p, void* user_data) {
  (void)user_data;
  if (p->input_total > 0) {
    fprintf(stderr, "\ringesting: %3.0f%%  %llu tokens  file %zu/%zu", 100.0 * (double)p->input_bytes / (double)p->input_total,
            (unsigned long long)p->tokens, p->files_done + (p->files_done < p->files_total), p->files_total);
  }
  return 0; /* non-zero would stop the ingest */
}

int main(int argc, char** argv) {
  const char* preset = NULL;
  const char* store_dir;
  landmark_config* config = NULL;
  landmark_store* store = NULL;
  landmark_retriever* retriever = NULL;
  landmark_retriever_options options;
  char manifest[4096], question[4096];
  struct stat st;
  int first = 1;

  if (argc > 2 && strcmp(argv[1], "--config") == 0) {
    preset = argv[2];
    first = 3;
  }
  if (argc <= first) {
    fprintf(stderr, "usage: %s [--config PRESET] STORE [FOLDER...]\n", argv[0]);
    return 2;
  }
  store_dir = argv[first];
  if (preset) check(landmark_config_load(preset, &config), preset);

  if (argc > first + 1) { /* ingest the folders */
    landmark_writer* writer = NULL;
    landmark_ingest_options ingest;
    landmark_ingest_stats stats;
    snprintf(manifest, sizeof(manifest), "%s/manifest.json", store_dir);
    if (stat(manifest, &st) == 0) {
      check(landmark_writer_open(store_dir, &writer), store_dir);
    } else {
      landmark_store_options store_options;
      landmark_store_options_init(&store_options);
      store_options.head_dim = 256; /* the hashing encoder retrieves better with more dimensions */
      if (config) check(landmark_config_store_options(config, &store_options), preset);
      check(landmark_writer_create_text(store_dir, &store_options, &writer), store_dir);
    }
    landmark_ingest_options_init(&ingest);
    ingest.progress = show_progress;
    check(landmark_writer_ingest_files(writer, (const char* const*)(argv + first + 1), (size_t)(argc - first - 1),
                                       &ingest, &stats),
          "ingest");
    check(landmark_writer_close(writer), store_dir); /* commits */
    fprintf(stderr, "\ningested %llu tokens from %zu files (%zu skipped: not text)\n",
            (unsigned long long)stats.tokens, stats.files, stats.skipped);
  }

  check(landmark_store_open(store_dir, &store), store_dir);
  landmark_retriever_options_init(&options);
  options.top_k = 8;
  if (config) check(landmark_config_retriever_options(config, &options), preset);
  check(landmark_retriever_create(store, &options, &retriever), "retriever");
  check(landmark_store_close(store), store_dir); /* the retriever keeps it open */
  if (config) check(landmark_config_close(config), preset);

  fprintf(stderr, "ask a question (one per line, end with Ctrl-D):\n");
  while (fgets(question, sizeof(question), stdin)) {
    landmark_result* result = NULL;
    const float* weights = NULL;
    size_t count = 0, i;
    question[strcspn(question, "\r\n")] = '\0';
    if (question[0] == '\0') continue;
    check(landmark_retriever_query_text(retriever, question, strlen(question), &result), "query");
    check(landmark_result_selection(result, 0, 0, &count, NULL, NULL, &weights), "query");
    printf("Q: %s\n", question);
    for (i = 0; i < count && i < 3; ++i) {
      const char* text = NULL;
      size_t length = 0, j;
      check(landmark_result_chunk_text(result, 0, 0, i, &text, &length), "query");
      printf("  [%.2f] ", weights[i]);
      for (j = 0; j < length; ++j) putchar(text[j] == '\n' ? ' ' : text[j]);
      putchar('\n');
    }
    check(landmark_result_close(result), "query");
  }
  check(landmark_retriever_close(retriever), "retriever");
  return 0;
}
