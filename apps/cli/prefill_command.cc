// `landmark prefill`: block-sparse causal prefill of Q/K/V files under a mask
// policy, writing the output (and optionally the mask and log-sum-exps).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "landmark/error.h"
#include "src/io/npy.h"
#include "landmark/prefill.h"
#include "src/io/tensor_file.h"
#include "apps/cli/commands.h"
#include "src/prefill/output_error.h"
#include "src/kernels/dense_attention.h"

namespace landmark::cli {
namespace {

struct PrefillArgs {
  std::string q, k, v, out, mask_out, lse_out;
  std::string policy, device = "auto";
  size_t block = 64;
  size_t threads = 0;
  bool compare = false;
  bool gpu_tensor_cores = false;
  // flashprefill
  std::string threshold = "delta";
  float delta = FlashPrefillOptions().delta;
  float alpha = FlashPrefillOptions().alpha;
  double vertical = FlashPrefillOptions().vertical_fraction;
  size_t slash = FlashPrefillOptions().slash_count;
  // dma
  std::string importance = "vnorm", weights;
  double sparsity = DmaOptions().sparsity;
  size_t window = 0, window_blocks = DmaOptions().window, stride = 0, dilation = 0;
  size_t dilated_count = DmaOptions().dilated_count;
};

const char* const kFlashPrefillOptions[] = {"--threshold", "--delta", "--alpha", "--vertical", "--slash"};
const char* const kDmaOptions[] = {"--importance", "--weights", "--sparsity", "--window", "--window-blocks",
                                   "--stride", "--dilation", "--dilated-count"};

// Options of one policy given with another are mistakes, not no-ops.
void CheckPolicyOptions(const CLI::App& app, PrefillPolicy policy) {
  for (const char* option : kFlashPrefillOptions) {
    LANDMARK_CHECK_ARG(app.count(option) == 0 || policy == PrefillPolicy::kFlashPrefill,
                       std::string(option) + " applies to --policy flashprefill only");
  }
  for (const char* option : kDmaOptions) {
    LANDMARK_CHECK_ARG(app.count(option) == 0 || policy == PrefillPolicy::kDma,
                       std::string(option) + " applies to --policy dma only");
  }
}

SparsePrefillOptions Options(const CLI::App& app, const PrefillArgs& a, size_t kv_heads, size_t d) {
  SparsePrefillOptions o;
  o.policy = ParsePrefillPolicy(a.policy);
  CheckPolicyOptions(app, o.policy);
  LANDMARK_CHECK_ARG(a.block > 0, "--block must be > 0");
  o.block = a.block;
  o.device = ParseDevice(a.device);
  o.gpu_tensor_cores = a.gpu_tensor_cores;
  FlashPrefillOptions& f = o.flashprefill;
  if (a.threshold == "alpha") {
    f.threshold = FlashPrefillOptions::Threshold::kAlpha;
  } else {
    LANDMARK_CHECK_ARG(a.threshold == "delta", "--threshold must be delta or alpha (got '" + a.threshold + "')");
  }
  f.delta = a.delta;
  f.alpha = a.alpha;
  f.vertical_fraction = a.vertical;
  f.slash_count = a.slash;
  DmaOptions& m = o.dma;
  if (a.importance == "qk") {
    m.importance = DmaOptions::Importance::kPooledQK;
  } else if (a.importance == "learned") {
    m.importance = DmaOptions::Importance::kLearned;
  } else {
    LANDMARK_CHECK_ARG(a.importance == "vnorm",
                       "--importance must be vnorm, qk or learned (got '" + a.importance + "')");
  }
  LANDMARK_CHECK_ARG(a.weights.empty() || m.importance == DmaOptions::Importance::kLearned,
                     "--weights goes with --importance learned");
  if (m.importance == DmaOptions::Importance::kLearned) {
    LANDMARK_CHECK_ARG(!a.weights.empty(), "--importance learned needs --weights W.npy [kv_heads, d]");
    const TensorFile w = TensorFile::Open(a.weights);
    w.CheckRank(2, "importance weights");
    LANDMARK_CHECK_ARG(w.dtype() == DType::kF32, w.name() + ": importance weights must be f32");
    LANDMARK_CHECK_ARG(w.shape()[0] == kv_heads && w.shape()[1] == d,
                       w.name() + ": importance weights have shape " + w.ShapeString() +
                           ", expected (" + std::to_string(kv_heads) + ", " + std::to_string(d) + ")");
    const float* data = static_cast<const float*>(w.data());
    m.weights.assign(data, data + w.elements());
  }
  m.sparsity = a.sparsity;
  // --window is in tokens, as in every command; the mask works in whole
  // blocks. Given, it wins over --window-blocks (which a preset may fill).
  m.window = app.count("--window") ? (a.window + a.block - 1) / a.block : a.window_blocks;
  m.stride = a.stride;
  m.dilation = a.dilation;
  m.dilated_count = a.dilated_count;
  return o;
}

void RunPrefill(const CLI::App& app, const PrefillArgs& a) {
  const TensorFile q = TensorFile::Open(a.q), k = TensorFile::Open(a.k), v = TensorFile::Open(a.v);
  q.CheckRank(3, "Q [L, q_heads, d]");
  k.CheckRank(3, "K [L, kv_heads, d]");
  v.CheckRank(3, "V [L, kv_heads, d]");
  LANDMARK_CHECK_ARG(q.dtype() == DType::kF32,
                     q.name() + ": Q must be f32 (got " + Name(q.dtype()) + ")");
  LANDMARK_CHECK_ARG(k.shape() == v.shape(), v.name() + ": V has shape " + v.ShapeString() +
                                                 " but K (" + k.name() + ") has " + k.ShapeString());
  LANDMARK_CHECK_ARG(k.dtype() == v.dtype(), v.name() + ": V is " + Name(v.dtype()) + " but K (" +
                                                 k.name() + ") is " + Name(k.dtype()));
  const size_t L = q.shape()[0], q_heads = q.shape()[1], d = q.shape()[2];
  const size_t kv_heads = k.shape()[1];
  LANDMARK_CHECK_ARG(k.shape()[0] == L, k.name() + ": K has " + std::to_string(k.shape()[0]) +
                                            " tokens but Q (" + q.name() + ") has " + std::to_string(L));
  LANDMARK_CHECK_ARG(k.shape()[2] == d, k.name() + ": K has head dim " + std::to_string(k.shape()[2]) +
                                            " but Q (" + q.name() + ") has " + std::to_string(d));
  const SparsePrefillOptions options = Options(app, a, kv_heads, d);
  const float* queries = static_cast<const float*>(q.data());
  const KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), k.dtype(), L, kv_heads, d);

  std::vector<float> out(L * q_heads * d), lse(a.lse_out.empty() ? 0 : L * q_heads);
  const SparsePrefillResult r =
      SparsePrefill(queries, q_heads, kv, out.data(), lse.empty() ? nullptr : lse.data(), options);
  const BlockMask& mask = r.mask;
  const double flops = 4.0 * double(d) * double(q_heads / kv_heads) * mask.AttendedPairs();
  std::printf("prefill %s: L=%zu Hq=%zu Hkv=%zu d=%zu B=%zu, K/V %s\n", Name(options.policy), L, q_heads,
              kv_heads, d, options.block, Name(k.dtype()));
  std::printf("mask: density %.4f (%zu of %zu causal blocks), pattern discovery %.2f ms\n", mask.Density(),
              mask.SelectedBlocks(), kv_heads * mask.blocks * (mask.blocks + 1) / 2, r.mask_seconds * 1e3);
  std::printf("attention: %.2f ms, %.1f GFLOP/s on the computed blocks (%s)\n", r.attention_seconds * 1e3,
              r.attention_seconds > 0 ? flops / r.attention_seconds / 1e9 : 0.0, Name(r.device));
  if (r.device == Device::kCuda) {
    std::printf("  on the GPU: kernel %.2f ms (%.1f GFLOP/s), copies %.2f ms\n", r.gpu_kernel_seconds * 1e3,
                flops / std::max(r.gpu_kernel_seconds, 1e-12) / 1e9, r.gpu_transfer_seconds * 1e3);
  }
  WriteNpy(a.out, out.data(), DType::kF32, {L, q_heads, d});
  std::printf("wrote %s (%zu, %zu, %zu) f32\n", a.out.c_str(), L, q_heads, d);
  if (!a.mask_out.empty()) {
    WriteNpyU8(a.mask_out, mask.bits.data(), {kv_heads, mask.blocks, mask.blocks});
    std::printf("wrote %s (%zu, %zu, %zu) uint8\n", a.mask_out.c_str(), kv_heads, mask.blocks, mask.blocks);
  }
  if (!a.lse_out.empty()) {
    WriteNpy(a.lse_out, lse.data(), DType::kF32, {L, q_heads});
    std::printf("wrote %s (%zu, %zu) f32\n", a.lse_out.c_str(), L, q_heads);
  }
  if (a.compare) {
    std::vector<float> dense(L * q_heads * d);
    const auto start = std::chrono::steady_clock::now();
    CausalPrefill(queries, q_heads, kv, dense.data(), nullptr, PrefillOptions{options.block, nullptr});
    const double dense_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    prefill::OutputError error;
    error.Add(out.data(), dense.data(), L * q_heads, d);
    std::printf("vs dense: %.2f ms (speedup %.1fx), relative L2 error %.3e, min cosine %.6f\n",
                dense_seconds * 1e3, dense_seconds / (r.mask_seconds + r.attention_seconds),
                error.relative_l2(), error.min_cosine());
  }
}

}  // namespace

void AddPrefillCommand(CLI::App& app) {
  auto a = std::make_shared<PrefillArgs>();
  CLI::App* p = app.add_subcommand(
      "prefill", "Block-sparse causal prefill of Q/K/V (.npy/.safetensors) under a mask policy");
  p->add_option("--q", a->q, "Queries [L, q_heads, d], f32")->required();
  p->add_option("--k", a->k, "Keys [L, kv_heads, d], f32/f16/bf16")->required();
  p->add_option("--v", a->v, "Values, shaped and typed like the keys")->required();
  p->add_option("--policy", a->policy, "Mask policy: dense, flashprefill or dma")->required();
  p->add_option("--out", a->out, "Output O.npy [L, q_heads, d], f32")->required();
  p->add_option("--mask-out", a->mask_out, "Write the block mask M.npy [kv_heads, nb, nb], uint8");
  p->add_option("--lse-out", a->lse_out, "Write the log-sum-exps [L, q_heads], f32");
  p->add_option("--block", a->block, "Block size B (pooling and kernel tile)")->capture_default_str();
  p->add_option("--threads", a->threads, "Worker threads (0: all CPUs)");
  p->add_option("--device", a->device, "Where the kernel runs: auto, cpu or cuda")->capture_default_str();
  p->add_flag("--gpu-tensor-cores", a->gpu_tensor_cores,
              "With --device cuda: the bf16 tensor-core kernel (head dims 64, 128; bf16 rounding)");
  p->add_flag("--compare", a->compare, "Also run the dense kernel: speedup, relative L2 error, min cosine");
  p->add_option("--threshold", a->threshold, "flashprefill: delta (keep A >= max - delta) or alpha")
      ->capture_default_str();
  p->add_option("--delta", a->delta, "flashprefill: delta in logit units")->capture_default_str();
  p->add_option("--alpha", a->alpha, "flashprefill: alpha of alpha*max + (1-alpha)*min")->capture_default_str();
  p->add_option("--vertical", a->vertical, "flashprefill: vertical key blocks, fraction of nb (0: none)")
      ->capture_default_str();
  p->add_option("--slash", a->slash, "flashprefill: slash diagonals kept")->capture_default_str();
  p->add_option("--importance", a->importance, "dma: key importance vnorm (mean ||v||), qk (pooled q.k) or learned")
      ->capture_default_str();
  p->add_option("--weights", a->weights, "dma: learned importance w [kv_heads, d] f32 (softplus(v.w))");
  p->add_option("--sparsity", a->sparsity, "dma: share of causal key blocks left out by importance")
      ->capture_default_str();
  p->add_option("--window", a->window,
                "dma: local window in tokens before the diagonal block, rounded up to whole blocks (default: 2 blocks)");
  p->add_option("--window-blocks", a->window_blocks, "dma: the local window in key blocks (instead of --window)")
      ->capture_default_str();
  p->add_option("--stride", a->stride, "dma: keep blocks j with (i - j) % stride == 0 (0: none)")
      ->capture_default_str();
  p->add_option("--dilation", a->dilation, "dma: keep blocks i - k*dilation, k = 1..dilated-count (0: none)")
      ->capture_default_str();
  p->add_option("--dilated-count", a->dilated_count, "dma: blocks of the dilated pattern")->capture_default_str();
  p->callback([p, a] { RunWithThreads(a->threads, [&] { RunPrefill(*p, *a); }); });
}

}  // namespace landmark::cli
