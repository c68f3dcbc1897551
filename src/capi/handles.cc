// The handle table: a handle is an id, never reused, mapped to a shared
// object and its kind. Closed, foreign or forged handles are found out
// instead of dereferenced; a call in flight keeps its object alive.
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "src/capi/capi.h"

namespace landmark::capi {
namespace {

struct Table {
  std::shared_mutex mutex;
  std::unordered_map<uintptr_t, std::pair<Kind, std::shared_ptr<void>>> objects;
  uintptr_t next = 0x10000;
};
Table& TheTable() {
  static Table* table = new Table;  // never destroyed: handles may be closed during exit
  return *table;
}

}  // namespace

const char* Name(Kind kind) {
  switch (kind) {
    case Kind::kArena: return "arena";
    case Kind::kConfig: return "config";
    case Kind::kWriter: return "writer";
    case Kind::kStore: return "store";
    case Kind::kRetriever: return "retriever";
    case Kind::kResult: return "result";
    case Kind::kLlm: return "llm";
    case Kind::kLlmAnswerer: return "llm answerer";
    case Kind::kLlmAnswer: return "llm answer";
    case Kind::kModel: return "model";
  }
  return "?";
}

void* Register(Kind kind, std::shared_ptr<void> object) {
  Table& t = TheTable();
  std::unique_lock lock(t.mutex);
  const uintptr_t id = t.next;
  t.next += 16;  // aligned like a pointer, and never reused
  t.objects.emplace(id, std::make_pair(kind, std::move(object)));
  return reinterpret_cast<void*>(id);
}

std::shared_ptr<void> Lookup(const void* handle, Kind kind, const char* what, bool remove) {
  if (handle == nullptr) Fail(LANDMARK_ERROR_NULL_ARGUMENT, std::string(what) + " is NULL");
  Table& t = TheTable();
  const uintptr_t id = reinterpret_cast<uintptr_t>(handle);
  std::shared_ptr<void> object;
  {
    std::unique_lock lock(t.mutex, std::defer_lock);
    std::shared_lock shared(t.mutex, std::defer_lock);
    if (remove) lock.lock(); else shared.lock();
    const auto it = t.objects.find(id);
    if (it == t.objects.end() || it->second.first != kind) {
      const std::string found = it == t.objects.end() ? "closed (or never opened)"
                                                       : std::string("a ") + Name(it->second.first) + " handle";
      Fail(LANDMARK_ERROR_CLOSED, std::string(what) + ": the " + Name(kind) + " handle is " + found);
    }
    object = it->second.second;
    if (remove) t.objects.erase(it);
  }
  return object;
}

std::shared_ptr<tbb::task_arena> ArenaOf(landmark_arena* arena) {
  if (arena == nullptr) return nullptr;
  return Get<ArenaObject>(arena, "arena")->arena;
}

}  // namespace landmark::capi

using namespace landmark::capi;

extern "C" {

landmark_status landmark_arena_create(size_t threads, landmark_arena** arena) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    NotNull(arena, "arena");
    *arena = nullptr;
    if (threads > 65536) Fail(LANDMARK_ERROR_INVALID_ARGUMENT, "arena: " + std::to_string(threads) + " threads is too many");
    auto object = std::make_shared<ArenaObject>();
    object->threads = threads ? threads : size_t(tbb::this_task_arena::max_concurrency());
    object->arena = std::make_shared<tbb::task_arena>(int(object->threads));
    *arena = Add<ArenaObject, landmark_arena>(object);
  });
}

landmark_status landmark_arena_threads(const landmark_arena* arena, size_t* threads) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] {
    const auto object = Get<ArenaObject>(arena, "arena");
    NotNull(threads, "threads") = object->threads;
  });
}

landmark_status landmark_arena_close(landmark_arena* arena) {
  return Guard(LANDMARK_ERROR_INVALID_ARGUMENT, [&] { Take<ArenaObject>(arena, "arena"); });
}

}  // extern "C"
