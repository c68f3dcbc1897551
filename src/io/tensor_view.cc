#include "src/io/tensor_view.h"

#include "landmark/error.h"

namespace landmark {

std::string ShapeString(const std::vector<size_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::string TensorView::ShapeString() const { return landmark::ShapeString(shape); }

void TensorView::CheckRank(size_t rank, const std::string& what) const {
  LANDMARK_CHECK_ARG(shape.size() == rank, name + ": " + what + " must have " + std::to_string(rank) +
                                               " dimensions, has shape " + ShapeString());
}

}  // namespace landmark
