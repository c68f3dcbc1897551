// The sparse prefill API: policy names, mask dispatch, and mask + kernel.

#include <chrono>
#include <string>

#include "landmark/error.h"
#include "landmark/prefill.h"
#include "src/backend/cuda_backend.h"
#include "src/kernels/dense_attention.h"
#include "src/prefill/policy.h"

namespace landmark {

BlockMask BuildMask(const float* q, size_t q_heads, const KVSequence& kv,
                    const SparsePrefillOptions& options) {
  switch (options.policy) {
    case PrefillPolicy::kFlashPrefill:
      return FlashPrefillMask(q, q_heads, kv, options.block, options.flashprefill);
    case PrefillPolicy::kDma: return DmaMask(q, q_heads, kv, options.block, options.dma);
    case PrefillPolicy::kDense: break;
  }
  return DenseMask(kv.tokens, kv.heads, options.block);
}

SparsePrefillResult SparsePrefill(const float* q, size_t q_heads, const KVSequence& kv, float* out,
                                  float* lse, const SparsePrefillOptions& options) {
  using Clock = std::chrono::steady_clock;
  SparsePrefillResult result;
  const auto start = Clock::now();
  // flashprefill with gpu_mask: the GPU finds the mask; here only its shape.
  const bool gpu_mask = options.gpu_mask && options.policy == PrefillPolicy::kFlashPrefill && kv.tokens > 0 &&
                        ResolveDevice(options.device) == Device::kCuda;
  if (gpu_mask) {
    prefill::CheckInputs(q, q_heads, kv, options.block, "flashprefill", true);
    prefill::CheckFlashPrefillOptions(options.flashprefill);
    result.mask = prefill::FixedBlocksMask(kv.tokens, kv.heads, options.block);
  } else {
    result.mask = BuildMask(q, q_heads, kv, options);
  }
  const auto built = Clock::now();
  PrefillOptions kernel;
  kernel.block = options.block;
  // Dense runs without a mask: the kernel then skips reading one.
  kernel.block_mask = options.policy == PrefillPolicy::kDense ? nullptr : result.mask.bits.data();
  result.device = ResolveDevice(options.device);
  if (result.device == Device::kCuda && kv.tokens > 0) {
    LANDMARK_CHECK_ARG(q != nullptr && kv.heads > 0 && q_heads % kv.heads == 0,
                       "prefill: query heads (" + std::to_string(q_heads) + ") must be a positive multiple of kv heads (" +
                           std::to_string(kv.heads) + ")");
    LANDMARK_CHECK_ARG(kv.page_tokens == 0, "prefill: paged K/V layouts run on the CPU only");
    LANDMARK_CHECK_ARG(kv.d <= 256, "prefill device cuda: head dim " + std::to_string(kv.d) + " > 256");
    backend::PrefillProblem p;
    p.q = q;
    p.q_heads = q_heads;
    p.tokens = kv.tokens;
    p.k = kv.k;
    p.v = kv.v;
    p.dtype = kv.dtype;
    p.kv_heads = kv.heads;
    p.d = kv.d;
    p.token_stride = kv.token_stride;
    p.head_stride = kv.head_stride;
    p.block = options.block;
    p.mask = kernel.block_mask;
    p.out = out;
    p.lse = lse;
    p.tensor_cores = options.gpu_tensor_cores;
    backend::FlashPrefillRules rules;
    if (gpu_mask) {
      const FlashPrefillOptions& f = options.flashprefill;
      const prefill::FlashPrefillTops tops = prefill::FlashPrefillTopCounts(f, result.mask.blocks);
      rules.delta = f.threshold == FlashPrefillOptions::Threshold::kDelta;
      rules.delta_value = f.delta;
      rules.alpha = f.alpha;
      rules.vertical = uint32_t(tops.vertical);
      rules.slash = uint32_t(tops.slash);
      p.mask = nullptr;
      p.flashprefill = &rules;
      p.mask_out = result.mask.bits.data();
    }
    backend::PrefillTimings t;
    try {
      t = backend::CudaBackend()->Prefill(p, 0);
    } catch (const std::exception& e) {
      LANDMARK_THROW(std::string("prefill: ") + e.what());
    }
    result.gpu_kernel_seconds = t.kernel;
    result.gpu_transfer_seconds = t.upload + t.download;
    result.gpu_mask_seconds = t.mask;
  } else {
    CausalPrefill(q, q_heads, kv, out, lse, kernel);
  }
  result.mask_seconds = std::chrono::duration<double>(built - start).count();
  result.attention_seconds = std::chrono::duration<double>(Clock::now() - built).count();
  return result;
}

}  // namespace landmark
