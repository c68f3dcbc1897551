// FlashPrefill's mask on the GPU (src/prefill/flashprefill.cc's rules, in
// the same arithmetic): used by RunPrefill (prefill.cu) when a
// PrefillProblem carries FlashPrefillRules.
#pragma once

#include <cuda_runtime.h>

#include "src/backend/cuda_backend.h"

namespace landmark::cuda {

// Writes the mask [kv_heads][nb][nb] of the problem's Q (device, [L][q_heads][d]
// f32) and K (device, the problem's dtype and strides) into mask, on stream.
void FlashPrefillMaskOnGpu(const backend::PrefillProblem& p, const float* q, const void* k, uint8_t* mask,
                           cudaStream_t stream);

}  // namespace landmark::cuda
