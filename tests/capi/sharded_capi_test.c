/* The C API's sharded query, run by mpirun: every rank opens its shard of
 * PREFIX and queries collectively; rank 0 compares with a plain retriever
 * over the whole store WHOLE (same selections, outputs within f32
 * rounding). Usage: sharded_capi_test WHOLE PREFIX Q_HEADS HEAD_DIM */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "landmark/landmark.h"

#define CHECK_OK(call)                                                                 \
  do {                                                                                 \
    landmark_status s_ = (call);                                                       \
    if (s_ != LANDMARK_OK) {                                                           \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, landmark_last_error()); \
      return 1;                                                                        \
    }                                                                                  \
  } while (0)

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  size_t rank = 0, ranks = 0;
  CHECK_OK(landmark_mpi_rank(&rank, &ranks));
  const size_t q_heads = (size_t)atoi(argv[3]), d = (size_t)atoi(argv[4]), count = 3;
  float* q = malloc(count * q_heads * d * sizeof(float));
  for (size_t i = 0; i < count * q_heads * d; ++i) q[i] = (float)sin(0.7 * (double)i) * 2.0f;
  landmark_retriever_options options;
  landmark_retriever_options_init(&options);
  options.q_heads = q_heads;
  options.top_k = 5;
  options.device = LANDMARK_DEVICE_CPU;
  landmark_retriever* sharded = NULL;
  CHECK_OK(landmark_sharded_retriever_create(argv[2], &options, &sharded));
  landmark_result* got = NULL;
  if (rank == 0) {
    CHECK_OK(landmark_retriever_query_batch(sharded, count, q, count * q_heads * d, NULL, 0, NULL, &got));
  } else {
    CHECK_OK(landmark_retriever_query_batch(sharded, 0, NULL, 0, NULL, 0, NULL, &got));
  }
  size_t n = 0;
  CHECK_OK(landmark_result_count(got, &n));
  int failures = 0;
  if (rank != 0) {
    failures += n != 0;
  } else {
    landmark_store* store = NULL;
    landmark_retriever* one = NULL;
    landmark_result* want = NULL;
    CHECK_OK(landmark_store_open(argv[1], &store));
    CHECK_OK(landmark_retriever_create(store, &options, &one));
    CHECK_OK(landmark_retriever_query_batch(one, count, q, count * q_heads * d, NULL, 0, NULL, &want));
    failures += n != count;
    for (size_t i = 0; i < count && !failures; ++i) {
      landmark_query_stats a, b;
      CHECK_OK(landmark_result_stats(got, i, &a));
      CHECK_OK(landmark_result_stats(want, i, &b));
      failures += a.selections != b.selections || a.candidates != b.candidates || a.bytes_touched != b.bytes_touched;
      for (size_t h = 0; h < a.selections && !failures; ++h) {
        size_t na = 0, nb = 0;
        const uint32_t *ca = NULL, *cb = NULL;
        CHECK_OK(landmark_result_selection(got, i, h, &na, &ca, NULL, NULL));
        CHECK_OK(landmark_result_selection(want, i, h, &nb, &cb, NULL, NULL));
        failures += na != nb;
        for (size_t j = 0; j < na && j < nb; ++j) failures += ca[j] != cb[j];
      }
      const float *oa = NULL, *ob = NULL;
      CHECK_OK(landmark_result_output(got, i, &oa, NULL, NULL, NULL, NULL, NULL));
      CHECK_OK(landmark_result_output(want, i, &ob, NULL, NULL, NULL, NULL, NULL));
      for (size_t k = 0; k < q_heads * d; ++k) failures += fabsf(oa[k] - ob[k]) > 1e-5f * (1.0f + fabsf(ob[k]));
    }
    printf("sharded C API over %zu ranks: %s\n", ranks, failures ? "MISMATCH" : "same selections and outputs");
    landmark_result_close(want);
    landmark_retriever_close(one);
    landmark_store_close(store);
  }
  landmark_result_close(got);
  landmark_retriever_close(sharded);
  free(q);
  return failures ? 1 : 0;
}
