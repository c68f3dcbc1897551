// TensorFile: .npy through NpyArray, .safetensors through SafeTensors.

#include "landmark/tensor_file.h"

#include "landmark/error.h"
#include "landmark/npy.h"
#include "landmark/safetensors.h"

namespace landmark {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

struct TensorFile::Backing {
  std::unique_ptr<NpyArray> npy;
  std::unique_ptr<SafeTensors> file;
};

TensorFile::TensorFile(TensorFile&&) noexcept = default;
TensorFile& TensorFile::operator=(TensorFile&&) noexcept = default;
TensorFile::~TensorFile() = default;

TensorFile TensorFile::Open(const std::string& spec) {
  TensorFile t;
  t.backing_ = std::make_unique<Backing>();
  std::string path = spec, tensor;
  const size_t colon = spec.rfind(':');
  if (colon != std::string::npos && EndsWith(spec.substr(0, colon), ".safetensors")) {
    path = spec.substr(0, colon);
    tensor = spec.substr(colon + 1);
  }
  if (!EndsWith(path, ".safetensors")) {
    LANDMARK_CHECK_ARG(EndsWith(path, ".npy"),
                       spec + ": expected a .npy file or path.safetensors[:TENSOR]");
    t.backing_->npy = std::make_unique<NpyArray>(NpyArray::Open(path));
    const NpyArray& a = *t.backing_->npy;
    t.name_ = path;
    t.dtype_ = a.dtype();
    t.shape_ = a.shape();
    t.elements_ = a.elements();
    t.data_ = a.data();
    return t;
  }

  t.backing_->file = std::make_unique<SafeTensors>(SafeTensors::Open(path));
  const SafeTensors& f = *t.backing_->file;
  if (tensor.empty()) {
    const std::vector<std::string> names = f.names();
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    LANDMARK_CHECK_ARG(names.size() == 1, path + ": holds " + std::to_string(names.size()) +
                                              " tensors (" + list + "); name one as " + path + ":NAME");
    tensor = names[0];
  }
  const TensorView& v = f.Get(tensor);
  t.name_ = v.name;
  t.dtype_ = v.dtype;
  t.shape_ = v.shape;
  t.elements_ = v.elements;
  t.data_ = v.data;
  return t;
}

std::string TensorFile::ShapeString() const { return landmark::ShapeString(shape_); }

void TensorFile::CheckRank(size_t rank, const std::string& what) const {
  LANDMARK_CHECK_ARG(shape_.size() == rank, name_ + ": " + what + " must have " + std::to_string(rank) +
                                                " dimensions, has shape " + ShapeString());
}

}  // namespace landmark
