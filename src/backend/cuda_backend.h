// The interface between the core and the CUDA backend library
// (liblandmark_cuda.so, src/cuda/), which the core loads with dlopen. Plain
// data and abstract classes only: the library links nothing of the core, and
// reaches the mapped store through the callbacks in DecodeStore. Both sides
// are built by the same compiler from this header; kCudaBackendAbi guards
// against a stale library. Errors inside the library are thrown as
// std::runtime_error ("cuda: ..."); the core rethrows them as landmark::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "landmark/device.h"
#include "landmark/dtype.h"

namespace landmark::backend {

constexpr int kCudaBackendAbi = 3;

// ------------------------------------------------------------------ decode

// What the GPU retriever reads of a chunk store (shapes as in store.h).
struct DecodeStore {
  DType dtype = DType::kF16;
  size_t chunk_size = 0, kv_heads = 0, head_dim = 0;
  size_t landmark_heads = 0, landmark_dim = 0, landmark_values = 0;  // values: R, or 2R (minmax)
  bool minmax = false;
  size_t chunks = 0;                  // complete chunks (landmarks [chunks][LH][values])
  const void* landmarks = nullptr;    // host, mapped
  // Rows of record (chunk, kv head): chunk == chunks is the tail.
  std::function<size_t(uint32_t chunk, uint32_t head)> record_tokens;
  // Copies records into dst, record i at dst + i * record_bytes: its keys
  // [rows][d] at offset 0 and its values at offset chunk_size * d elements
  // (rows = record_tokens). Parallel on the host (oneTBB).
  std::function<void(const uint32_t* chunks, const uint32_t* heads, size_t count, void* dst,
                     size_t record_bytes)> copy_records;
};

enum class KvPlacement : uint8_t {
  kStream = 0,    // selected records copied per query through pinned staging buffers
  kResident = 1,  // every complete chunk's K/V uploaded once (the tail is streamed)
};

struct DecodeOptions {
  KvPlacement placement = KvPlacement::kStream;
  size_t staging_records = 256;  // records per staging buffer (two buffers, two streams)
  int gpu = 0;
};

// Selection of one query: candidates [first, end) (sinks excluded).
struct SelectRange {
  uint32_t first = 0, end = 0;
};

// One (chunk prefix, kv head) that one query's kv head attends; items of a
// (query, kv head) are contiguous: the retrieval ones (selected, then sinks)
// first, then the local pieces.
struct AttendItem {
  uint32_t query = 0, kv_head = 0, chunk = 0, tokens = 0;
  uint32_t zero_logit = 0;   // softmax-off-by-one inside this chunk
  float weight = 0;          // hsa: the retrieval weight w_i (retrieval items only)
};

struct AttendGroup {          // per (query, kv head), in that order
  uint32_t first_item = 0, parts = 0, retrieval = 0;
};

// Pinned host buffers of one Attend call, owned by the decoder and valid
// until its next call: the caller fills them (in parallel), then calls
// Attend, which uploads them as they are.
struct AttendInputs {
  float* q = nullptr;             // [M][H_q][d]
  AttendItem* items = nullptr;    // [item_count]
  AttendGroup* groups = nullptr;  // [M][kv heads]
};

// The results of the last Attend, in the decoder's pinned memory (valid
// until its next call).
struct AttendResults {
  const float* out = nullptr;        // [M][H_q][d]
  const float* lse = nullptr;        // joint: [M][H_q]; hsa: nullptr
  const float* local_out = nullptr;  // hsa: [M][H_q][d]
  const float* local_lse = nullptr;  // hsa: [M][H_q]
  const float* item_lse = nullptr;   // [items][G]
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Uploads landmarks of chunks added since construction (a refreshed store).
  virtual void SyncLandmarks(const DecodeStore& store) = 0;
  // Top-k per (query, landmark head) over M queries: r [M][LH][R] (host),
  // ranges [M]; writes best first into chunks/scores [M][LH][top_k] and the
  // number found into counts [M][LH] (min(top_k, end - first)). Ties go to
  // the lower chunk id and NaN ranks last, as on the CPU.
  virtual void Select(const float* r, const SelectRange* ranges, size_t M, size_t top_k, uint32_t* chunks,
                      float* scores, uint32_t* counts) = 0;
  // The input buffers of an Attend call of M queries and item_count items.
  virtual AttendInputs AttendBuffers(size_t M, size_t q_heads, size_t item_count) = 0;
  // Block attention of every item of the AttendBuffers just filled, then
  // fusion per group: joint (LSE merge of all parts) or hsa (Σ w_i o_i over
  // the retrieval parts, LSE merge of the local parts); src/attention/fusion.h.
  virtual AttendResults Attend(size_t M, size_t q_heads, size_t item_count, bool hsa) = 0;
  virtual bool resident() const = 0;  // K/V uploaded once (kResident)
};

// ----------------------------------------------------------------- prefill

// Block-sparse causal prefill (CausalPrefill's contract, dense_attention.h):
// q [L][q_heads][d] f32; k, v [L][kv_heads][d] of dtype with the given
// element strides; mask [kv_heads][nb][nb] (nullptr: dense), nb = ceil(L/block).
// FlashPrefill's rules (landmark/prefill.h, src/prefill/flashprefill.cc)
// for a mask found on the GPU.
struct FlashPrefillRules {
  bool delta = true;   // keep A_ij >= max - delta; else A_ij > alpha·max + (1 - alpha)·min
  float delta_value = 4.0f, alpha = 0.15f;
  uint32_t vertical = 0, slash = 0;  // top columns and diagonals kept (at most blocks - 2)
};

struct PrefillProblem {
  const float* q = nullptr;
  size_t q_heads = 0, tokens = 0;
  const void* k = nullptr;
  const void* v = nullptr;
  DType dtype = DType::kF32;
  size_t kv_heads = 0, d = 0, token_stride = 0, head_stride = 0;
  size_t block = 64;
  const uint8_t* mask = nullptr;
  float* out = nullptr;   // host [L][q_heads][d]
  float* lse = nullptr;   // host [L][q_heads] or nullptr
  // bf16 tensor cores (mma.sync, f32 accumulate; head dims 64 and 128):
  // Q, K, V and P rounded to bf16, so results differ from the CPU by bf16
  // rounding, not f32 rounding (tests/backend/README.md).
  bool tensor_cores = false;
  // Not null (and mask null): the FlashPrefill mask is found on the GPU
  // with these rules, used there, and copied to mask_out [kv_heads][nb][nb].
  const FlashPrefillRules* flashprefill = nullptr;
  uint8_t* mask_out = nullptr;
};

struct PrefillTimings {
  double upload = 0, kernel = 0, download = 0;  // seconds (CUDA events)
  double convert = 0;  // tensor cores: the bf16 conversion, part of kernel
  double mask = 0;     // flashprefill on the GPU: the mask kernels, part of kernel
};

// -------------------------------------------------------------- the backend

struct GpuLimits {
  double hbm_gbps = 0;        // device-to-device copy, bytes read + written, GB/s
  double h2d_gbps = 0;        // pinned host -> device
  double d2h_gbps = 0;        // device -> pinned host
  double fma_gflops = 0;      // f32 FMA (CUDA cores), GFLOP/s
  double bf16_mma_gflops = 0; // bf16 mma.sync m16n8k16, f32 accumulate (tensor cores), GFLOP/s
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string Runtime() const = 0;           // runtime and driver versions
  virtual std::vector<GpuInfo> Gpus() const = 0;     // empty: none visible
  virtual std::unique_ptr<Decoder> CreateDecoder(const DecodeStore& store, const DecodeOptions& options) = 0;
  virtual PrefillTimings Prefill(const PrefillProblem& problem, int gpu) = 0;
  virtual GpuLimits Probe(int gpu) = 0;
  virtual size_t FreeMemory(int gpu) = 0;
};

// The library's one exported symbol: a process-wide backend (never freed),
// or nullptr with a reason in `error` when the CUDA runtime cannot start.
using CreateBackendFn = Backend* (*)(int abi, char* error, size_t error_size);
constexpr const char* kCreateBackendSymbol = "landmark_cuda_create_backend";

// The core's loader (src/backend/device.cc): the loaded backend, or nullptr
// (Devices().cuda_status says why).
Backend* CudaBackend();

}  // namespace landmark::backend
