// The GPU executor (RetrieverConfig::device = kCuda): a batch of queries
// planned here, scored, selected, attended and fused by the CUDA backend
// (src/cuda/decode.cu); explanations here from the per-item lse.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "src/attention/retrieval_plan.h"
#include "src/backend/cuda_backend.h"

namespace landmark {

class GpuExecutor {
 public:
  // Uploads the landmarks (and the K/V when resident, config.gpu_kv).
  explicit GpuExecutor(const RetrievalContext& ctx);
  ~GpuExecutor();

  bool resident() const { return decoder_->resident(); }
  // The queries as one batch, results as the CPU's within the tolerances
  // of tests/backend/README.md.
  std::vector<RetrievalResult> QueryBatch(const std::vector<RetrievalQuery>& queries) const;

 private:
  backend::DecodeStore Store() const;

  const RetrievalContext& ctx_;
  std::unique_ptr<backend::Decoder> decoder_;
  mutable std::mutex mutex_;      // one batch at a time
  mutable size_t uploaded_ = 0;   // chunks whose landmarks are on the GPU
};

}  // namespace landmark
