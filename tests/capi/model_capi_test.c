/* Issue 16 item 6 from C (C99): landmark's byte model through the C API —
 * load, ingest, ask, the refusal of questions it was not trained on, and
 * misuse (NULL, closed handles, bad sizes) as status codes with messages.
 *
 *   model_capi_test WEIGHTS TEXT_FILE WORK_DIR   (WORK_DIR must not exist) */
#include <stdio.h>
#include <string.h>

#include "landmark/landmark.h"

static int failures = 0;

#define CHECK(cond)                                                                                       \
  do {                                                                                                    \
    if (!(cond)) {                                                                                        \
      fprintf(stderr, "%s:%d: CHECK(%s) failed (last error: %s)\n", __FILE__, __LINE__, #cond,            \
              landmark_last_error());                                                                     \
      ++failures;                                                                                         \
    }                                                                                                     \
  } while (0)
#define STATUS(call, status) CHECK((call) == (status))

int main(int argc, char** argv) {
  landmark_model* model = NULL;
  landmark_model_answer answer;
  const char* paths[1];
  char text[64], config[512], store[4096];
  size_t length = 0;
  uint64_t tokens = 0, more = 0;
  if (argc != 4) {
    fprintf(stderr, "usage: model_capi_test WEIGHTS TEXT_FILE WORK_DIR\n");
    return 2;
  }
  snprintf(store, sizeof store, "%s/model.store", argv[3]);
  paths[0] = argv[2];

  STATUS(landmark_model_load("/nonexistent/weights.safetensors", &model), LANDMARK_ERROR_IO);
  CHECK(model == NULL && strstr(landmark_last_error(), "weights.safetensors") != NULL);
  STATUS(landmark_model_load(argv[1], &model), LANDMARK_OK);
  STATUS(landmark_model_config_json(model, config, sizeof config, &length), LANDMARK_OK);
  CHECK(strstr(config, "\"d_model\"") != NULL && length == strlen(config));
  CHECK(strstr(landmark_model_task(), "pass key") != NULL);

  STATUS(landmark_model_ingest_files(model, store, paths, 1, &tokens), LANDMARK_OK);
  CHECK(tokens > 0);
  STATUS(landmark_model_ingest_text(model, store, "The pass key for vault 999 is 12345.", 36, &more), LANDMARK_OK);
  CHECK(more > tokens);

  landmark_model_answer_init(&answer);
  STATUS(landmark_model_ask(model, store, "What is the pass key of vault 204?", 16, 0, text, sizeof text, &length,
                            &answer), LANDMARK_OK);
  CHECK(answer.steps >= 1 && answer.bytes_read > 0 && strlen(text) == length);
  CHECK(answer.stopped || length == 16);
  STATUS(landmark_model_ask(model, store, "pass key for vault 204", 1, 0, text, sizeof text, &length, &answer),
         LANDMARK_OK);
  CHECK(answer.stopped || length == 1);

  /* Not the task: refused, saying what the model answers. */
  STATUS(landmark_model_ask(model, store, "who wrote the vault list?", 16, 0, text, sizeof text, &length, NULL),
         LANDMARK_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(landmark_last_error(), "pass key of a numbered vault") != NULL);
  STATUS(landmark_model_ask(model, store, "pass key for vault 204", 0, 0, text, sizeof text, NULL, NULL),
         LANDMARK_ERROR_INVALID_ARGUMENT);
  STATUS(landmark_model_ask(model, store, NULL, 16, 0, text, sizeof text, NULL, NULL), LANDMARK_ERROR_NULL_ARGUMENT);
  answer.struct_size = 3;
  STATUS(landmark_model_ask(model, store, "pass key for vault 204", 16, 0, text, sizeof text, NULL, &answer),
         LANDMARK_ERROR_INVALID_ARGUMENT);
  STATUS(landmark_model_ingest_files(model, store, paths, 0, NULL), LANDMARK_ERROR_INVALID_ARGUMENT);
  STATUS(landmark_model_ingest_text(model, store, "a\0b", 3, NULL), LANDMARK_ERROR_INVALID_ARGUMENT);

  STATUS(landmark_model_close(model), LANDMARK_OK);
  STATUS(landmark_model_close(model), LANDMARK_ERROR_CLOSED);
  STATUS(landmark_model_ask(model, store, "pass key for vault 204", 16, 0, text, sizeof text, NULL, NULL),
         LANDMARK_ERROR_CLOSED);
  STATUS(landmark_model_load(NULL, &model), LANDMARK_ERROR_NULL_ARGUMENT);

  if (failures) {
    fprintf(stderr, "%d model C API checks failed\n", failures);
    return 1;
  }
  printf("all model C API checks passed\n");
  return 0;
}
