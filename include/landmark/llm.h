// Pretrained LLMs from Hugging Face model directories, on the CPU:
// LlamaForCausalLM (Llama 2/3/3.1/3.2, TinyLlama, SmolLM), Qwen2ForCausalLM,
// Qwen3ForCausalLM, MistralForCausalLM. Weights f32/bf16/f16, memory-mapped
// (one file or shards with model.safetensors.index.json); the tokenizer from
// tokenizer.json (landmark/tokenizer.h).
//
//   LlmModel model = LlmModel::Load("Qwen2.5-0.5B-Instruct");
//   std::vector<int32_t> prompt = ChatPrompt(model, "Hello!");
//   LlmGeneration g = Generate(model, prompt, {}, [](int32_t, std::string_view text) { ...; return true; });
//
// Dense generation keeps the exact KV cache in memory: contexts inside the
// model's trained length. Longer ones live in a chunk store
// (landmark/llm_store.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "landmark/dtype.h"

namespace landmark {

class Tokenizer;

enum class LlmArchitecture : uint8_t { kLlama, kQwen2, kQwen3, kMistral };
const char* Name(LlmArchitecture architecture);  // "LlamaForCausalLM", ...

struct LlmConfig {
  LlmArchitecture architecture = LlmArchitecture::kLlama;
  std::string model_type;   // "llama", "qwen2", ...
  size_t vocab_size = 0, hidden = 0, intermediate = 0, layers = 0;
  size_t q_heads = 0, kv_heads = 0, head_dim = 0;
  size_t max_positions = 0;  // max_position_embeddings: the trained context
  double rms_eps = 1e-6;
  // RoPE: theta and the scaling type ("default", "linear", "llama3") with its parameters.
  double rope_theta = 10000.0;
  std::string rope_type = "default";
  double rope_factor = 1.0, rope_low_freq_factor = 1.0, rope_high_freq_factor = 4.0;
  size_t rope_original_max_positions = 0;
  bool tie_embeddings = false;
  bool qkv_bias = false;  // Qwen2 (and attention_bias: true)
  bool qk_norm = false;   // Qwen3: RMSNorm over each head of q and k
  size_t sliding_window = 0;  // 0: none; else token i sees j when i − window < j ≤ i
  int32_t bos_id = -1;
  std::vector<int32_t> eos_ids;  // config.json and generation_config.json together
  DType dtype = DType::kF32;     // of the weights as stored (the matrices)

  // config.json (and generation_config.json beside it when present); throws
  // landmark::Error naming the file and the field.
  static LlmConfig FromDirectory(const std::string& dir);
  static LlmConfig FromJson(const std::string& config_json, const std::string& where);

  // Matrix parameters of the layers (q, k, v, o, gate, up, down), the LM head
  // and the embedding table.
  uint64_t layer_parameters() const;
  uint64_t parameters() const;
  // Multiply-adds × 2 per token of the layers' matrices (+ the LM head when
  // asked): the lower bound a forward pass costs, attention left out.
  double matmul_flops_per_token(bool lm_head) const;
  std::string Describe() const;  // one line for people
};

class LlmModel {
 public:
  // Reads config.json, the weights (every tensor checked: present, shape,
  // dtype; errors name the file and the tensor) and the tokenizer.
  static LlmModel Load(const std::string& dir);
  ~LlmModel();
  LlmModel(LlmModel&&) noexcept;
  LlmModel& operator=(LlmModel&&) noexcept;

  const LlmConfig& config() const;
  const Tokenizer& tokenizer() const;
  const std::string& dir() const;
  uint64_t weight_bytes() const;  // the matrices a decode step reads (embedding row gathers aside)
  // Identifies the model: xxh3 of config.json, tokenizer.json and the
  // weights' headers and sizes (a store remembers the model that wrote it).
  const std::string& digest() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit LlmModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct LlmSampling {
  float temperature = 0.0f;  // 0: greedy (the highest logit, ties to the lower id)
  float top_p = 1.0f;        // nucleus: the smallest set of tokens with this much probability
  size_t top_k = 0;          // 0: no limit
  uint64_t seed = 0;         // std::mt19937_64
  size_t max_tokens = 256;
};

struct LlmGeneration {
  std::vector<int32_t> tokens;  // generated, without the end-of-sequence token
  std::string text;
  bool stopped = false;         // an end-of-sequence token came
  size_t prompt_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

// Dense generation from `prompt` (its tokens; e.g. ChatPrompt). The prompt
// plus max_tokens must fit the trained context (else an error saying to
// ingest the text into a store and `ask`). on_token gets each token and its
// text as it is complete; return false to stop.
LlmGeneration Generate(const LlmModel& model, const std::vector<int32_t>& prompt, const LlmSampling& sampling = {},
                       const std::function<bool(int32_t token, std::string_view text)>& on_token = {});

// The prompt's tokens: `user` (and `system`) through the model's chat
// template, or a forced family (chat_format "llama2", "llama3", "chatml",
// "mistral"), or "raw": the text as it is (with the tokenizer's BOS).
std::vector<int32_t> ChatPrompt(const LlmModel& model, const std::string& user, const std::string& system = "",
                                const std::string& chat_format = "");

// Logits [T][vocab] at every position of `tokens` (one dense forward pass):
// parity tests and evaluation.
std::vector<float> DenseLogits(const LlmModel& model, const std::vector<int32_t>& tokens);

// A model directory with random weights (seeded) of `config`'s shape in
// `dtype`, and a byte-level tokenizer: benchmarks and tests of sizes no
// fixture has (e.g. Qwen2.5-0.5B's shape).
void WriteRandomLlm(const std::string& dir, const LlmConfig& config, uint64_t seed, DType dtype);

}  // namespace landmark
