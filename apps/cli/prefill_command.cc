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
#include "apps/cli/field_options.h"
#include "src/config/fields.h"
#include "src/prefill/output_error.h"
#include "src/kernels/dense_attention.h"

namespace landmark::cli {
namespace {

struct PrefillArgs {
  std::string q, k, v, out, mask_out, lse_out;
  SparsePrefillOptions options;  // the [prefill] fields and --device, from the table (fields.h)
  size_t threads = 0;
  bool compare = false;
  std::string weights;  // dma, learned importance
  size_t window = 0;    // dma, in tokens (the field is in blocks)
};

// The policy whose options `flag` belongs to ("" none): the fields under
// [prefill.<policy>], and the dma options that are no preset key.
std::string PolicyOf(const std::string& flag) {
  if (flag == "--weights" || flag == "--window") return "dma";
  for (const Field<SparsePrefillOptions>& f : PrefillFields()) {
    const std::string_view key = f.key;
    if (flag != f.flag || std::count(key.begin(), key.end(), '.') < 2) continue;
    return std::string(key.substr(8, key.find('.', 8) - 8));  // prefill.<policy>.key
  }
  return "";
}

// Options of one policy given with another are mistakes, not no-ops.
void CheckPolicyOptions(const CLI::App& app, PrefillPolicy policy) {
  for (const CLI::Option* option : app.get_options()) {
    if (option->count() == 0 || option->get_lnames().empty()) continue;
    const std::string flag = "--" + option->get_lnames()[0], owner = PolicyOf(flag);
    LANDMARK_CHECK_ARG(owner.empty() || owner == Name(policy), flag + " applies to --policy " + owner + " only");
  }
}

SparsePrefillOptions Options(const CLI::App& app, const PrefillArgs& a, size_t kv_heads, size_t d) {
  SparsePrefillOptions o = a.options;
  CheckPolicyOptions(app, o.policy);
  DmaOptions& m = o.dma;
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
  // --window is in tokens, as in every command; the mask works in whole
  // blocks. Given, it wins over --window-blocks (which a preset may fill).
  if (app.count("--window")) m.window = (a.window + o.block - 1) / o.block;
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
  p->add_option("--out", a->out, "Output O.npy [L, q_heads, d], f32")->required();
  p->add_option("--mask-out", a->mask_out, "Write the block mask M.npy [kv_heads, nb, nb], uint8");
  p->add_option("--lse-out", a->lse_out, "Write the log-sum-exps [L, q_heads], f32");
  AddFieldOptions(*p, PrefillFields(), a->options);  // --policy, --block, --device, the policies' options
  p->get_option("--policy")->required()->default_str("");
  p->add_option("--threads", a->threads, "Worker threads (0: all CPUs)");
  p->add_flag("--gpu-tensor-cores", a->options.gpu_tensor_cores,
              "With --device cuda: the bf16 tensor-core kernel (head dims 64, 128; bf16 rounding)");
  p->add_flag("--compare", a->compare, "Also run the dense kernel: speedup, relative L2 error, min cosine");
  p->add_option("--weights", a->weights, "dma: learned importance w [kv_heads, d] f32 (softplus(v.w))");
  p->add_option("--window", a->window,
                "dma: local window in tokens before the diagonal block, rounded up to whole blocks (default: 2 blocks)");
  p->callback([p, a] { RunWithThreads(a->threads, [&] { RunPrefill(*p, *a); }); });
}

}  // namespace landmark::cli
