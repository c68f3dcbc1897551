// Pretrained Hugging Face LLMs on the CPU: decoder-only Llama (2, 3, 3.1+),
// Qwen2/2.5, Qwen3 and Mistral models read from a model directory
// (config.json, model.safetensors or its shards, generation_config.json) and
// run with landmark's kernels, no Python.
//
//   const LlmModel model = LlmModel::Load("Qwen2.5-0.5B-Instruct");
//   LlmSession session(model);                  // the dense KV cache, in memory
//   GenerateOptions options;
//   options.on_token = [](int32_t id) { ...; return true; };  // streaming
//   GenerateResult r = Generate(session, prompt_ids, options);
//
// Weights are used where they are mapped (f32, bf16 or f16; nothing is
// copied); activations are f32. Contexts longer than the trained one belong
// in a chunk store (landmark ingest, landmark ask).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "landmark/dtype.h"

namespace landmark::llm {

enum class Architecture : uint8_t { kLlama, kQwen2, kQwen3, kMistral };
const char* Name(Architecture architecture);  // as config.json names it: "LlamaForCausalLM", ...

// Rotary embedding frequencies (transformers' rope types).
struct RopeConfig {
  std::string type = "default";  // "default" | "linear" | "llama3"
  double theta = 10000.0;
  double factor = 1.0;                                   // linear, llama3
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  size_t original_max_position_embeddings = 0;           // llama3
};

// generation_config.json's sampling defaults (absent: greedy; top_k 0: off).
struct GenerationDefaults {
  bool do_sample = false;
  double temperature = 1.0, top_p = 1.0;
  size_t top_k = 0;
};

struct LlmConfig {
  std::string dir;  // the model directory (messages name its files)
  Architecture architecture = Architecture::kLlama;
  size_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, layers = 0;
  size_t q_heads = 0, kv_heads = 0, head_dim = 0;
  double rms_norm_eps = 1e-6;
  size_t max_position_embeddings = 0;  // the trained context, tokens
  bool tie_word_embeddings = false;    // the LM head is the embedding matrix
  bool qkv_bias = false;               // q/k/v projections have biases (Qwen2; Llama's attention_bias)
  bool o_bias = false;                 // o_proj has a bias (Llama's and Qwen3's attention_bias)
  bool qk_norm = false;                // per-head RMSNorm of q and k before RoPE (Qwen3)
  // Per layer: its sliding window (keys a token sees, itself included:
  // token i sees j when i − W < j ≤ i), or 0 for full causal attention.
  std::vector<size_t> layer_windows;
  RopeConfig rope;
  DType dtype = DType::kF32;  // as declared (dtype / torch_dtype); the tensors have their own
  int32_t bos_id = -1;        // -1: none
  std::vector<int32_t> eos_ids;  // config.json's and generation_config.json's, in that order
  GenerationDefaults generation;

  // <dir>/config.json, and <dir>/generation_config.json when present. Throws
  // landmark::Error naming the file and the field: unsupported architecture,
  // rope type or activation; a field missing, of the wrong type, or
  // inconsistent with the others.
  static LlmConfig FromDirectory(const std::string& dir);
  // The same from the files' text (generation_json "" when absent).
  static LlmConfig Parse(const std::string& config_json, const std::string& generation_json,
                         const std::string& dir);

  // Multiply-adds per token of the projections, the MLP and the LM head
  // (what a decode step reads as weights, in elements).
  uint64_t matmul_parameters() const;
  uint64_t parameters() const;  // everything: + embedding (when not tied), norms, biases
};

// RoPE inverse frequencies [head_dim / 2] exactly as transformers computes
// them in f32 for `rope` (default, linear, llama3).
std::vector<float> InverseFrequencies(const RopeConfig& rope, size_t head_dim);

class LlmModel {
 public:
  // Reads the config and maps the weights (model.safetensors, or the shards
  // model.safetensors.index.json's weight_map names), checking every tensor
  // the architecture needs (present, shape, f32/bf16/f16). Errors name the
  // file and the tensor: "<dir>/model-00002-of-00003.safetensors:
  // model.layers.1.self_attn.k_proj.weight has shape (64, 64), expected (32, 64)".
  static LlmModel Load(const std::string& dir);
  ~LlmModel();
  LlmModel(LlmModel&&) noexcept;
  LlmModel& operator=(LlmModel&&) noexcept;

  const LlmConfig& config() const;
  DType weight_dtype() const;      // of the layers' matrices (the first layer's q_proj)
  uint64_t weight_bytes() const;   // matrices a decode step reads (LM head included)
  uint64_t file_bytes() const;     // the safetensors files mapped
  std::vector<std::string> files() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit LlmModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One context in memory: a dense KV cache (every layer's rotated keys and
// values, f32) and the forward pass. Prompts continue what is cached.
class LlmSession {
 public:
  // Prompts go through the model `prefill_chunk` tokens at a time (bounded
  // activation memory; oneDNN matmuls); single tokens through the Highway
  // dot products. The model must outlive the session.
  explicit LlmSession(const LlmModel& model, size_t prefill_chunk = 512);
  ~LlmSession();
  LlmSession(LlmSession&&) noexcept;
  LlmSession& operator=(LlmSession&&) noexcept;

  // Runs `count` tokens after the cached ones and returns the logits of the
  // last `logit_rows` of them, [logit_rows][vocab] (0: none; count: all).
  // Throws landmark::Error when the context would pass the trained one
  // (ingest into a store and use `landmark ask` instead), or for an id
  // outside the vocabulary.
  std::vector<float> Append(const int32_t* ids, size_t count, size_t logit_rows = 1);
  size_t tokens() const;  // in the cache
  void Clear();
  const LlmModel& model() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct SamplingOptions {
  double temperature = 0.0;  // ≤ 0: greedy (the largest logit; ties to the lower id)
  double top_p = 1.0;        // nucleus: the fewest most likely tokens whose mass reaches top_p
  size_t top_k = 0;          // keep the k most likely first (0: all)
  uint64_t seed = 0;
};

// Draws token ids from logits. Reproducible everywhere: std::mt19937_64
// seeded with `seed`, u = the top 53 bits of one draw / 2^53 per token, and
// candidates ordered by probability (ties: lower id first).
class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  int32_t Sample(const float* logits, size_t vocab);
  // What Sample draws from: softmax(logits / T) restricted to top-k then
  // top-p and renormalised, most likely first. Greedy: the argmax alone.
  std::vector<std::pair<int32_t, float>> Distribution(const float* logits, size_t vocab) const;

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

enum class StopReason : uint8_t { kEos, kMaxTokens, kContextFull, kCallback };
const char* Name(StopReason reason);  // "eos", "max tokens", "context full", "callback"

struct GenerateOptions {
  size_t max_tokens = 256;
  SamplingOptions sampling;
  std::vector<int32_t> stop_ids;  // empty: the model's eos ids
  // Each generated id as soon as it is chosen (the stop id too); return
  // false to stop there.
  std::function<bool(int32_t id)> on_token;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated, the stop id included
  StopReason stop = StopReason::kMaxTokens;
  size_t prompt_tokens = 0;
  double prefill_seconds = 0;  // the prompt, up to its logits
  double decode_seconds = 0;   // the decode steps after the first generated token
  size_t decode_steps = 0;
  double prefill_tokens_per_second() const;
  double decode_tokens_per_second() const;
};

// Appends `prompt` to the session and generates until a stop id, max_tokens
// or the end of the trained context. Throws landmark::Error (naming the
// trained context and the store commands) when the prompt does not fit.
GenerateResult Generate(LlmSession& session, const std::vector<int32_t>& prompt,
                        const GenerateOptions& options = {});


}  // namespace landmark::llm
