// TensorFile: .npy through NpyArray, .safetensors through SafeTensors.

#include "src/io/tensor_file.h"

#include "landmark/error.h"
#include "src/io/npy.h"
#include "src/io/safetensors.h"

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
    t.view_ = t.backing_->npy->view();
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
  t.view_ = f.Get(tensor);
  return t;
}

}  // namespace landmark
