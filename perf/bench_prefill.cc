#include "perf/bench_prefill.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string_view>
#include <utility>

#include "landmark/error.h"
#include "landmark/prefill.h"
#include "perf/bench_report.h"
#include "src/config/fields.h"
#include "src/config/enum_tables.h"
#include "src/prefill/output_error.h"
#include "src/kernels/dense_attention.h"
#include "testing/synthetic_prefill.h"

namespace landmark::perf {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// "name[:key=value]...": a policy with options changed, each key a prefill
// option as presets name it (src/config/fields.h: "prefill.dma.sparsity"),
// or by its last part: "flashprefill:delta=5", "dma:sparsity=0.8:window=4".
// The suite's short names: flashprefill-alpha = flashprefill:threshold=alpha,
// dma-qk = dma:importance=qk.
SparsePrefillOptions PolicyOptions(const std::string& spec, size_t block) {
  static const std::pair<std::string_view, std::string_view> kShortNames[] = {
      {"flashprefill-alpha", "flashprefill:threshold=alpha"}, {"dma-qk", "dma:importance=qk"}};
  std::string full = spec;
  const std::string name = spec.substr(0, spec.find(':'));
  for (const auto& [short_name, expansion] : kShortNames) {
    if (name == short_name) full = std::string(expansion) + spec.substr(name.size());
  }
  SparsePrefillOptions o;
  o.block = block;
  o.device = Device::kCpu;
  auto set = [&](std::string_view key, const std::string& value) {
    const auto* field = FindField(PrefillFields(), key);
    LANDMARK_CHECK_ARG(field != nullptr, "bench prefill: policy '" + spec + "': " +
                                             UnknownOption(key, KeysOf(PrefillFields())));
    SetField(*field, o, value, "bench prefill: policy '" + spec + "': " + field->key);
  };
  try {
    set("prefill.policy", full.substr(0, full.find(':')));
  } catch (const Error&) {
    std::string names;
    for (const auto& [short_name, expansion] : kShortNames) names += ", " + std::string(short_name);
    LANDMARK_THROW("bench prefill: unknown policy '" + name + "' (expected " +
                   ChoiceList(kPrefillPolicyNames, ", ") + names + ", each optionally with :key=value)");
  }
  for (size_t at = full.find(':'); at != std::string::npos;) {
    const size_t next = full.find(':', at + 1);
    const std::string item = full.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    const size_t equals = item.find('=');
    LANDMARK_CHECK_ARG(equals != std::string::npos,
                       "bench prefill: cannot read '" + item + "' in policy '" + spec + "' (expected key=value)");
    set(item.substr(0, equals), item.substr(equals + 1));
    at = next;
  }
  return o;
}

// Query blocks compared with dense: `count` spread evenly, the last included.
std::vector<size_t> SampledBlocks(size_t blocks, size_t count) {
  std::vector<size_t> sampled;
  if (blocks == 0) return sampled;
  count = std::min(std::max<size_t>(count, 1), blocks);
  for (size_t k = 1; k <= count; ++k) sampled.push_back(k * (blocks - 1) / count);
  sampled.erase(std::unique(sampled.begin(), sampled.end()), sampled.end());
  return sampled;
}

// Best of timed runs: each run counts (buffers are touched beforehand, so no
// warm-up is needed); at least two runs, more while they are short, one when
// it takes longer than kLongRun seconds. `run` returns its own (mask,
// attention) split.
constexpr double kLongRun = 5.0;
constexpr size_t kAlphaMaxTokens = 16384;

template <class Run>
std::pair<double, double> BestSplit(const Run& run, bool quick) {
  std::pair<double, double> best{0, std::numeric_limits<double>::infinity()};
  double total = 0;
  for (int i = 0; i < 2 || (total < (quick ? 0.05 : 0.5) && i < 50); ++i) {
    const auto split = run();
    total += split.first + split.second;
    if (split.first + split.second < best.first + best.second) best = split;
    if (total > kLongRun) break;
  }
  return best;
}

// The prefill on the GPU: the best end-to-end time (discovery + attention
// with the copies) and the kernel's best time alone.
struct GpuTimes {
  double seconds = 0, kernel = 0, mask_kernels = 0;
  BlockMask mask;  // the last run's (the GPU's own with gpu_mask)
};
GpuTimes OnGpu(const float* q, size_t q_heads, const KVSequence& kv, std::vector<float>& out,
               SparsePrefillOptions options, bool quick, bool tensor_cores, bool gpu_mask = false) {
  options.device = Device::kCuda;
  options.gpu_tensor_cores = tensor_cores;
  options.gpu_mask = gpu_mask;
  GpuTimes t;
  t.kernel = t.mask_kernels = std::numeric_limits<double>::infinity();
  const auto split = BestSplit([&] {
    SparsePrefillResult run = SparsePrefill(q, q_heads, kv, out.data(), nullptr, options);
    t.kernel = std::min(t.kernel, run.gpu_kernel_seconds);
    t.mask_kernels = std::min(t.mask_kernels, run.gpu_mask_seconds);
    t.mask = std::move(run.mask);
    return std::pair<double, double>{run.mask_seconds, run.attention_seconds};
  }, quick);
  t.seconds = split.first + split.second;
  return t;
}

// Sparse output vs the dense one on the sampled query blocks.
prefill::OutputError Compare(const std::vector<float>& out, const std::vector<float>& dense,
                             const std::vector<size_t>& sampled, size_t tokens, size_t q_heads, size_t d,
                             size_t block) {
  prefill::OutputError error;
  for (size_t i : sampled) {
    const size_t first = i * block, positions = std::min(tokens, first + block) - first;
    error.Add(out.data() + first * q_heads * d, dense.data() + first * q_heads * d, positions * q_heads, d);
  }
  return error;
}

}  // namespace

const std::vector<std::string>& PrefillBenchPolicies() {
  static const std::vector<std::string> names = {"flashprefill", "flashprefill:delta=5", "flashprefill-alpha",
                                                 "dma", "dma-qk"};
  return names;
}

std::vector<PrefillBenchResult> BenchPrefill(const PrefillBenchOptions& options,
                                             const std::function<void(const std::string&)>& progress) {
  std::vector<size_t> lengths = options.lengths;
  if (lengths.empty()) {
    lengths = options.quick ? std::vector<size_t>{512, 2048}
                            : std::vector<size_t>{4096, 16384, 65536, 131072};
  }
  std::vector<std::string> patterns = options.patterns;
  if (patterns.empty()) patterns = {"random", "sink", "local", "slash", "mixture"};
  const std::vector<std::string>& policies =
      options.policies.empty() ? PrefillBenchPolicies() : options.policies;
  for (const std::string& p : policies) PolicyOptions(p, options.block);  // fail early
  for (const std::string& p : patterns) prefill::ParseSyntheticPattern(p);

  const size_t Hq = options.q_heads, Hkv = options.kv_heads, d = options.d, B = options.block;
  const size_t group = Hq / std::max<size_t>(Hkv, 1);
  std::vector<PrefillBenchResult> results;
  for (size_t L : lengths) {
    const std::string shape = fmt::format("L={} Hq={} Hkv={} d={} B={}", L, Hq, Hkv, d, B);
    const size_t nb = (L + B - 1) / B;
    const std::vector<size_t> sampled = SampledBlocks(nb, options.sample_blocks);
    std::vector<float> out(L * Hq * d, 0.0f), dense_out(L * Hq * d, 0.0f);
    double dense_seconds = 0, gpu_dense_kernel = 0;
    for (const std::string& pattern_name : patterns) {
      prefill::SyntheticOptions synthetic;
      synthetic.pattern = prefill::ParseSyntheticPattern(pattern_name);
      synthetic.tokens = L;
      synthetic.q_heads = Hq;
      synthetic.kv_heads = Hkv;
      synthetic.d = d;
      progress(fmt::format("generating {} {}", pattern_name, shape));
      const prefill::SyntheticPrefill inputs = prefill::MakeSyntheticPrefill(synthetic);
      const KVSequence kv = KVSequence::TokenMajor(inputs.k.data(), inputs.v.data(), DType::kF32, L, Hkv, d);

      if (dense_seconds == 0) {  // the dense kernel's time does not depend on the data
        progress(fmt::format("dense {}", shape));
        const auto dense = BestSplit([&] {
          const auto start = Clock::now();
          CausalPrefill(inputs.q.data(), Hq, kv, dense_out.data());
          return std::pair<double, double>{0.0, Seconds(start)};
        }, options.quick);
        dense_seconds = dense.second;
        const BlockMask all = DenseMask(L, Hkv, B);
        PrefillBenchResult r;
        r.tokens = L;
        r.pattern = "any";
        r.policy = "dense";
        r.shape = shape;
        r.density = 1;
        r.flops = 4.0 * double(d) * double(group) * all.AttendedPairs();
        r.attention_seconds = r.dense_seconds = dense_seconds;
        r.min_cosine = 1;
        r.recall = 1;
        if (options.device == Device::kCuda) {
          SparsePrefillOptions dense_gpu;
          dense_gpu.policy = PrefillPolicy::kDense;
          dense_gpu.block = B;
          progress(fmt::format("dense {} on the GPU", shape));
          const GpuTimes t = OnGpu(inputs.q.data(), Hq, kv, out, dense_gpu, options.quick, options.gpu_tensor_cores);
          r.gpu_seconds = t.seconds;
          r.gpu_kernel_seconds = r.gpu_dense_kernel_seconds = gpu_dense_kernel = t.kernel;
          r.gpu_min_cosine = 1;
        }
        results.push_back(r);
      }
      // Dense reference rows: the sampled query blocks attend everything,
      // the others only their fixed blocks (cheap).
      progress(fmt::format("dense reference for {} sampled query blocks", sampled.size()));
      BlockMask reference = DenseMask(L, Hkv, B);
      for (size_t h = 0; h < Hkv; ++h) {
        for (size_t i = 0; i < nb; ++i) {
          if (i < 2 || std::binary_search(sampled.begin(), sampled.end(), i)) continue;
          uint8_t* row = reference.bits.data() + (h * nb + i) * nb;
          std::fill(row + 1, row + i, uint8_t{0});
        }
      }
      PrefillOptions reference_options;
      reference_options.block = B;
      reference_options.block_mask = reference.bits.data();
      CausalPrefill(inputs.q.data(), Hq, kv, dense_out.data(), nullptr, reference_options);

      for (const std::string& policy : policies) {
        // The α-form keeps most blocks of the structured inputs: near-dense
        // time, so by default only at the shorter lengths.
        if (options.policies.empty() && policy == "flashprefill-alpha" && L > kAlphaMaxTokens) continue;
        const SparsePrefillOptions sparse = PolicyOptions(policy, B);
        progress(fmt::format("{} {} {}", policy, pattern_name, shape));
        BlockMask mask;
        const auto split = BestSplit([&] {
          SparsePrefillResult run = SparsePrefill(inputs.q.data(), Hq, kv, out.data(), nullptr, sparse);
          mask = std::move(run.mask);
          return std::pair<double, double>{run.mask_seconds, run.attention_seconds};
        }, options.quick);
        const prefill::OutputError accuracy = Compare(out, dense_out, sampled, L, Hq, d, B);
        PrefillBenchResult r;
        r.tokens = L;
        r.pattern = pattern_name;
        r.policy = policy;
        r.shape = shape;
        r.density = mask.Density();
        r.flops = 4.0 * double(d) * double(group) * mask.AttendedPairs();
        r.mask_seconds = split.first;
        r.attention_seconds = split.second;
        r.dense_seconds = dense_seconds;
        r.rel_l2 = accuracy.relative_l2();
        r.min_cosine = accuracy.min_cosine();
        r.recall = prefill::PlantedRecall(inputs, mask);
        if (options.device == Device::kCuda) {
          progress(fmt::format("{} {} {} on the GPU", policy, pattern_name, shape));
          const bool gpu_mask = options.gpu_mask && sparse.policy == PrefillPolicy::kFlashPrefill;
          const GpuTimes t = OnGpu(inputs.q.data(), Hq, kv, out, sparse, options.quick, options.gpu_tensor_cores, gpu_mask);
          if (gpu_mask) {
            r.gpu_mask_seconds = t.mask_kernels;
            for (size_t i = 0; i < mask.bits.size(); ++i) r.gpu_mask_differs += mask.bits[i] != t.mask.bits[i];
            progress(fmt::format("  GPU mask: {} of {} blocks differ from the CPU's; mask kernels {:.3f} ms "
                                 "(CPU discovery {:.3f} ms)", r.gpu_mask_differs, mask.bits.size(),
                                 t.mask_kernels * 1e3, r.mask_seconds * 1e3));
          }
          const prefill::OutputError gpu_accuracy = Compare(out, dense_out, sampled, L, Hq, d, B);
          r.gpu_seconds = t.seconds;
          r.gpu_kernel_seconds = t.kernel;
          r.gpu_dense_kernel_seconds = gpu_dense_kernel;
          r.gpu_rel_l2 = gpu_accuracy.relative_l2();
          r.gpu_min_cosine = gpu_accuracy.min_cosine();
        }
        results.push_back(r);
      }
    }
  }
  return results;
}

namespace {

std::string Recall(double recall) { return std::isnan(recall) ? "-" : fmt::format("{:.3f}", recall); }

}  // namespace

void PrintPrefillTable(std::FILE* out, const MachineLimits& m,
                       const std::vector<PrefillBenchResult>& results) {
  const double peak = m.fma_gflops_all;
  fmt::print(out, "{:>7} {:<8} {:<21} {:>8} {:>10} {:>6} {:>9} {:>6} {:>8} {:>9} {:>8} {:>7}\n", "L",
             "pattern", "policy", "density", "time", "disc%", "GFLOP/s", "/peak", "speedup", "rel-L2",
             "min-cos", "recall");
  for (const PrefillBenchResult& r : results) {
    const double gflops = r.flops / r.attention_seconds / 1e9;
    fmt::print(out, "{:>7} {:<8} {:<21} {:>8.4f} {:>10} {:>5.1f}% {:>9.1f} {:>6.2f} {:>7.1f}x {:>9.2e} {:>8.4f} {:>7}\n",
               r.tokens, r.pattern, r.policy, r.density, FormatTime(r.seconds()),
               100.0 * r.mask_seconds / r.attention_seconds, gflops, gflops / peak, r.speedup(), r.rel_l2,
               r.min_cosine, Recall(r.recall));
  }
}

void PrintPrefillGpuTable(std::FILE* out, const std::string& gpu, double peak,
                          const std::vector<PrefillBenchResult>& results) {
  fmt::print(out, "{}\n{:>7} {:<8} {:<21} {:>8} {:>10} {:>10} {:>10} {:>9} {:>6} {:>8} {:>9} {:>9}\n", gpu, "L", "pattern",
             "policy", "density", "cpu", "gpu", "kernel", "GFLOP/s", "/peak", "x cpu", "x gpu-dns", "rel-L2");
  for (const PrefillBenchResult& r : results) {
    const double gflops = r.flops / r.gpu_kernel_seconds / 1e9;
    fmt::print(out, "{:>7} {:<8} {:<21} {:>8.4f} {:>10} {:>10} {:>10} {:>9.0f} {:>6.3f} {:>7.1f}x {:>8.1f}x {:>9.2e}\n",
               r.tokens, r.pattern, r.policy, r.density, FormatTime(r.seconds()), FormatTime(r.gpu_seconds),
               FormatTime(r.gpu_kernel_seconds), gflops, gflops / peak, r.seconds() / r.gpu_seconds,
               r.gpu_dense_kernel_seconds / r.gpu_kernel_seconds, r.gpu_rel_l2);
  }
}

void WritePrefillGpuCsv(const std::string& path, const MachineLimits& m, const std::string& gpu, double peak,
                        double h2d_gbps, const std::vector<PrefillBenchResult>& results) {
  std::ofstream csv = OpenCsv(path);
  csv << "gpu,tokens,pattern,policy,shape,density,cpu_seconds,gpu_seconds,mask_seconds,gpu_kernel_seconds,"
         "gpu_dense_kernel_seconds,gpu_kernel_gflops,gpu_fma_peak_gflops,ratio,speedup_vs_cpu,speedup_vs_gpu_dense,"
         "rel_l2_cpu,rel_l2_gpu,min_cosine_gpu,recall,h2d_gbps,cpu\n";
  for (const PrefillBenchResult& r : results) {
    const double gflops = r.flops / r.gpu_kernel_seconds / 1e9;
    csv << fmt::format("{},{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.4f},{:.4g},{:.4g},{:.4g},{:.4g},{:.6f},{},{:.2f},{}\n",
                       Quoted(gpu), r.tokens, Quoted(r.pattern), Quoted(r.policy), Quoted(r.shape), r.density,
                       r.seconds(), r.gpu_seconds, r.mask_seconds, r.gpu_kernel_seconds, r.gpu_dense_kernel_seconds,
                       gflops, peak, gflops / peak, r.seconds() / r.gpu_seconds,
                       r.gpu_dense_kernel_seconds / r.gpu_kernel_seconds, r.rel_l2, r.gpu_rel_l2, r.gpu_min_cosine,
                       std::isnan(r.recall) ? std::string() : fmt::format("{:.4f}", r.recall), h2d_gbps, Quoted(m.cpu));
  }
  LANDMARK_CHECK_ARG(csv.good(), path + ": write failed");
}

void WritePrefillCsv(const std::string& path, const MachineLimits& m,
                     const std::vector<PrefillBenchResult>& results) {
  std::ofstream csv = OpenCsv(path);
  csv << "tokens,pattern,policy,shape,density,seconds,mask_seconds,attention_seconds,dense_seconds,"
         "speedup,gflops,fma_peak_gflops,ratio,rel_l2,min_cosine,recall,cpu,isa,threads\n";
  for (const PrefillBenchResult& r : results) {
    const double gflops = r.flops / r.attention_seconds / 1e9;
    csv << fmt::format("{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.4g},{:.6g},{:.6g},{:.4f},{:.4g},{:.6f},{},{},{},{}\n",
                       r.tokens, Quoted(r.pattern), Quoted(r.policy), Quoted(r.shape), r.density,
                       r.seconds(), r.mask_seconds, r.attention_seconds, r.dense_seconds, r.speedup(),
                       gflops, m.fma_gflops_all, gflops / m.fma_gflops_all, r.rel_l2, r.min_cosine,
                       std::isnan(r.recall) ? std::string() : fmt::format("{:.4f}", r.recall),
                       Quoted(m.cpu), Quoted(m.target), m.threads);
  }
  LANDMARK_CHECK_ARG(csv.good(), path + ": write failed");
}

}  // namespace landmark::perf
