// Helpers for store tests: deterministic token data (the same in a parent
// and a forked child), temporary directories, and a reference check of a
// store's contents computed independently in double precision.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "landmark/store.h"
#include "tests/temp_dir.h"

namespace landmark::test {

// The value of element k of token t's key (which = 0) or value (which = 1)
// in kv head h, and of learned landmark (chunk c, head h, k) (which = 2).
inline float TokenValue(size_t t, size_t h, size_t k, int which) {
  return std::sin(0.37f * float(t) + 1.3f * float(h) + 0.11f * float(k) + 2.1f * float(which)) *
         (1.0f + 0.25f * float(which));
}

// The text of token t: a word and a space.
inline std::string TokenText(size_t t) { return "w" + std::to_string(t) + " "; }

// Tokens [first, first + n) as a batch (f32 inputs), with text and, for
// learned stores, the landmarks of the chunks the batch completes.
struct Batch {
  std::vector<float> keys, values, landmarks;
  std::string text;
  std::vector<uint32_t> ends;
  TokenBatch batch;

  Batch(const StoreShape& s, size_t first, size_t n, size_t partial_before, bool with_text) {
    keys.resize(n * s.kv_heads * s.head_dim);
    values.resize(keys.size());
    for (size_t t = 0; t < n; ++t) {
      for (size_t h = 0; h < s.kv_heads; ++h) {
        for (size_t k = 0; k < s.head_dim; ++k) {
          keys[(t * s.kv_heads + h) * s.head_dim + k] = TokenValue(first + t, h, k, 0);
          values[(t * s.kv_heads + h) * s.head_dim + k] = TokenValue(first + t, h, k, 1);
        }
      }
      if (with_text) {
        text += TokenText(first + t);
        ends.push_back(uint32_t(text.size()));
      }
    }
    batch.tokens = n;
    batch.keys = keys.data();
    batch.values = values.data();
    if (with_text) {
      batch.text = text;
      batch.token_text_end = ends.data();
    }
    if (s.landmark == LandmarkKind::kLearned) {
      const size_t first_chunk = first / s.chunk_size;  // the partial chunk completes first
      const size_t completes = (partial_before + n) / s.chunk_size;
      for (size_t c = first_chunk; c < first_chunk + completes; ++c) {
        for (size_t h = 0; h < s.landmark_heads; ++h) {
          for (size_t k = 0; k < s.landmark_dim; ++k) landmarks.push_back(TokenValue(c, h, k, 2));
        }
      }
      batch.landmarks = landmarks.data();
      batch.landmark_chunks = completes;
    }
  }
};

// Appends tokens [first, first + n) in batches of the given sizes (cycled).
inline void AppendTokens(StoreWriter& writer, const StoreShape& s, size_t first, size_t n,
                         bool with_text, const std::vector<size_t>& sizes = {7}) {
  size_t done = 0, i = 0;
  while (done < n) {
    const size_t size = std::min(sizes[i++ % sizes.size()], n - done);
    Batch b(s, first + done, size, (first + done) % s.chunk_size, with_text);
    writer.Append(b.batch);
    done += size;
  }
}

inline double Rounded(float x, DType dtype) {
  switch (dtype) {
    case DType::kF16: return ToF32(ToF16(x));
    case DType::kBF16: return ToF32(ToBF16(x));
    case DType::kF32: break;
  }
  return x;
}

// Checks every chunk, the tail, landmarks and text of `dir` against tokens
// 0..tokens-1 as generated above, with references computed in double.
inline void CheckStoreContents(const std::string& dir, size_t tokens, bool with_text) {
  const StoreReader reader = StoreReader::Open(dir);
  const StoreShape& s = reader.shape();
  REQUIRE(reader.tokens() == tokens);
  REQUIRE(reader.chunks() == tokens / s.chunk_size);
  CHECK(reader.info().tail_tokens == tokens % s.chunk_size);
  const size_t chunks = reader.chunks() + (tokens % s.chunk_size ? 1 : 0);
  const size_t values = s.landmark_values();
  for (size_t c = 0; c < chunks; ++c) {
    for (size_t h = 0; h < s.kv_heads; ++h) {
      const ChunkKV kv = reader.chunk(c, h);
      REQUIRE(kv.tokens == std::min(s.chunk_size, tokens - c * s.chunk_size));
      std::vector<double> mean(s.head_dim, 0.0), lo(s.head_dim, INFINITY), hi(s.head_dim, -INFINITY);
      for (size_t j = 0; j < kv.tokens; ++j) {
        for (size_t k = 0; k < s.head_dim; ++k) {
          const size_t t = c * s.chunk_size + j;
          const double key = LoadAsF32(kv.keys, s.dtype, j * s.head_dim + k);
          REQUIRE(key == Rounded(TokenValue(t, h, k, 0), s.dtype));
          REQUIRE(LoadAsF32(kv.values, s.dtype, j * s.head_dim + k) == Rounded(TokenValue(t, h, k, 1), s.dtype));
          mean[k] += key / double(s.chunk_size);
          lo[k] = std::min(lo[k], key);
          hi[k] = std::max(hi[k], key);
        }
      }
      if (c >= reader.chunks() || h >= s.landmark_heads) continue;  // the tail has no landmark
      const size_t base = (c * s.landmark_heads + h) * values;
      for (size_t k = 0; k < s.landmark_dim; ++k) {
        const double got = LoadAsF32(reader.landmarks(), s.dtype, base + k);
        if (s.landmark == LandmarkKind::kMean) {
          // f32 accumulation then rounding to the dtype: within one unit of rounding.
          const double ulp = s.dtype == DType::kF32 ? 1e-6 : s.dtype == DType::kF16 ? 1e-3 : 8e-3;
          REQUIRE(std::fabs(got - mean[k]) <= ulp * std::max(1.0, std::fabs(mean[k])));
        } else if (s.landmark == LandmarkKind::kMinMax) {
          REQUIRE(got == lo[k]);
          REQUIRE(LoadAsF32(reader.landmarks(), s.dtype, base + s.landmark_dim + k) == hi[k]);
        } else {
          REQUIRE(got == Rounded(TokenValue(c, h, k, 2), s.dtype));
        }
      }
    }
    if (with_text) {
      std::string expected;
      for (size_t j = 0; j < s.chunk_size && c * s.chunk_size + j < tokens; ++j) expected += TokenText(c * s.chunk_size + j);
      REQUIRE(std::string(reader.text(c)) == expected);
    }
  }
  const auto problems = VerifyStore(dir);
  CAPTURE(problems.size());
  for (const auto& p : problems) CAPTURE(p);
  CHECK(problems.empty());
}

// A small text store (S 8, 2 kv heads × d 16, f16, commits every 2 chunks,
// segments of 5 chunks: roll-overs in every test) to crash and damage.
inline StoreOptions SmallOptions() {
  StoreOptions o;
  o.shape.chunk_size = 8;
  o.shape.kv_heads = 2;
  o.shape.head_dim = 16;
  o.shape.dtype = DType::kF16;
  o.shape.landmark = LandmarkKind::kMean;
  o.text = true;
  o.commit_every = 2;
  o.segment_bytes = 5 * 2 * 4096;
  return o;
}

// Tokens [0, tokens) of SmallOptions() committed in `dir` (7 chunks and a
// tail of 3 by default); returns dir.
inline std::string MakeSmallStore(const TempStoreDir& dir, size_t tokens = 7 * 8 + 3) {
  const StoreOptions options = SmallOptions();
  StoreWriter writer = StoreWriter::Create(dir.str(), options);
  AppendTokens(writer, options.shape, 0, tokens, true);
  writer.Close();
  return dir.str();
}

// Runs body() in a child process; the child writes progress lines to the
// returned pipe. Returns the child's pid.
template <class Body>
inline pid_t Spawn(int& read_fd, const Body& body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    int status = 0;
    try {
      body(fds[1]);
    } catch (const std::exception& e) {
      const std::string message = std::string("error ") + e.what() + "\n";
      [[maybe_unused]] ssize_t n = ::write(fds[1], message.data(), message.size());
      status = 1;
    }
    ::_exit(status);
  }
  ::close(fds[1]);
  read_fd = fds[0];
  return pid;
}

inline std::string ReadAll(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) out.append(buffer, size_t(n));
  ::close(fd);
  return out;
}

}  // namespace landmark::test
