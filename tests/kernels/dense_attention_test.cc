// Dense decode against the exact reference: lengths, GQA groups, dtypes,
// head dims, layouts, and bad arguments of decode and prefill (the prefill
// kernel's own cases: causal_prefill_test.cc).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "src/kernels/dense_attention.h"
#include "landmark/error.h"
#include "tests/reference/attention_reference.h"
#include "tests/test_util.h"

namespace landmark {
namespace {

const size_t kLengths[] = {0, 1, 3, 7, 16, 63, 64, 65, 1000, 4099};

struct DecodeCase {
  size_t n = 64, kv_heads = 2, group = 4, d = 64;
  DType dtype = DType::kF32;
  bool head_major = false;  // [heads][n][d] instead of [n][heads][d]
  size_t page = 0;          // > 0: paged like the store, [page][head][page×d + pad]
};

void CheckDecode(const DecodeCase& c, bool all_targets = true) {
  CAPTURE(c.n);
  CAPTURE(c.group);
  CAPTURE(c.d);
  const std::string dtype_name = Name(c.dtype);
  CAPTURE(dtype_name);
  CAPTURE(c.head_major);
  CAPTURE(c.page);
  const size_t q_heads = c.kv_heads * c.group;
  const size_t pad = 8, page_stride = c.kv_heads * (c.page * c.d + pad);
  const size_t elements = c.page ? (c.n + c.page - 1) / c.page * page_stride : c.n * c.kv_heads * c.d;
  const auto q = test::RandomNormal(q_heads * c.d, c.n + 1);
  const auto k = test::Store(test::RandomNormal(elements, c.n + 2), c.dtype, 1);
  const auto v = test::Store(test::RandomNormal(elements, c.n + 3), c.dtype, 2);
  KVSequence kv = KVSequence::TokenMajor(k.data(), v.data(), c.dtype, c.n, c.kv_heads, c.d);
  if (c.head_major) {
    kv.token_stride = c.d;
    kv.head_stride = c.n * c.d;
  }
  if (c.page) {
    kv.token_stride = c.d;
    kv.head_stride = c.page * c.d + pad;
    kv.page_tokens = c.page;
    kv.page_stride = page_stride;
  }
  auto offset = [&](size_t t, size_t h) {  // where the layout puts (t, h), written out
    return c.page ? (t / c.page) * page_stride + (t % c.page) * c.d + h * (c.page * c.d + pad)
                  : t * kv.token_stride + h * kv.head_stride;
  };
  std::vector<double> expected(q_heads * c.d), expected_lse(q_heads);
  std::vector<double> K(c.n * c.d), V(c.n * c.d);
  for (size_t h = 0; h < q_heads; ++h) {
    const size_t kv_head = h / c.group;
    for (size_t t = 0; t < c.n; ++t) {
      for (size_t i = 0; i < c.d; ++i) {
        K[t * c.d + i] = k.values[offset(t, kv_head) + i];
        V[t * c.d + i] = v.values[offset(t, kv_head) + i];
      }
    }
    reference::Attention(test::ToDouble(q).data() + h * c.d, K.data(), V.data(), c.n, c.d,
                         1.0 / std::sqrt(double(c.d)), false, &expected[h * c.d], &expected_lse[h]);
  }
  test::OnTargets(all_targets, [&] {
    std::vector<float> out(q_heads * c.d, -1.0f), lse(q_heads, -1.0f);
    DenseDecode(q.data(), q_heads, kv, out.data(), lse.data());
    test::CheckAttention(out, expected, lse, expected_lse);
  });
}

TEST_CASE("DenseDecode: lengths × GQA groups (split into parallel key ranges when long)") {
  for (size_t n : kLengths) {
    for (size_t group : {1, 4, 8}) {
      DecodeCase c;
      c.n = n;
      c.group = group;
      CheckDecode(c);
    }
  }
  DecodeCase long_case;  // 5 splits of >= 4096 keys, merged by LSE
  long_case.n = 20000;
  long_case.kv_heads = 1;
  CheckDecode(long_case, false);
}

TEST_CASE("DenseDecode: paged layouts (the store's records) with ragged last pages") {
  for (size_t n : {1, 63, 64, 65, 5000, 20000}) {
    for (DType dtype : test::kAllDTypes) {
      DecodeCase c;
      c.n = n;
      c.page = 64;
      c.dtype = dtype;
      CheckDecode(c, n <= 65);
    }
  }
  DecodeCase odd;
  odd.n = 1000;
  odd.page = 7;
  CheckDecode(odd);
}

TEST_CASE("DenseDecode: dtypes × head dims × layouts") {
  for (DType dtype : test::kAllDTypes) {
    for (size_t d : {64, 80, 96, 128, 256}) {
      for (bool head_major : {false, true}) {
        DecodeCase c;
        c.n = 300;
        c.dtype = dtype;
        c.d = d;
        c.head_major = head_major;
        CheckDecode(c, d == 64 || d == 80);
      }
    }
  }
}

TEST_CASE("Dense attention rejects bad shapes with a message") {
  std::vector<float> data(64 * 8, 0.0f), out(64 * 8);
  const KVSequence kv = KVSequence::TokenMajor(data.data(), data.data(), DType::kF32, 4, 3, 16);
  CHECK_THROWS_WITH_AS(DenseDecode(data.data(), 4, kv, out.data()),
                       doctest::Contains("multiple of kv heads"), Error);
  CHECK_THROWS_AS(CausalPrefill(data.data(), 4, kv, out.data()), Error);
  KVSequence null_kv = kv;
  null_kv.k = nullptr;
  CHECK_THROWS_AS(DenseDecode(data.data(), 3, null_kv, out.data()), Error);
  PrefillOptions zero_block;
  zero_block.block = 0;
  CHECK_THROWS_AS(CausalPrefill(data.data(), 3, kv, out.data(), nullptr, zero_block), Error);
}

}  // namespace
}  // namespace landmark
