// `landmark bench probe`, `landmark bench kernels` and `landmark bench prefill`.
#include <fmt/core.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "landmark/device.h"
#include "src/kernels/kernels.h"
#include "src/probe/probe.h"
#include "landmark/shard.h"
#include "perf/bench_cross_decoder.h"
#include "perf/bench_decode.h"
#include "perf/bench_ingest.h"
#include "perf/bench_kernels.h"
#include "perf/bench_llm.h"
#include "perf/bench_model.h"
#include "perf/bench_prefill.h"
#include "perf/bench_shard.h"
#include "perf/bench_text.h"
#include "apps/cli/app_main.h"
#include "apps/cli/commands.h"
#include "apps/cli/format.h"

namespace landmark::cli {
namespace {

// Where a benchmark's CSV goes by default: the project's perf/results (this
// build's source tree), wherever the command runs; without the source tree
// (an installed landmark), $XDG_CACHE_HOME or ~/.cache/landmark/results.
std::string ResultsPath(const std::string& file) {
  namespace fs = std::filesystem;
  const fs::path project = fs::path(LANDMARK_SOURCE_DIR) / "perf" / "results";
  std::error_code error;
  if (fs::is_directory(project, error)) return (project / file).string();
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path base = cache && *cache ? fs::path(cache) : fs::path(home && *home ? home : "/tmp") / ".cache";
  return (base / "landmark" / "results" / file).string();
}

// Progress lines of a benchmark, indented, on stderr (the tables go to stdout).
void LogLine(const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); }

// Runs `bench` in `dir`, or, when none is given, in a fresh temporary
// directory named after the bench that is removed after it unless kept.
template <typename Bench>
auto InScratchDir(std::string& dir, bool keep, const char* name, Bench&& bench) {
  const bool temporary = dir.empty();
  if (temporary) {
    dir = (std::filesystem::temp_directory_path() /
           (std::string("landmark-bench-") + name + "-" + std::to_string(::getpid()))).string();
  }
  auto result = bench();
  if (temporary && !keep) std::filesystem::remove_all(dir);
  return result;
}

struct BenchArgs {
  size_t threads = 0;
  std::string isa;
  bool quick = false;
  std::string filter;
  std::string csv = ResultsPath("kernels.csv");
  bool plot = true;
  size_t decode_tokens = 0, prefill_tokens = 0;
};

struct PrefillBenchArgs {
  size_t threads = 0;
  std::string isa, device = "cpu";
  std::string csv = ResultsPath("prefill.csv");
  bool plot = true;
  perf::PrefillBenchOptions options;
};

// `threads`: the all-thread figures use as many threads as the benchmark (0: all CPUs).
MachineLimits Probe(bool quick, size_t threads = 0) {
  std::fprintf(stderr, "probing memory bandwidth and FMA peak...\n");
  ProbeOptions options;
  options.threads = threads;
  if (quick) {
    options.buffer_bytes = size_t(64) << 20;
    options.repeats = 2;
    options.fma_seconds = 0.03;
  }
  return ProbeMachine(options);
}

// Draws the CSV with perf/<script> when this build's source tree and
// /usr/bin/python3 (with matplotlib) are at hand.
void Plot(const std::string& csv, const std::string& script_name = "plot.py") {
  const std::string script = std::string(LANDMARK_SOURCE_DIR) + "/perf/" + script_name;
  if (!std::filesystem::exists(script) || !std::filesystem::exists("/usr/bin/python3")) {
    std::fprintf(stderr, "(plot skipped: %s or /usr/bin/python3 not found)\n", script.c_str());
    return;
  }
  const std::string command = "/usr/bin/python3 '" + script + "' '" + csv + "'";
  std::fflush(stdout);
  if (std::system(command.c_str()) != 0) std::fprintf(stderr, "(plot failed: %s)\n", command.c_str());
}

// This run's limits, printed: the better of the probes before and after the
// bench (other load on the machine lowers one of them).
MachineLimits ReportLimits(const MachineLimits& before, bool quick, size_t threads) {
  const MachineLimits limits = perf::BestOf(before, Probe(quick, threads));
  perf::PrintMachine(stdout, limits);
  std::printf("\n");
  return limits;
}

// Writes a bench's CSV through `write(path)` unless the path is empty, says
// where, and draws it with perf/<script> (null: no plot).
template <typename Write>
void SaveCsv(const std::string& path, Write&& write, const char* script = nullptr) {
  if (path.empty()) return;
  write(path);
  std::printf("wrote %s\n", path.c_str());
  if (script) Plot(path, script);
}

void RunKernels(const BenchArgs& args) {
  if (!args.isa.empty()) CapKernelTarget(args.isa);
  const MachineLimits before = Probe(args.quick, args.threads);
  perf::KernelBenchOptions options;
  options.quick = args.quick;
  options.filter = args.filter;
  options.decode_tokens = args.decode_tokens;
  options.prefill_tokens = args.prefill_tokens;
  const auto results = perf::BenchKernels(options, [](const std::string& line) {
    std::fprintf(stderr, "  measuring %s\n", line.c_str());
  });
  const MachineLimits limits = ReportLimits(before, args.quick, args.threads);
  perf::PrintTable(stdout, limits, results);
  std::printf("\nratio = measured / limit; limits: best of two probes in this run, before and after "
              "the kernels (see `landmark bench probe`).\n");
  if (args.quick) std::printf("--quick: small shapes that may sit in cache; the ratios are not meaningful.\n");
  SaveCsv(args.csv, [&](const std::string& path) { perf::WriteCsv(path, limits, results); },
          args.plot ? "plot.py" : nullptr);
}

void RunPrefill(const PrefillBenchArgs& args) {
  if (!args.isa.empty()) CapKernelTarget(args.isa);
  perf::PrefillBenchOptions options = args.options;
  options.device = ResolveDevice(ParseDevice(args.device));
  const perf::GpuBenchLimits gpu = options.device == Device::kCuda ? perf::ProbeGpu() : perf::GpuBenchLimits{};
  const MachineLimits before = Probe(args.options.quick, args.threads);
  const auto results = perf::BenchPrefill(options, LogLine);
  const MachineLimits limits = ReportLimits(before, args.options.quick, args.threads);
  perf::PrintPrefillTable(stdout, limits, results);
  std::printf("\ntime = pattern discovery + block-sparse attention (best of >= 2 runs, one above 5 s); "
              "disc%% = discovery time / attention time;\nGFLOP/s on the computed blocks (4·d·G per attended "
              "query-key pair), /peak = its ratio to the %zu-thread f32 FMA peak;\nspeedup over the dense "
              "kernel in this run; rel-L2 and min-cos against dense on sampled query blocks; recall = planted "
              "key blocks kept.\n",
              limits.threads);
  if (args.options.quick) std::printf("--quick: short sequences; speedups and ratios are not meaningful.\n");
  if (options.device == Device::kCuda) {
    std::printf("\n");
    perf::PrintGpu(stdout, gpu);
    const double peak = options.gpu_tensor_cores ? gpu.bf16_gflops : gpu.fma_gflops;
    perf::PrintPrefillGpuTable(stdout, gpu.gpu, peak, results);
    std::printf("\ncpu / gpu = discovery (CPU, the same mask) + attention, end to end (GPU: with the copies of Q, K, V "
                "and the output over PCIe); kernel = the GPU kernel alone (CUDA events), GFLOP/s on the computed "
                "blocks and /peak against the probed f32 FMA peak (--gpu-tensor-cores: the probed bf16 mma.sync peak); x cpu = cpu / gpu; x gpu-dns = GPU dense kernel / "
                "this kernel; rel-L2 of the GPU output against dense on sampled query blocks.\n");
    const std::string csv = args.csv == ResultsPath("prefill.csv")
                                ? ResultsPath("prefill-cuda-" + perf::GpuSlug(gpu.gpu) + ".csv") : args.csv;
    SaveCsv(
        csv,
        [&](const std::string& path) {
          perf::WritePrefillGpuCsv(path, limits, gpu.gpu, peak, gpu.h2d_gbps, results);
        });
    return;
  }
  SaveCsv(args.csv, [&](const std::string& path) { perf::WritePrefillCsv(path, limits, results); },
          args.plot ? "plot_prefill.py" : nullptr);
}

struct IngestArgs {
  size_t threads = 0;
  bool quick = false, keep = false;
  std::string dir, csv = ResultsPath("ingest.csv");
};

void RunIngestBench(const IngestArgs& args) {
  MachineLimits limits = Probe(true, args.threads);
  perf::IngestBenchOptions options;
  options.quick = args.quick;
  options.keep = args.keep;
  options.dir = args.dir;
  const perf::IngestBenchReport report =
      InScratchDir(options.dir, args.keep, "ingest", [&] { return perf::BenchIngest(limits, options, LogLine); });
  perf::PrintMachine(stdout, limits);
  std::printf("\n");
  perf::PrintTable(stdout, limits, report.throughput);
  std::printf("\n");
  for (const auto& row : report.rows) {
    std::printf("%-44s %10.1f %-4s  target %-10s %s\n", row.what.c_str(), row.value, row.unit.c_str(),
                row.target.c_str(), row.met ? "met" : "MISSED");
  }
  std::printf("\nRSS includes the benchmark's own %.0f MiB input batch; stores %s.\n",
              double(report.input_buffer_bytes) / double(1 << 20),
              args.keep ? ("kept in " + options.dir).c_str() : "deleted");
  SaveCsv(args.csv, [&](const std::string& path) { perf::WriteCsv(path, limits, report.throughput); });
}

struct DecodeArgs {
  perf::DecodeBenchOptions options;
  std::string device = "cpu";
  bool no_cold = false, no_headline = false, plot = true;
  std::string csv = ResultsPath("decode.csv");
  std::string scaling_csv = ResultsPath("decode-scaling.csv");
  size_t threads = 0;
};

void RunDecodeBench(const DecodeArgs& args) {
  perf::DecodeBenchOptions options = args.options;
  options.device = ResolveDevice(ParseDevice(args.device));
  const perf::GpuBenchLimits gpu = options.device == Device::kCuda ? perf::ProbeGpu() : perf::GpuBenchLimits{};
  const MachineLimits before = Probe(args.options.quick, args.threads);
  std::vector<perf::DecodeScalingRow> scaling;
  if (!options.thread_sweep.empty() || !options.streams.empty() || !options.gpu_batches.empty()) options.scaling = &scaling;
  options.hbm_gbps = gpu.hbm_gbps;
  options.cold = !args.no_cold;
  options.headline = !args.no_headline;
  const auto rows =
      InScratchDir(options.dir, options.keep, "decode", [&] { return perf::BenchDecode(before, options, LogLine); });
  const MachineLimits limits = ReportLimits(before, args.options.quick, args.threads);
  perf::PrintDecodeTable(stdout, rows);
  std::printf("\nwarm/cold: median over the planted-needle queries; limit = read/query ÷ %.1f GB/s (probed, all "
              "threads); ratio = limit ÷ warm; dense = dense exact decode of the whole store; recall = planted "
              "needle chunks in the top-%zu.\n", limits.read_gbps_all, options.top_k);
  if (!scaling.empty()) {
    std::printf("\n");
    perf::PrintDecodeScalingTable(stdout, scaling);
    std::printf("\nthreads: one query at a time on that many threads (median of the needles' best of 5), limit = "
                "read/query ÷ the read bandwidth probed with as many threads; streams: that many concurrent query "
                "streams on one shared store, every thread serving, ms/query = wall time ÷ queries, limit with all "
                "threads' bandwidth; gpu-batch: one resident batch on the GPU, limit = read/query ÷ HBM bandwidth; "
                "ratio = limit ÷ ms/query.\n");
    SaveCsv(
        args.scaling_csv,
        [&](const std::string& path) {
          perf::WriteDecodeScalingCsv(path, limits.cpu + (gpu.gpu.empty() ? "" : " + " + gpu.gpu), scaling);
        },
        args.plot ? "plot_scaling.py" : nullptr);
  }
  if (options.device == Device::kCuda) {
    std::printf("\n");
    perf::PrintGpu(stdout, gpu);
    perf::PrintDecodeGpuTable(stdout, gpu, rows);
    std::printf("\ncpu = the CPU engine above (warm); resident = GPU with the store's K/V in GPU memory, HBM lim = "
                "read/query ÷ HBM bandwidth; streamed = GPU with the selected K/V copied from the mapped store per "
                "query, PCIe lim = K/V per query ÷ pinned host->device bandwidth; ratio = limit ÷ time; batch/q = "
                "one batch of %zu queries (resident) ÷ %zu; x cpu = cpu ÷ best single-query GPU time; x dense = CPU "
                "dense ÷ that.\n", options.gpu_batch, options.gpu_batch);
    const std::string csv = args.csv == ResultsPath("decode.csv")
                                ? ResultsPath("decode-cuda-" + perf::GpuSlug(gpu.gpu) + ".csv") : args.csv;
    SaveCsv(csv, [&](const std::string& path) { perf::WriteDecodeGpuCsv(path, limits, gpu, rows); });
    return;
  }
  SaveCsv(args.csv, [&](const std::string& path) { perf::WriteDecodeCsv(path, limits, rows); },
          args.plot ? "plot_decode.py" : nullptr);
}

struct ModelArgs {
  size_t threads = 0;
  perf::ModelBenchOptions options;
  bool quick = false, plot = true;
  std::string csv = ResultsPath("model.csv");
};

void RunModelBench(const ModelArgs& args) {
  const MachineLimits before = Probe(args.quick, args.threads);
  perf::ModelBenchOptions options = args.options;
  if (args.quick && options.sizes.empty()) options.sizes = {size_t(1) << 16};
  auto rows = InScratchDir(options.dir, options.keep, "model", [&] { return perf::BenchModel(options, LogLine); });
  const MachineLimits limits = ReportLimits(before, args.quick, args.threads);
  perf::RateModelRows(rows, limits);
  std::printf("task: %s, haystacks of held-out text (train/data/heldout.txt.gz: Debian files training never saw)\n",
              options.task.c_str());
  perf::PrintModelTable(stdout, rows);
  std::printf("\naccuracy: exact answers (5-digit pass keys; multivalue: both, ascending), one fresh question per "
              "needle (multivalue: per vault); values: pass keys found among the answers' words, in any order (RULER's "
              "string_match_all); retrieved: the needle's chunk "
              "among those any HSA block or head chose at the question's last byte. ingest: whole wall time (store writes included); lower GF/s: "
              "the lower blocks' and chunk memory's FLOPs ÷ their time; ratio = ÷ %.0f GFLOP/s (f32 FMA, probed, all "
              "threads). GF/cpu-s: those FLOPs ÷ the ingest's CPU time (every thread; robust to other load on the "
              "machine); ratio = ÷ %.0f GFLOP/s (one thread's peak). warm: second pass over the questions; first: the "
              "first pass. read = landmarks scanned + K/V attended per answer; limit = read ÷ %.1f GB/s (probed); ratio = limit ÷ warm.\n",
              limits.fma_gflops_all, limits.fma_gflops_one, limits.read_gbps_all);
  SaveCsv(
      args.csv,
      [&](const std::string& path) {
        perf::WriteModelCsv(path, limits, options.model, options.task, rows);
      },
      args.plot ? "plot_model.py" : nullptr);
}

struct LlmArgs {
  perf::LlmBenchOptions options;
  bool quick = false, plot = true;
  size_t threads = 0;
  std::string csv = ResultsPath("llm.csv"), store_csv = ResultsPath("llm-store.csv");
};

void RunLlmBench(const LlmArgs& args) {
  const MachineLimits before = Probe(args.quick, args.threads);
  perf::LlmBenchOptions options = args.options;
  if (args.quick) {
    options.prompt_tokens = std::min<size_t>(options.prompt_tokens, 64);
    options.decode_steps = std::min<size_t>(options.decode_steps, 4);
    options.store_tokens = std::min<size_t>(options.store_tokens, 16384);
    options.dense_steps = std::min<size_t>(options.dense_steps, 2);
  }
  auto rows = perf::BenchLlm(options, LogLine);
  std::vector<perf::LlmStoreBenchRow> store_rows;
  if (options.store_tokens > 0 && !options.store_models.empty()) store_rows = perf::BenchLlmStore(options, LogLine);
  const MachineLimits limits = ReportLimits(before, args.quick, args.threads);
  perf::RateLlmRows(rows, limits);
  perf::PrintLlmTable(stdout, rows);
  std::printf("\nrandom weights of each shape (the computation does not depend on their values); dense KV cache. "
              "prefill: best of 2 repeats after a warm-up, one fresh session each; GFLOP/s = (2 × the layers' matmul "
              "parameters per token + causal attention + one LM head row) ÷ wall time; ratio = ÷ %.0f GFLOP/s (f32 "
              "FMA, probed, all threads; bf16 matmuls may exceed it). GF/cpu-s: the same FLOPs ÷ the repeat's CPU "
              "time (every thread; robust to other load on the machine); ratio = ÷ %.0f GFLOP/s (one thread's peak). "
              "decode: median and fastest step after the prompt, and the median step's CPU time; read = the weights "
              "(LM head included) + the f32 K/V of the context; limit = read ÷ %.1f GB/s (probed, all threads); "
              "ratio = decode ÷ limit (1 = bandwidth-bound; target ≤ 1.5), best = fastest step ÷ limit.\n",
              limits.fma_gflops_all, limits.fma_gflops_one, limits.read_gbps_all);
  SaveCsv(args.csv, [&](const std::string& path) { perf::WriteLlmCsv(path, limits, rows); });
  if (store_rows.empty()) return;
  perf::RateLlmStoreRows(store_rows, limits);
  std::printf("\nthe same shapes answering over a store of every layer's K/V (synthetic, f16, 64-token chunks):\n");
  perf::PrintLlmStoreTable(stdout, store_rows);
  std::printf("\ndecode = median step after a %zu-token question, retrieval attention with the answerer's defaults "
              "(sinks + top-k chunks per kv head and layer + an exact local window); limit = (weights + every "
              "landmark + the attended K/V) ÷ %.1f GB/s. dense = the step without attention + exact attention "
              "of every layer over every stored token (f16 K/V read straight from the store, as from a dense f16 KV "
              "cache of that length), limit = (weights + all K/V) ÷ the same bandwidth; speedup = dense ÷ decode. The store is warm in the page "
              "cache (read once before timing).\n",
              options.question_tokens, limits.read_gbps_all);
  SaveCsv(args.store_csv, [&](const std::string& path) { perf::WriteLlmStoreCsv(path, limits, store_rows); },
          args.plot ? "plot_llm_store.py" : nullptr);
}

struct CrossDecoderArgs {
  size_t threads = 0;
  perf::CrossDecoderBenchOptions options;
  bool plot = true;
  std::string csv = ResultsPath("cross_decoder.csv");
};

void RunCrossDecoderBench(const CrossDecoderArgs& args) {
  const MachineLimits before = Probe(args.options.quick, args.threads);
  perf::CrossDecoderBenchOptions options = args.options;
  const auto rows = InScratchDir(options.dir, options.keep, "xdec",
                                 [&] { return perf::BenchCrossDecoder(before, options, LogLine); });
  const MachineLimits limits = ReportLimits(before, args.options.quick, args.threads);
  perf::PrintCrossDecoderTable(stdout, rows);
  std::printf("\nstep: median decode step (all layers, `batch` streams); weights/store: bytes read per step; "
              "limit = all bytes read ÷ %.1f GB/s (probed, all threads); ratio = limit ÷ step; hsa layer: store "
              "bytes one attention layer reads per stream (landmarks + K/V, grows with N); gmu layer: the memory a "
              "GMU layer reads instead (d_m floats, independent of N); speedup = all-hsa step ÷ this step; vs dense = "
              "layers × one dense-decode layer over the whole store ÷ step.\n", limits.read_gbps_all);
  SaveCsv(args.csv, [&](const std::string& path) { perf::WriteCrossDecoderCsv(path, limits, rows); },
          args.plot ? "plot_cross_decoder.py" : nullptr);
}

struct ShardArgs {
  perf::ShardBenchOptions options;
  size_t threads = 0;
  std::string csv = ResultsPath("shards.csv");
};

// Under mpirun: every rank runs it; rank 0 builds the stores and reports.
void RunShardBench(const ShardArgs& args) {
  Communicator& comm = MpiWorld();
  perf::ShardBenchOptions options = args.options;
  if (options.dir.empty()) options.dir = (std::filesystem::temp_directory_path() / "landmark-bench-sharded").string();
  const bool root = comm.rank() == 0;
  const perf::ShardBenchRow row = perf::BenchShards(comm, options, [root](const std::string& line) {
    if (root) std::fprintf(stderr, "  %s\n", line.c_str());
  });
  if (!root) return;
  const MachineLimits limits = Probe(true, args.threads);
  perf::PrintMachine(stdout, limits);
  std::printf("\n");
  perf::PrintShardTable(stdout, row);
  std::printf("\nsharded: one query through every rank (broadcast, local top-k, allgather, attend, gather, merge), "
              "median over the needles of the best of 5; 1 process: the same query on one process over the whole "
              "store; ratio = 1 process ÷ sharded; limit = landmarks + K/V read per query ÷ this host's read bandwidth "
              "(%.1f GB/s; every rank shares it); steps: rank 0's, of the fastest query; moved/q: bytes sent between "
              "ranks per query; same: selections identical to one process.\n", row.read_gbps);
  if (!args.csv.empty()) {
    perf::AppendShardCsv(args.csv, limits.cpu, row);
    std::printf("appended to %s\n", args.csv.c_str());
  }
}

}  // namespace

struct TextArgs {
  perf::TextBenchOptions options;
  bool quick = false, keep = false, plot = true;
  std::string csv = ResultsPath("text.csv");
};

std::string Roots(const std::vector<std::string>& roots) {
  std::string out;
  for (const std::string& r : roots) out += (out.empty() ? "" : " + ") + r;
  return out;
}

void RunTextBench(const TextArgs& args) {
  perf::TextBenchOptions o = args.options;
  if (args.quick) {
    o.words = 150000;
    o.questions = 40;
  }
  const perf::TextBenchReport r = InScratchDir(o.dir, args.keep, "text", [&] { return perf::BenchText(o, LogLine); });
  std::printf("corpus: %zu files of %s (%s words, %s of text) with %zu planted pass keys; %zu tokens in %zu chunks "
              "of %zu\n",
              r.files, Roots(o.roots).c_str(), Count(double(r.words)).c_str(),
              Bytes(double(r.input_bytes)).c_str(), o.pass_keys, r.tokens, r.chunks, o.chunk_size);
  const perf::TextBenchSystem& base = r.systems.back();
  std::printf("\n%-12s %-15s %-15s %-16s %-16s %-18s %s\n", "system", "top-1", fmt::format("top-{}", o.show).c_str(),
              "ingest", "query (mean)", "bytes/token", "open");
  for (const perf::TextBenchSystem& s : r.systems) {
    auto pct = [&](size_t n) { return fmt::format("{}/{} {:.0f}%", n, s.questions, 100.0 * double(n) / double(s.questions)); };
    std::printf("%-12s %-15s %-15s %-16s %-16s %-18s %s\n", s.name.c_str(), pct(s.top1).c_str(), pct(s.top_n).c_str(),
                fmt::format("{} ({:.2f}x)", perf::FormatTime(s.ingest_s), s.ingest_s / base.ingest_s).c_str(),
                fmt::format("{} ({:.2f}x)", perf::FormatTime(s.query_ms / 1e3), s.query_ms / base.query_ms).c_str(),
                fmt::format("{:.1f} ({:.2f}x)", s.bytes_per_token, s.bytes_per_token / base.bytes_per_token).c_str(),
                s.open_ms > 0 ? perf::FormatTime(s.open_ms / 1e3).c_str() : "-");
  }
  const perf::TextBenchSystem& lm = r.systems.front();
  std::printf("pass keys right first: landmark %zu/%zu, FTS5 %zu/%zu\n", lm.pass_top1, o.pass_keys, base.pass_top1,
              o.pass_keys);
  std::printf("\nlandmark: top-1 %s FTS5's (%zu vs %zu: target >=); store %.1f bytes/token, %.1fx smaller than the "
              "first text stores' %.0f (target >= 8x); %.1f store bytes per byte of text; peak RSS %.0f MiB "
              "(target <= 256)\n",
              lm.top1 >= base.top1 ? "matches or beats" : "is BELOW", lm.top1, base.top1, lm.bytes_per_token,
              r.legacy_bytes_per_token / lm.bytes_per_token, r.legacy_bytes_per_token, lm.bytes / double(r.input_bytes),
              r.peak_rss_mib);
  std::printf("ingest: landmark from the files (read, tokenise, encode, index, write); FTS5 inserting the same chunk "
              "texts. query: landmark BM25 + attention over the top 16; FTS5 MATCH (OR of the words) ORDER BY rank.\n");
  for (size_t i = 0; i < std::min<size_t>(r.misses.size(), 5); ++i) std::printf("  missed: %s\n", r.misses[i].c_str());
  if (!args.csv.empty()) {
    std::ofstream csv = perf::OpenCsv(args.csv);
    csv << "system,files,words,tokens,chunks,input_bytes,questions,pass_keys,pass_top1,top1,top_n,n,ingest_s,"
           "open_ms,query_ms,bytes,bytes_per_token,legacy_bytes_per_token,peak_rss_mib\n";
    for (const perf::TextBenchSystem& s : r.systems) {
      csv << s.name << ',' << r.files << ',' << r.words << ',' << r.tokens << ',' << r.chunks << ',' << r.input_bytes
          << ',' << s.questions << ',' << o.pass_keys << ',' << s.pass_top1 << ',' << s.top1 << ',' << s.top_n
          << ',' << o.show << ',' << s.ingest_s << ','
          << s.open_ms << ',' << s.query_ms << ',' << s.bytes << ',' << s.bytes_per_token << ','
          << r.legacy_bytes_per_token << ',' << r.peak_rss_mib << '\n';
    }
    csv.close();
    std::printf("wrote %s\n", args.csv.c_str());
    if (args.plot) Plot(args.csv, "plot_text.py");
  }
}

void AddBenchCommands(CLI::App& app) {
  CLI::App* bench = &app;
  bench->require_subcommand(1);
  auto args = std::make_shared<BenchArgs>();

  CLI::App* probe = bench->add_subcommand("probe", "Measure memory bandwidth and f32 FMA peak");
  probe->add_option("--threads", args->threads, "Threads for the all-thread figures (0: all CPUs)");
  probe->add_option("--isa", args->isa, "Cap the instruction set (as for bench kernels)");
  probe->add_flag("--quick", args->quick, "Smaller buffer, shorter runs");
  probe->callback([args] {
    if (!args->isa.empty()) CapKernelTarget(args->isa);
    ProbeOptions options;
    options.threads = args->threads;
    if (args->quick) {
      options.buffer_bytes = size_t(64) << 20;
      options.fma_seconds = 0.03;
    }
    perf::PrintMachine(stdout, ProbeMachine(options));
  });

  CLI::App* kernels = bench->add_subcommand(
      "kernels", "Benchmark the kernels on a built-in workload: time, GB/s or GFLOP/s, ratio to the limit");
  kernels->add_option("--threads", args->threads, "Worker threads (0: all CPUs)");
  kernels->add_option("--isa", args->isa,
                      "Cap the kernels' instruction set: AVX3, AVX2, SSE4, SSSE3, SCALAR");
  kernels->add_flag("--quick", args->quick, "Small shapes (seconds)");
  kernels->add_option("--filter", args->filter, "Only kernels whose name contains this");
  kernels->add_option("--csv", args->csv, "CSV output path (empty to skip)")->capture_default_str();
  kernels->add_flag_callback("--no-plot", [args] { args->plot = false; }, "Do not draw the PNG plot");
  kernels->add_option("--decode-tokens", args->decode_tokens, "n for dense-decode (default 1M)");
  kernels->add_option("--prefill-tokens", args->prefill_tokens, "L for causal-prefill (default 4096)");
  kernels->callback([args] { RunWithThreads(args->threads, [&] { RunKernels(*args); }); });

  auto prefill_args = std::make_shared<PrefillBenchArgs>();
  perf::PrefillBenchOptions& o = prefill_args->options;
  CLI::App* prefill = bench->add_subcommand(
      "prefill", "Block-sparse prefill policies vs the dense kernel on structured inputs: speedup, "
                 "density, FLOP rate vs peak, error vs dense");
  prefill->add_option("--threads", prefill_args->threads, "Worker threads (0: all CPUs)");
  prefill->add_option("--isa", prefill_args->isa, "Cap the kernels' instruction set (as for bench kernels)");
  prefill->add_flag("--quick", o.quick, "Short sequences (seconds)");
  prefill->add_flag("--gpu-tensor-cores", o.gpu_tensor_cores,
                    "With --device cuda: the bf16 tensor-core kernel (head dims 64, 128), /peak against bf16 mma.sync");
  prefill->add_flag("--gpu-mask", o.gpu_mask,
                    "With --device cuda: flashprefill's mask found on the GPU too (its time and the blocks "
                    "that differ from the CPU's mask are printed)");
  prefill->add_option("--lengths", o.lengths, "Sequence lengths (default 4096,16384,65536,131072)")
      ->delimiter(',');
  prefill->add_option("--patterns", o.patterns,
                      "Input patterns: random, sink, local, slash, mixture (default all)")
      ->delimiter(',');
  prefill->add_option("--policies", o.policies,
                      "Policies, each name[:key=value]...: flashprefill, flashprefill-alpha, dma, dma-qk (default: those, flashprefill:delta=5, alpha-form up to 16K)")
      ->delimiter(',');
  prefill->add_option("--q-heads", o.q_heads, "Query heads (default 4)")->check(CLI::PositiveNumber);
  prefill->add_option("--kv-heads", o.kv_heads, "KV heads (default 1)")->check(CLI::PositiveNumber);
  prefill->add_option("--head-dim", o.d, "Head dim d (default 128)")->check(CLI::Range(3, 4096));
  prefill->add_option("--block", o.block, "Block size B (default 64)")->check(CLI::PositiveNumber);
  prefill->add_option("--sample-blocks", o.sample_blocks,
                      "Query blocks compared with dense (default 32)")->check(CLI::PositiveNumber);
  prefill->add_option("--csv", prefill_args->csv, "CSV output path (empty to skip)")->capture_default_str();
  prefill->add_flag_callback("--no-plot", [prefill_args] { prefill_args->plot = false; }, "Do not draw the PNG plot");
  prefill->add_option("--device", prefill_args->device, "cpu, or cuda: every row also with the GPU kernel")
      ->capture_default_str();
  prefill->callback([prefill_args] {
    RunWithThreads(prefill_args->threads, [&] { RunPrefill(*prefill_args); });
  });

  auto text_args = std::make_shared<TextArgs>();
  CLI::App* text = bench->add_subcommand(
      "text", "Text retrieval on Debian's own text (/usr/share/doc, common-licenses) beside SQLite FTS5: top-1 "
              "accuracy, ingest and query time, bytes per token, peak RSS");
  text->add_flag("--quick", text_args->quick, "150K words, 40 real questions");
  text->add_option("--words", text_args->options.words, "Corpus size in words")->capture_default_str();
  text->add_option("--questions", text_args->options.questions, "Real questions (besides the pass keys)")
      ->capture_default_str();
  text->add_option("--pass-keys", text_args->options.pass_keys, "Planted pass-key sentences")->capture_default_str();
  text->add_option("--chunk-size", text_args->options.chunk_size, "Tokens per chunk")->capture_default_str();
  text->add_option("--seed", text_args->options.seed, "Seed of the questions")->capture_default_str();
  text->add_option("--dir", text_args->options.dir, "Scratch directory (default: a temp dir, deleted after)");
  text->add_flag("--keep", text_args->keep, "Keep the scratch directory");
  text->add_option("--csv", text_args->csv, "CSV output path (empty to skip)")->capture_default_str();
  text->add_flag("!--no-plot", text_args->plot, "Skip the plot");
  text->callback([text_args] { RunTextBench(*text_args); });

  auto ingest_args = std::make_shared<IngestArgs>();
  CLI::App* ingest = bench->add_subcommand(
      "ingest", "Store write throughput vs disk bandwidth, peak RSS at 1 and 8 GiB, open time");
  ingest->add_flag("--quick", ingest_args->quick, "64 MiB and 256 MiB stores (seconds)");
  ingest->add_option("--dir", ingest_args->dir, "Scratch directory on the disk to measure (default: a temp dir)");
  ingest->add_flag("--keep", ingest_args->keep, "Keep the stores");
  ingest->add_option("--csv", ingest_args->csv, "CSV output path (empty to skip)")->capture_default_str();
  ingest->add_option("--threads", ingest_args->threads, "Worker threads (0: all CPUs)");
  ingest->callback([ingest_args] { RunWithThreads(ingest_args->threads, [&] { RunIngestBench(*ingest_args); }); });

  auto decode_args = std::make_shared<DecodeArgs>();
  CLI::App* decode = bench->add_subcommand(
      "decode", "The retrieval engine on planted-needle stores, 128K-16M tokens: latency, bytes, recall, vs dense");
  decode->add_flag("--quick", decode_args->options.quick, "Small stores (seconds)");
  decode->add_option("--sizes", decode_args->options.sizes, "Tokens of the one-kv-head stores (default 128K 1M 4M 16M)")
      ->delimiter(',');
  decode->add_flag("--no-headline", decode_args->no_headline, "Skip the 1M-token, 8-kv-head store");
  decode->add_flag("--no-cold", decode_args->no_cold, "Skip the cold-cache runs");
  decode->add_option("--top-k", decode_args->options.top_k, "Chunks selected")->capture_default_str();
  decode->add_option("--dir", decode_args->options.dir, "Scratch directory for the stores (default: a temp dir)");
  decode->add_flag("--keep", decode_args->options.keep, "Keep the stores and needle-queries.npy");
  decode->add_option("--csv", decode_args->csv, "CSV output path (empty to skip)")->capture_default_str();
  decode->add_flag_callback("--no-plot", [decode_args] { decode_args->plot = false; }, "Do not draw the PNG plot");
  decode->add_option("--device", decode_args->device,
                     "cpu, or cuda: also the GPU retriever (K/V resident and streamed, batches), vs HBM and PCIe")
      ->capture_default_str();
  decode->add_option("--gpu-batch", decode_args->options.gpu_batch, "CUDA: queries per batch")->capture_default_str();
  decode->add_option("--threads", decode_args->threads, "Worker threads (0: all CPUs)");
  decode->add_option("--thread-sweep", decode_args->options.thread_sweep,
                     "Also the 1M-token stores' warm latency at each of these thread counts (e.g. 1,2,4,8,16)")
      ->delimiter(',');
  decode->add_option("--streams", decode_args->options.streams,
                     "Also queries/s with each of these numbers of concurrent query streams on one store (e.g. 1,4,16,64)")
      ->delimiter(',');
  decode->add_option("--gpu-batches", decode_args->options.gpu_batches,
                     "CUDA: also resident decode of batches of these sizes (e.g. 1,8,64,256)")->delimiter(',');
  decode->add_option("--scaling-csv", decode_args->scaling_csv, "CSV of the sweeps (empty to skip)")->capture_default_str();
  decode->callback([decode_args] { RunWithThreads(decode_args->threads, [&] { RunDecodeBench(*decode_args); }); });

  auto shard_args = std::make_shared<ShardArgs>();
  CLI::App* sharded = bench->add_subcommand(
      "sharded", "Under `mpirun -np N`: sharded-query latency against one process, steps and bytes between ranks");
  sharded->add_option("--tokens", shard_args->options.tokens, "Tokens of the store")->capture_default_str();
  sharded->add_option("--kv-heads", shard_args->options.kv_heads, "KV heads (G 4, d 128, f16)")->capture_default_str();
  sharded->add_option("--top-k", shard_args->options.top_k, "Chunks selected")->capture_default_str();
  sharded->add_option("--needles", shard_args->options.needles, "Queries")->capture_default_str();
  sharded->add_option("--dir", shard_args->options.dir, "Scratch directory every rank sees (default: a temp dir)");
  sharded->add_flag("--keep", shard_args->options.keep, "Keep the stores");
  sharded->add_option("--threads", shard_args->threads, "Worker threads per rank (0: all CPUs)");
  sharded->add_option("--csv", shard_args->csv, "CSV to append the row to (empty to skip)")->capture_default_str();
  sharded->callback([shard_args] { RunWithThreads(shard_args->threads, [&] { RunShardBench(*shard_args); }); });

  auto model_args = std::make_shared<ModelArgs>();
  CLI::App* model = bench->add_subcommand(
      "model", "landmark's byte model at 64K-16M tokens: accuracy, ingest vs FMA peak, answer latency vs bytes read");
  model->add_flag("--quick", model_args->quick, "64K tokens only (seconds)");
  model->add_option("--model", model_args->options.model, "Weights: default or a .safetensors file")->capture_default_str();
  model->add_option("--sizes", model_args->options.sizes, "Haystack sizes in tokens (default 64K 1M 4M 16M)");
  model->add_option("--questions", model_args->options.needles,
                    "Needles per size (one question each; multivalue: one per two)")->capture_default_str();
  model->add_option("--task", model_args->options.task,
                    "single, multikey (distractor vaults) or multivalue (two values a vault)")->capture_default_str();
  model->add_option("--seed", model_args->options.seed, "Haystack seed")->capture_default_str();
  model->add_option("--dir", model_args->options.dir, "Scratch directory for the stores (default: a temp dir)");
  model->add_flag("--keep", model_args->options.keep, "Keep the stores");
  model->add_option("--csv", model_args->csv, "CSV output path (empty to skip)")->capture_default_str();
  model->add_flag_callback("--no-plot", [model_args] { model_args->plot = false; }, "Do not draw the PNG plot");
  model->add_option("--threads", model_args->threads, "Worker threads (0: all CPUs)");
  model->callback([model_args] { RunWithThreads(model_args->threads, [&] { RunModelBench(*model_args); }); });

  auto llm_args = std::make_shared<LlmArgs>();
  CLI::App* llm = bench->add_subcommand(
      "llm", "Hugging Face-shaped models (tiny; Qwen2.5-0.5B's shape, bf16), random weights, dense KV cache: prefill "
             "vs FMA peak, decode vs weight bytes ÷ bandwidth");
  llm->add_flag("--quick", llm_args->quick, "64-token prompts, 4 decode steps, quick probe");
  llm->add_option("--models", llm_args->options.models, "tiny, qwen2.5-0.5b (default both)")->delimiter(',');
  llm->add_option("--prompt-tokens", llm_args->options.prompt_tokens, "Prefill length (and decode context)")
      ->capture_default_str();
  llm->add_option("--steps", llm_args->options.decode_steps, "Decode steps timed")->capture_default_str();
  llm->add_option("--cache-dir", llm_args->options.cache_dir,
                  "Where the random models are written once (default ~/.cache/landmark/bench-llm)");
  llm->add_option("--seed", llm_args->options.seed, "Random weights' seed")->capture_default_str();
  llm->add_option("--threads", llm_args->threads, "Worker threads (default: all CPUs)");
  llm->add_option("--csv", llm_args->csv, "CSV output path (empty to skip)")->capture_default_str();
  llm->add_option("--store-models", llm_args->options.store_models,
                  "Shapes timed over a store (tiny, qwen2.5-0.5b; default tiny; empty: none)")
      ->delimiter(',');
  llm->add_option("--store-tokens", llm_args->options.store_tokens,
                  "Tokens of the synthetic store (default 1M; --quick 16K; 0: skip the store part)")
      ->capture_default_str();
  llm->add_option("--dense-steps", llm_args->options.dense_steps, "Dense exact decode steps timed over the store")
      ->capture_default_str();
  llm->add_option("--store-csv", llm_args->store_csv, "CSV of the store part (empty to skip)")->capture_default_str();
  llm->add_flag_callback("--no-plot", [llm_args] { llm_args->plot = false; }, "Do not draw the PNG plot of the store part");
  llm->callback([llm_args] { RunWithThreads(llm_args->threads, [&] { RunLlmBench(*llm_args); }); });

  auto xdec_args = std::make_shared<CrossDecoderArgs>();
  CLI::App* xdec = bench->add_subcommand(
      "cross-decoder", "All-attention vs 50% GMU cross-decoder (16 × 2048, bf16) over 32K-4M-token stores: step "
                       "time, bytes read, I/O per layer");
  xdec->add_flag("--quick", xdec_args->options.quick, "A small stack over a 16K store (seconds)");
  xdec->add_option("--sizes", xdec_args->options.sizes, "Store tokens (default 32K 1M 4M)")->delimiter(',');
  xdec->add_option("--batches", xdec_args->options.batches, "Decode streams per step (default 1,8)")->delimiter(',');
  xdec->add_option("--steps", xdec_args->options.steps, "Timed steps per point")->capture_default_str();
  xdec->add_option("--dir", xdec_args->options.dir, "Scratch directory (default: a temp dir)");
  xdec->add_flag("--keep", xdec_args->options.keep, "Keep the stores and weights");
  xdec->add_option("--csv", xdec_args->csv, "CSV output path (empty to skip)")->capture_default_str();
  xdec->add_flag_callback("--no-plot", [xdec_args] { xdec_args->plot = false; }, "Do not draw the PNG plot");
  xdec->add_option("--threads", xdec_args->threads, "Worker threads (0: all CPUs)");
  xdec->callback([xdec_args] { RunWithThreads(xdec_args->threads, [&] { RunCrossDecoderBench(*xdec_args); }); });
}

}  // namespace landmark::cli

// landmark-bench (and `landmark bench`, which runs it): the benchmarks.
int main(int argc, char** argv) {
  landmark::cli::PreferPassiveOpenMp(argv);
  CLI::App app{"landmark bench: measure kernels and pipelines against this machine's limits"};
  app.name("landmark bench");
  landmark::cli::AddBenchCommands(app);
  return landmark::cli::RunApp(app, argc, argv, "landmark");
}
