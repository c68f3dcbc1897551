// The sharded query (include/landmark/shard.h): broadcast, local top-k,
// allgather of (score, rank, chunk), attention of the chunks each rank
// holds, gather and merge on rank 0. The per-shard steps are the
// retriever's own (src/attention/retriever_shard.h).
#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include "landmark/error.h"
#include "landmark/shard.h"
#include "src/attention/retriever_shard.h"

namespace landmark {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// What each rank tells the others of its shard when the query opens.
struct ShardStatus {
  char error[472] = {0};  // empty: opened
  uint64_t chunks = 0, tokens = 0, tail = 0;
  uint64_t chunk_size = 0, kv_heads = 0, head_dim = 0, landmark_heads = 0, landmark_dim = 0;
  uint32_t dtype = 0, landmark = 0;
};

// One entry of a rank's local top-k.
struct Candidate {
  float score;
  uint32_t rank;
  uint32_t chunk;  // global id
};

template <class T>
void Append(std::vector<float>& buffer, const T& value) {
  static_assert(sizeof(T) % sizeof(float) == 0);
  const size_t at = buffer.size();
  buffer.resize(at + sizeof(T) / sizeof(float));
  std::memcpy(&buffer[at], &value, sizeof(T));
}

}  // namespace

std::string ShardPath(const std::string& prefix, size_t rank) {
  return prefix + fmt::format("/shard-{:05d}", rank);
}

struct ShardedRetriever::Impl {
  Communicator& comm;
  std::unique_ptr<StoreReader> shard;
  std::unique_ptr<ShardEngine> engine;
  ShardLayout layout;
  ShardTimings timings;
  size_t q_heads = 0, d = 0, LH = 0, R = 0;

  explicit Impl(Communicator& c) : comm(c) {}

  // Every rank learns every rank's shard (or why it could not be opened),
  // so that every rank throws the same error.
  void Open(const std::string& prefix, const RetrieverConfig& config) {
    ShardStatus mine;
    const std::string path = ShardPath(prefix, comm.rank());
    try {
      shard = std::make_unique<StoreReader>(StoreReader::Open(path));
      const StoreInfo& info = shard->info();
      const StoreShape& s = info.shape;
      mine.chunks = info.chunks;
      mine.tokens = info.tokens;
      mine.tail = info.tail_tokens;
      mine.chunk_size = s.chunk_size;
      mine.kv_heads = s.kv_heads;
      mine.head_dim = s.head_dim;
      mine.landmark_heads = s.landmark_heads;
      mine.landmark_dim = s.landmark_dim;
      mine.dtype = uint32_t(s.dtype);
      mine.landmark = uint32_t(s.landmark);
    } catch (const std::exception& e) {
      std::snprintf(mine.error, sizeof(mine.error), "%s", e.what());
    }
    std::vector<ShardStatus> all(comm.size());
    comm.Allgather(&mine, sizeof(mine), all.data());
    const size_t ranks = all.size();
    for (size_t r = 0; r < ranks; ++r) {
      LANDMARK_CHECK_ARG(all[r].error[0] == 0, fmt::format("sharded store {}: rank {}: {}", prefix, r, all[r].error));
    }
    const ShardStatus& first = all[0];
    for (size_t r = 0; r < ranks; ++r) {
      const ShardStatus& s = all[r];
      const bool same = s.chunk_size == first.chunk_size && s.kv_heads == first.kv_heads &&
                        s.head_dim == first.head_dim && s.landmark_heads == first.landmark_heads &&
                        s.landmark_dim == first.landmark_dim && s.dtype == first.dtype && s.landmark == first.landmark;
      LANDMARK_CHECK_ARG(same, fmt::format("sharded store {}: {} has another shape than {}", prefix, ShardPath(prefix, r),
                                           ShardPath(prefix, 0)));
    }
    for (size_t r = 0; r < ranks; ++r) {
      const ShardStatus& s = all[r];
      LANDMARK_CHECK_ARG(s.tail == 0 || r + 1 == ranks,
                         fmt::format("sharded store {}: {} ends in a partial chunk of {} tokens; only the last shard "
                                     "may (a sharded ingest splits at chunk boundaries)",
                                     prefix, ShardPath(prefix, r), s.tail));
      if (r < comm.rank()) layout.first_chunk += s.chunks;
      layout.chunks += s.chunks;
      layout.tokens += s.tokens;
    }
    engine = std::make_unique<ShardEngine>(*shard, config, layout);
    const StoreShape& s = shard->shape();
    q_heads = engine->config().q_heads;
    d = s.head_dim;
    LH = s.landmark_heads;
    R = s.landmark_dim;
  }

  // Rank 0's queries to every rank: [M, ok] then q, r, positions, flags.
  std::vector<RetrievalQuery> Broadcast(const std::vector<RetrievalQuery>& given, std::vector<float>& q,
                                        std::vector<float>& r, std::vector<uint64_t>& positions,
                                        std::vector<uint8_t>& flags) {
    uint64_t header[2] = {0, 1};
    if (comm.rank() == 0) {
      header[0] = given.size();
      for (const RetrievalQuery& query : given) header[1] &= query.q != nullptr;
    }
    comm.Broadcast(header, sizeof(header), 0);
    LANDMARK_CHECK_ARG(header[1] == 1, "sharded query: a query q is null (on rank 0)");
    const size_t M = header[0], q_size = q_heads * d, r_size = LH * R;
    q.assign(M * q_size, 0.0f);
    r.assign(M * r_size, 0.0f);
    positions.assign(M, kLastPosition);
    flags.assign(M, 0);
    if (comm.rank() == 0) {
      for (size_t i = 0; i < M; ++i) {
        std::copy_n(given[i].q, q_size, &q[i * q_size]);
        if (given[i].r) std::copy_n(given[i].r, r_size, &r[i * r_size]);
        positions[i] = given[i].position;
        flags[i] = uint8_t((given[i].r ? 1 : 0) | (given[i].past_store ? 2 : 0));
      }
    }
    comm.Broadcast(q.data(), q.size() * sizeof(float), 0);
    comm.Broadcast(r.data(), r.size() * sizeof(float), 0);
    comm.Broadcast(positions.data(), M * sizeof(uint64_t), 0);
    comm.Broadcast(flags.data(), M, 0);
    if (comm.rank() == 0) timings.bytes_sent += (comm.size() - 1) * (sizeof(header) + M * (q_size + r_size) * 4 + M * 9);
    std::vector<RetrievalQuery> queries(M);
    for (size_t i = 0; i < M; ++i) {
      queries[i].q = &q[i * q_size];
      queries[i].r = flags[i] & 1 ? &r[i * r_size] : nullptr;
      queries[i].position = size_t(positions[i]);
      queries[i].past_store = (flags[i] & 2) != 0;
    }
    return queries;
  }

  // Local top-k lists → the global selection of every query (on every rank).
  std::vector<Selection> Agree(const std::vector<Selection>& local) {
    const size_t M = local.size(), k = engine->config().top_k, ranks = comm.size();
    const size_t per_rank = M * LH * (k + 1);  // per (query, head): a count, then k candidates
    std::vector<Candidate> send(per_rank, Candidate{0.0f, uint32_t(comm.rank()), 0});
    for (size_t i = 0; i < M; ++i) {
      for (size_t h = 0; h < LH; ++h) {
        Candidate* slot = &send[(i * LH + h) * (k + 1)];
        const std::vector<ScoredChunk>& chosen = local[i][h];
        LANDMARK_ASSERT(chosen.size() <= k);
        slot[0].chunk = uint32_t(chosen.size());
        for (size_t j = 0; j < chosen.size(); ++j) slot[1 + j] = {chosen[j].score, uint32_t(comm.rank()), chosen[j].chunk};
      }
    }
    std::vector<Candidate> all(ranks * per_rank);
    comm.Allgather(send.data(), per_rank * sizeof(Candidate), all.data());
    timings.bytes_sent += per_rank * sizeof(Candidate);
    std::vector<Selection> global(M, Selection(LH));
    for (size_t i = 0; i < M; ++i) {
      for (size_t h = 0; h < LH; ++h) {
        std::vector<ScoredChunk>& chosen = global[i][h];
        for (size_t rank = 0; rank < ranks; ++rank) {
          const Candidate* slot = &all[rank * per_rank + (i * LH + h) * (k + 1)];
          for (size_t j = 0; j < slot[0].chunk; ++j) chosen.push_back({slot[1 + j].score, slot[1 + j].chunk});
        }
        KeepBest(chosen, k);
      }
    }
    return global;
  }

  // A partial as floats (sizes known to every rank from the selection).
  static void Pack(const ShardPartial& p, std::vector<float>& buffer) {
    for (const std::vector<float>* part : {&p.out, &p.lse, &p.local_out, &p.local_lse}) {
      buffer.insert(buffer.end(), part->begin(), part->end());
    }
    for (const std::vector<float>& s : p.selected_lse) buffer.insert(buffer.end(), s.begin(), s.end());
    Append(buffer, p.bytes_touched);
  }

  // Unpacks into `p`, sized like `like`; returns the floats read.
  static size_t Unpack(const float* data, const ShardPartial& like, ShardPartial& p) {
    const float* at = data;
    auto take = [&](const std::vector<float>& shape, std::vector<float>& out) {
      out.assign(at, at + shape.size());
      at += shape.size();
    };
    take(like.out, p.out);
    take(like.lse, p.lse);
    take(like.local_out, p.local_out);
    take(like.local_lse, p.local_lse);
    p.selected_lse.resize(like.selected_lse.size());
    for (size_t s = 0; s < like.selected_lse.size(); ++s) take(like.selected_lse[s], p.selected_lse[s]);
    std::memcpy(&p.bytes_touched, at, sizeof(p.bytes_touched));
    at += sizeof(p.bytes_touched) / sizeof(float);
    return size_t(at - data);
  }

  std::vector<RetrievalResult> Query(const std::vector<RetrievalQuery>& given) {
    timings = ShardTimings{};
    const Clock::time_point t0 = Clock::now();
    std::vector<float> q, r;
    std::vector<uint64_t> positions;
    std::vector<uint8_t> flags;
    const std::vector<RetrievalQuery> queries = Broadcast(given, q, r, positions, flags);
    const size_t M = queries.size();
    const Clock::time_point t1 = Clock::now();
    std::vector<Selection> local(M);
    for (size_t i = 0; i < M; ++i) local[i] = engine->SelectLocal(queries[i]);
    const Clock::time_point t2 = Clock::now();
    const std::vector<Selection> selected = Agree(local);
    const Clock::time_point t3 = Clock::now();
    std::vector<ShardPartial> mine(M);
    std::vector<float> send;
    for (size_t i = 0; i < M; ++i) {
      mine[i] = engine->AttendLocal(queries[i], selected[i]);
      Pack(mine[i], send);
    }
    const Clock::time_point t4 = Clock::now();
    const size_t ranks = comm.size();
    std::vector<float> all(comm.rank() == 0 ? ranks * send.size() : 0);
    comm.Gather(send.data(), send.size() * sizeof(float), all.data(), 0);
    timings.bytes_sent += send.size() * sizeof(float);
    const Clock::time_point t5 = Clock::now();
    std::vector<RetrievalResult> results;
    if (comm.rank() == 0) {
      std::vector<std::vector<ShardPartial>> partials(M, std::vector<ShardPartial>(ranks));
      for (size_t rank = 0; rank < ranks; ++rank) {
        const float* at = &all[rank * send.size()];
        for (size_t i = 0; i < M; ++i) at += Unpack(at, mine[i], partials[i][rank]);
      }
      for (size_t i = 0; i < M; ++i) results.push_back(engine->Combine(queries[i], selected[i], partials[i]));
    }
    const Clock::time_point t6 = Clock::now();
    timings.broadcast = Seconds(t0, t1);
    timings.select = Seconds(t1, t2);
    timings.allgather = Seconds(t2, t3);
    timings.attend = Seconds(t3, t4);
    timings.gather = Seconds(t4, t5);
    timings.combine = Seconds(t5, t6);
    timings.total = Seconds(t0, t6);
    return results;
  }
};

ShardedRetriever::ShardedRetriever(const std::string& prefix, const RetrieverConfig& config, Communicator& comm)
    : impl_(std::make_unique<Impl>(comm)) {
  impl_->Open(prefix, config);
}

ShardedRetriever::~ShardedRetriever() = default;

std::vector<RetrievalResult> ShardedRetriever::QueryBatch(const std::vector<RetrievalQuery>& queries) {
  return impl_->Query(queries);
}

const StoreReader& ShardedRetriever::shard() const { return *impl_->shard; }
size_t ShardedRetriever::first_chunk() const { return impl_->layout.first_chunk; }
size_t ShardedRetriever::chunks() const { return impl_->layout.chunks; }
size_t ShardedRetriever::tokens() const { return impl_->layout.tokens; }
const RetrieverConfig& ShardedRetriever::config() const { return impl_->engine->config(); }
Communicator& ShardedRetriever::communicator() const { return impl_->comm; }
const ShardTimings& ShardedRetriever::timings() const { return impl_->timings; }

}  // namespace landmark
