// `landmark ingest --shards N`: one tensor input split into N shards of
// whole chunks (balanced; the last shard keeps the partial chunk).
#include <fmt/core.h>

#include <cstdio>
#include <string>

#include "landmark/error.h"
#include "landmark/ingest.h"
#include "landmark/shard.h"
#include "landmark/store.h"
#include "src/io/tensor_file.h"
#include "apps/cli/commands.h"
#include "apps/cli/format.h"

namespace landmark::cli {

void RunShardedIngest(const std::string& prefix, const std::string& keys, const std::string& values,
                      const std::string& landmarks, size_t shards, const StoreOptions& options) {
  const TensorFile k = TensorFile::Open(keys);
  k.CheckRank(3, "keys");
  const size_t n = k.shape()[0], S = options.shape.chunk_size, chunks = n / S;
  LANDMARK_CHECK_ARG(shards <= std::max<size_t>(1, chunks),
                     fmt::format("ingest: --shards {} is more than the {} complete chunks of {}", shards, chunks, keys));
  for (size_t i = 0; i < shards; ++i) {
    const size_t first = i * chunks / shards * S, end = i + 1 == shards ? n : (i + 1) * chunks / shards * S;
    const std::string dir = ShardPath(prefix, i);
    StoreWriter writer = StoreWriter::Create(dir, options);
    TensorIngestOptions o;
    o.keys = keys;
    o.values = values;
    o.landmarks = landmarks;
    o.first_token = first;
    o.end_token = end;
    IngestTensors(writer, o);
    writer.Close();
    const StoreInfo info = ReadStoreInfo(dir);
    std::printf("%s: tokens [%zu, %zu): %zu chunks (global %zu..%zu) + a tail of %zu, %s of K/V\n", dir.c_str(), first,
                end, info.chunks, first / S, first / S + info.chunks, info.tail_tokens,
                Bytes(double(info.kv_bytes)).c_str());
  }
  std::printf("%s: %zu shards, %zu tokens; query with `mpirun -np %zu landmark query --sharded %s ...`\n",
              prefix.c_str(), shards, n, shards, prefix.c_str());
}

}  // namespace landmark::cli
