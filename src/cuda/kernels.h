// Entry points of the backend's .cu files (src/cuda/), used by backend.cu.
#pragma once

#include <memory>

#include "src/backend/cuda_backend.h"

namespace landmark::cuda {

std::unique_ptr<backend::Decoder> MakeDecoder(const backend::DecodeStore& store, const backend::DecodeOptions& options);
backend::PrefillTimings RunPrefill(const backend::PrefillProblem& problem, int gpu);

}  // namespace landmark::cuda
