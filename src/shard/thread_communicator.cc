// Ranks as threads of one process: each collective writes this rank's
// bytes into a shared slot, waits for every rank, reads, and waits again
// (so that no slot is overwritten while another rank still reads it).
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "landmark/error.h"
#include "landmark/shard.h"

namespace landmark {
namespace {

struct Group {
  explicit Group(size_t n) : size(n), slots(n) {}
  const size_t size;
  std::mutex mutex;
  std::condition_variable changed;
  size_t arrived = 0, generation = 0;
  std::vector<std::vector<char>> slots;

  void Wait() {
    std::unique_lock<std::mutex> lock(mutex);
    const size_t mine = generation;
    if (++arrived == size) {
      arrived = 0;
      ++generation;
      changed.notify_all();
      return;
    }
    changed.wait(lock, [&] { return generation != mine; });
  }
};

class ThreadCommunicator final : public Communicator {
 public:
  ThreadCommunicator(std::shared_ptr<Group> group, size_t rank) : group_(std::move(group)), rank_(rank) {}
  size_t rank() const override { return rank_; }
  size_t size() const override { return group_->size; }

  void Broadcast(void* data, size_t bytes, size_t root) override {
    if (rank_ == root) Put(data, bytes);
    group_->Wait();
    if (rank_ != root) std::memcpy(data, group_->slots[root].data(), bytes);
    group_->Wait();
  }

  void Allgather(const void* send, size_t bytes, void* receive) override { Collect(send, bytes, receive, true); }

  void Gather(const void* send, size_t bytes, void* receive, size_t root) override {
    Collect(send, bytes, receive, rank_ == root);
  }

  void Barrier() override { group_->Wait(); }

 private:
  void Put(const void* data, size_t bytes) {
    std::vector<char>& slot = group_->slots[rank_];
    slot.resize(bytes);
    if (bytes) std::memcpy(slot.data(), data, bytes);
  }

  void Collect(const void* send, size_t bytes, void* receive, bool take) {
    Put(send, bytes);
    group_->Wait();
    if (take) {
      for (size_t r = 0; r < group_->size; ++r) {
        LANDMARK_ASSERT(group_->slots[r].size() == bytes);
        if (bytes) std::memcpy(static_cast<char*>(receive) + r * bytes, group_->slots[r].data(), bytes);
      }
    }
    group_->Wait();
  }

  std::shared_ptr<Group> group_;
  size_t rank_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> ThreadCommunicators(size_t n) {
  LANDMARK_CHECK_ARG(n > 0, "ThreadCommunicators: at least one rank");
  auto group = std::make_shared<Group>(n);
  std::vector<std::unique_ptr<Communicator>> ranks;
  for (size_t r = 0; r < n; ++r) ranks.push_back(std::make_unique<ThreadCommunicator>(group, r));
  return ranks;
}

}  // namespace landmark
