// The pretrained-LLM fixtures of tests/data/llm (made by make_fixtures.py
// with transformers in float64): model directories, their reference.json
// and logits, and comparisons against them.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "src/io/tensor_file.h"

namespace landmark::test {

inline const std::string kLlmData = std::string(LANDMARK_TEST_DATA) + "/llm/";
inline std::string ModelDir(const std::string& name) { return kLlmData + "models/" + name; }

inline nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), path);
  std::stringstream s;
  s << in.rdbuf();
  return nlohmann::json::parse(s.str());
}

struct ReferencePrompt {
  std::vector<int32_t> ids;
  std::vector<size_t> positions;  // rows of `logits`
  std::vector<int32_t> greedy;    // 12 ids
  double min_top2_gap = 0;
  std::vector<float> logits;      // [positions][vocab]
};

struct Reference {
  std::vector<ReferencePrompt> prompts;
  std::vector<double> inv_freq;
};

inline Reference ReadReference(const std::string& model) {
  const std::string dir = ModelDir(model) + "/reference/";
  const nlohmann::json j = ReadJson(dir + "reference.json");
  Reference r;
  r.inv_freq = j.at("inv_freq").get<std::vector<double>>();
  for (size_t i = 0; i < j.at("prompts").size(); ++i) {
    const nlohmann::json& p = j["prompts"][i];
    ReferencePrompt prompt;
    prompt.ids = p.at("ids").get<std::vector<int32_t>>();
    prompt.positions = p.at("positions").get<std::vector<size_t>>();
    prompt.greedy = p.at("greedy").get<std::vector<int32_t>>();
    prompt.min_top2_gap = p.at("min_top2_gap").get<double>();
    const TensorFile t = TensorFile::Open(dir + "logits_" + std::to_string(i) + ".npy");
    REQUIRE(t.dtype() == DType::kF32);
    REQUIRE(t.shape().size() == 2);
    REQUIRE(t.shape()[0] == prompt.positions.size());
    const float* data = static_cast<const float*>(t.data());
    prompt.logits.assign(data, data + t.elements());
    r.prompts.push_back(std::move(prompt));
  }
  return r;
}

// max |got − want| / max |want| over the rows `positions` of got
// ([tokens][vocab]) against want ([positions][vocab]).
inline double LogitsError(const std::vector<float>& got, const std::vector<size_t>& positions,
                          const std::vector<float>& want, size_t vocab) {
  REQUIRE(want.size() == positions.size() * vocab);
  double diff = 0, scale = 0;
  for (size_t r = 0; r < positions.size(); ++r) {
    for (size_t i = 0; i < vocab; ++i) {
      const double a = got[positions[r] * vocab + i], b = want[r * vocab + i];
      diff = std::max(diff, std::fabs(a - b));
      scale = std::max(scale, std::fabs(b));
    }
  }
  return diff / scale;
}

// The two largest values of a row: (argmax, largest − second).
inline std::pair<int32_t, double> Top2(const float* row, size_t vocab) {
  size_t best = 0;
  for (size_t i = 1; i < vocab; ++i) best = row[i] > row[best] ? i : best;
  double second = -INFINITY;
  for (size_t i = 0; i < vocab; ++i) {
    if (i != best) second = std::max(second, double(row[i]));
  }
  return {int32_t(best), double(row[best]) - second};
}

}  // namespace landmark::test
