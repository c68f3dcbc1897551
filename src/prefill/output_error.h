// Accuracy of a sparse attention output against the dense one: the relative
// L2 error over all rows and the worst cosine similarity of a single row
// (a row is one position and query head, d values).
#pragma once

#include <cstddef>

namespace landmark::prefill {

class OutputError {
 public:
  // Adds `rows` rows of d values: got [rows][d] against expected [rows][d].
  void Add(const float* got, const float* expected, size_t rows, size_t d);

  double relative_l2() const;                       // ‖got − expected‖ / ‖expected‖ (0 if empty)
  double min_cosine() const { return min_cosine_; }  // 1 if no row has two non-zero vectors

 private:
  double error_ = 0, norm_ = 0, min_cosine_ = 1;
};

}  // namespace landmark::prefill
