#include "src/store/format.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "landmark/error.h"
#include "landmark/version.h"

namespace landmark {

using nlohmann::json;

const char* Name(LandmarkKind kind) {
  switch (kind) {
    case LandmarkKind::kLearned: return "learned";
    case LandmarkKind::kMean: return "mean";
    case LandmarkKind::kMinMax: return "minmax";
  }
  return "invalid";
}

LandmarkKind ParseLandmarkKind(std::string_view name, std::string_view what) {
  for (LandmarkKind k : {LandmarkKind::kLearned, LandmarkKind::kMean, LandmarkKind::kMinMax}) {
    if (name == Name(k)) return k;
  }
  LANDMARK_THROW(std::string(what) + ": unknown landmark kind '" + std::string(name) +
                 "' (expected learned, mean or minmax)");
}

void StoreShape::Validate() {
  auto positive = [](size_t value, size_t limit, const char* what) {
    LANDMARK_CHECK_ARG(value >= 1 && value <= limit, std::string("store shape: ") + what + " = " +
                                                         std::to_string(value) + " (must be 1.." +
                                                         std::to_string(limit) + ")");
  };
  positive(chunk_size, 1 << 16, "chunk size");
  positive(kv_heads, 1 << 12, "kv heads");
  positive(head_dim, 1 << 14, "head dim");
  if (landmark == LandmarkKind::kLearned) {
    positive(landmark_heads, 1 << 12, "landmark heads (required for learned landmarks)");
    positive(landmark_dim, 1 << 14, "landmark dim (required for learned landmarks)");
  } else {
    if (landmark_heads == 0) landmark_heads = kv_heads;
    if (landmark_dim == 0) landmark_dim = head_dim;
    LANDMARK_CHECK_ARG(landmark_heads == kv_heads && landmark_dim == head_dim,
                       std::string("store shape: ") + Name(landmark) +
                           " landmarks have one head per kv head and R = head dim");
  }
}

size_t StoreShape::landmark_values() const {
  return landmark == LandmarkKind::kMinMax ? 2 * landmark_dim : landmark_dim;
}
size_t StoreShape::landmark_bytes_per_chunk() const {
  return landmark_heads * landmark_values() * SizeOf(dtype);
}
size_t StoreShape::kv_bytes() const { return 2 * chunk_size * head_dim * SizeOf(dtype); }
size_t StoreShape::record_bytes() const {
  return (kv_bytes() + store::kRecordAlign - 1) / store::kRecordAlign * store::kRecordAlign;
}

namespace store {
namespace {

std::string Hex(uint64_t x) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016" PRIx64, x);
  return buffer;
}

uint64_t FromHex(const std::string& s, const std::string& path) {
  LANDMARK_CHECK_ARG(s.size() == 16 && s.find_first_not_of("0123456789abcdef") == std::string::npos,
                     path + ": bad checksum '" + s + "'");
  return std::stoull(s, nullptr, 16);
}

// Reads a required field, turning nlohmann's exceptions into one naming the file.
template <class T>
T Field(const json& j, const char* key, const std::string& path) {
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    LANDMARK_THROW(path + ": missing or mistyped field '" + key + "'");
  }
}

void FsyncOrThrow(int fd, const std::string& what) {
  if (::fsync(fd) != 0) LANDMARK_THROW(what + ": fsync failed: " + std::strerror(errno));
}

}  // namespace

std::string SegmentName(size_t index) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "kv-%06zu.bin", index);
  return buffer;
}

std::string TailName(uint64_t commit) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "tail-%06" PRIu64 ".bin", commit);
  return buffer;
}

std::string AppendAttachmentName(const std::string& name) { return "att-" + name + ".bin"; }

std::string ReplaceAttachmentName(const std::string& name, uint64_t commit) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "-%06" PRIu64 ".bin", commit);
  return "att-" + name + buffer;
}

void CheckAttachmentName(std::string_view name, const std::string& where) {
  LANDMARK_CHECK_ARG(!name.empty() && name.size() <= 64 &&
                         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string_view::npos,
                     where + ": attachment name '" + std::string(name) + "' must be 1-64 of [a-z0-9_-]");
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

size_t ChunksPerSegment(const StoreShape& shape, size_t segment_bytes) {
  return std::max<size_t>(1, segment_bytes / (shape.kv_heads * shape.record_bytes()));
}

uint64_t Manifest::tail_kv_bytes() const {
  return uint64_t(shape.kv_heads) * 2 * tail_tokens * shape.head_dim * SizeOf(shape.dtype);
}

std::string Manifest::ToJson() const {
  json files_json = json::object();
  for (const auto& [name, entry] : files) {
    json regions = json::array();
    for (const Region& r : entry.regions) {
      regions.push_back({{"offset", r.offset}, {"bytes", r.bytes}, {"xxh3", Hex(r.xxh3)}});
    }
    files_json[name] = {{"bytes", entry.bytes}, {"regions", regions}};
  }
  json attachments_json = json::object();
  for (const auto& [name, a] : attachments) {
    attachments_json[name] = {{"kind", a.replace ? "replace" : "append"}, {"file", a.file}};
  }
  const json j = {
      {"format", kFormatName},
      {"version", kFormatVersion},
      {"shape",
       {{"chunk_size", shape.chunk_size},
        {"kv_heads", shape.kv_heads},
        {"head_dim", shape.head_dim},
        {"dtype", Name(shape.dtype)},
        {"landmark", Name(shape.landmark)},
        {"landmark_heads", shape.landmark_heads},
        {"landmark_dim", shape.landmark_dim}}},
      {"record_bytes", shape.record_bytes()},
      {"segment_bytes", segment_bytes},
      {"chunks_per_segment", chunks_per_segment},
      {"commit_every", commit_every},
      {"text", text},
      {"commit", commit},
      {"chunks", chunks},
      {"tail_tokens", tail_tokens},
      {"tail_text_bytes", tail_text_bytes},
      {"files", files_json},
      {"attachments", attachments_json},
      {"created", created},
      {"creator", creator},
      {"metadata", metadata},
  };
  return j.dump(2) + "\n";
}

Manifest Manifest::Parse(const std::string& text, const std::string& path) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    LANDMARK_THROW(path + ": not valid JSON (" + std::string(e.what()) + "); truncated or corrupted?");
  }
  LANDMARK_CHECK_ARG(j.is_object() && j.value("format", "") == kFormatName,
                     path + ": not a landmark store manifest");
  const int version = Field<int>(j, "version", path);
  LANDMARK_CHECK_ARG(version == kFormatVersion, path + ": unknown format version " +
                                                    std::to_string(version) + " (this landmark reads version " +
                                                    std::to_string(kFormatVersion) + ")");
  Manifest m;
  try {
    const json& s = j.at("shape");
    m.shape.chunk_size = Field<size_t>(s, "chunk_size", path);
    m.shape.kv_heads = Field<size_t>(s, "kv_heads", path);
    m.shape.head_dim = Field<size_t>(s, "head_dim", path);
    m.shape.dtype = ParseDType(Field<std::string>(s, "dtype", path), path + ": dtype");
    m.shape.landmark = ParseLandmarkKind(Field<std::string>(s, "landmark", path), path + ": landmark");
    m.shape.landmark_heads = Field<size_t>(s, "landmark_heads", path);
    m.shape.landmark_dim = Field<size_t>(s, "landmark_dim", path);
  } catch (const json::exception&) {
    LANDMARK_THROW(path + ": missing or mistyped 'shape'");
  }
  try {
    m.shape.Validate();
  } catch (const Error& e) {
    LANDMARK_THROW(path + ": " + e.what());
  }
  m.segment_bytes = Field<size_t>(j, "segment_bytes", path);
  m.chunks_per_segment = Field<size_t>(j, "chunks_per_segment", path);
  m.commit_every = j.value("commit_every", size_t(1024));
  m.text = Field<bool>(j, "text", path);
  m.commit = Field<uint64_t>(j, "commit", path);
  m.chunks = Field<size_t>(j, "chunks", path);
  m.tail_tokens = Field<size_t>(j, "tail_tokens", path);
  m.tail_text_bytes = Field<uint64_t>(j, "tail_text_bytes", path);
  m.created = j.value("created", "");
  m.creator = j.value("creator", "");
  if (j.contains("metadata") && j["metadata"].is_object()) {
    for (const auto& [key, value] : j["metadata"].items()) {
      m.metadata[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  const size_t record = Field<size_t>(j, "record_bytes", path);
  LANDMARK_CHECK_ARG(record == m.shape.record_bytes(),
                     path + ": record_bytes " + std::to_string(record) + " disagrees with the shape");
  LANDMARK_CHECK_ARG(m.chunks_per_segment == ChunksPerSegment(m.shape, m.segment_bytes),
                     path + ": chunks_per_segment disagrees with segment_bytes");
  LANDMARK_CHECK_ARG(m.tail_tokens < m.shape.chunk_size,
                     path + ": tail of " + std::to_string(m.tail_tokens) + " tokens is not shorter than a chunk");
  LANDMARK_CHECK_ARG(m.chunks <= (uint64_t(1) << 40), path + ": implausible chunk count");

  const json* files = j.contains("files") ? &j["files"] : nullptr;
  LANDMARK_CHECK_ARG(files && files->is_object(), path + ": missing 'files'");
  for (const auto& [name, entry] : files->items()) {
    FileEntry f;
    f.bytes = Field<uint64_t>(entry, "bytes", path);
    uint64_t covered = 0;
    for (const json& r : entry.value("regions", json::array())) {
      Region region{Field<uint64_t>(r, "offset", path), Field<uint64_t>(r, "bytes", path),
                    FromHex(Field<std::string>(r, "xxh3", path), path)};
      LANDMARK_CHECK_ARG(region.offset == covered, path + ": " + name + " regions are not contiguous");
      covered += region.bytes;
      f.regions.push_back(region);
    }
    LANDMARK_CHECK_ARG(covered == f.bytes, path + ": " + name + " regions do not cover its " +
                                               std::to_string(f.bytes) + " bytes");
    m.files[name] = std::move(f);
  }

  if (j.contains("attachments")) {
    const json& a = j["attachments"];
    LANDMARK_CHECK_ARG(a.is_object(), path + ": 'attachments' must be an object");
    for (const auto& [name, entry] : a.items()) {
      CheckAttachmentName(name, path);
      Attachment att;
      const std::string kind = Field<std::string>(entry, "kind", path);
      LANDMARK_CHECK_ARG(kind == "append" || kind == "replace",
                         path + ": attachment " + name + " has kind '" + kind + "' (append or replace)");
      att.replace = kind == "replace";
      att.file = Field<std::string>(entry, "file", path);
      LANDMARK_CHECK_ARG(att.replace ? att.file.rfind("att-" + name + "-", 0) == 0 : att.file == AppendAttachmentName(name),
                         path + ": attachment " + name + " names the file '" + att.file + "'");
      m.attachments[name] = att;
    }
  }

  // Every expected file, with the size the counts imply, and nothing else.
  std::map<std::string, uint64_t> expected;
  for (const auto& [name, a] : m.attachments) {
    expected[a.file] = m.files.count(a.file) ? m.files[a.file].bytes : 0;  // any size
  }
  expected[kLandmarks] = uint64_t(m.chunks) * m.shape.landmark_bytes_per_chunk();
  for (size_t s = 0; s < m.segments(); ++s) {
    const size_t in_segment = std::min(m.chunks - s * m.chunks_per_segment, m.chunks_per_segment);
    expected[SegmentName(s)] = uint64_t(in_segment) * m.shape.kv_heads * m.shape.record_bytes();
  }
  if (m.text) {
    expected[kTextIndex] = uint64_t(m.chunks) * 8;
    expected[kText] = m.files.count(kText) ? m.files[kText].bytes : 0;  // any size
  } else {
    LANDMARK_CHECK_ARG(m.tail_text_bytes == 0, path + ": tail text in a store without text");
  }
  if (m.tail_tokens) expected[m.tail_name()] = m.tail_kv_bytes() + m.tail_text_bytes;
  for (const auto& [name, bytes] : expected) {
    const auto it = m.files.find(name);
    LANDMARK_CHECK_ARG(it != m.files.end(), path + ": lists no entry for " + name);
    LANDMARK_CHECK_ARG(it->second.bytes == bytes, path + ": " + name + " is listed with " +
                                                      std::to_string(it->second.bytes) + " bytes, the counts imply " +
                                                      std::to_string(bytes));
  }
  for (const auto& [name, entry] : m.files) {
    LANDMARK_CHECK_ARG(expected.count(name), path + ": lists an unexpected file " + name);
  }
  return m;
}

Manifest Manifest::Read(const std::string& dir) {
  const std::string path = JoinPath(dir, kManifest);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::ifstream probe(dir);
    LANDMARK_CHECK_ARG(probe.good() || errno != ENOENT, dir + ": no such store directory");
    LANDMARK_THROW(dir + ": not a landmark store (no readable " + kManifest + ")");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  LANDMARK_CHECK_ARG(in.good() || in.eof(), path + ": read failed");
  LANDMARK_CHECK_ARG(!buffer.str().empty(), path + ": empty (truncated?)");
  return Parse(buffer.str(), path);
}

void Manifest::WriteAtomic(const std::string& dir) const {
  const std::string path = JoinPath(dir, kManifest), tmp = path + ".tmp";
  const std::string text = ToJson();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  LANDMARK_CHECK_ARG(fd >= 0, tmp + ": cannot create: " + std::strerror(errno));
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      LANDMARK_THROW(tmp + ": write failed: " + std::strerror(e));
    }
    written += size_t(n);
  }
  FsyncOrThrow(fd, tmp);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    LANDMARK_THROW(path + ": rename failed: " + std::strerror(e));
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  LANDMARK_CHECK_ARG(dir_fd >= 0, dir + ": cannot open directory: " + std::strerror(errno));
  FsyncOrThrow(dir_fd, dir);
  ::close(dir_fd);
}

StoreInfo Manifest::Info(const std::string& dir) const {
  StoreInfo info;
  info.path = dir;
  info.shape = shape;
  info.commit = commit;
  info.chunks = chunks;
  info.tail_tokens = tail_tokens;
  info.tokens = chunks * shape.chunk_size + tail_tokens;
  info.segments = segments();
  info.segment_bytes = segment_bytes;
  for (const auto& [name, entry] : files) {
    if (name.rfind("kv-", 0) == 0) info.kv_bytes += entry.bytes;
  }
  info.landmark_bytes = files.count(kLandmarks) ? files.at(kLandmarks).bytes : 0;
  info.has_text = text;
  info.text_bytes = (text && files.count(kText) ? files.at(kText).bytes : 0) + tail_text_bytes;
  info.created = created;
  info.creator = creator;
  info.metadata = metadata;
  return info;
}

}  // namespace store

std::string StoreInfo::ToJson() const {
  const json j = {{"path", path},
                  {"chunk_size", shape.chunk_size},
                  {"kv_heads", shape.kv_heads},
                  {"head_dim", shape.head_dim},
                  {"dtype", Name(shape.dtype)},
                  {"landmark", Name(shape.landmark)},
                  {"landmark_heads", shape.landmark_heads},
                  {"landmark_dim", shape.landmark_dim},
                  {"commit", commit},
                  {"chunks", chunks},
                  {"tokens", tokens},
                  {"tail_tokens", tail_tokens},
                  {"segments", segments},
                  {"segment_bytes", segment_bytes},
                  {"kv_bytes", kv_bytes},
                  {"landmark_bytes", landmark_bytes},
                  {"text", has_text},
                  {"text_bytes", text_bytes},
                  {"created", created},
                  {"creator", creator},
                  {"metadata", metadata}};
  return j.dump(2);
}

std::string StoreInfo::ToText() const {
  auto bytes = [](uint64_t b) {
    char buffer[32];
    if (b >= (uint64_t(1) << 30)) {
      std::snprintf(buffer, sizeof(buffer), "%.2f GiB", double(b) / double(1 << 30));
    } else if (b >= (uint64_t(1) << 20)) {
      std::snprintf(buffer, sizeof(buffer), "%.1f MiB", double(b) / double(1 << 20));
    } else if (b >= 1024) {
      std::snprintf(buffer, sizeof(buffer), "%.1f KiB", double(b) / 1024);
    } else {
      std::snprintf(buffer, sizeof(buffer), "%" PRIu64 " B", b);
    }
    return std::string(buffer);
  };
  std::ostringstream s;
  s << "store      " << path << "\n"
    << "tokens     " << tokens << " (" << chunks << " chunks of " << shape.chunk_size << " + a tail of "
    << tail_tokens << ")\n"
    << "kv         " << shape.kv_heads << " heads × d " << shape.head_dim << ", " << Name(shape.dtype)
    << ", " << bytes(kv_bytes) << " in " << segments << " segment" << (segments == 1 ? "" : "s")
    << " (roll-over " << bytes(segment_bytes) << ")\n"
    << "landmarks  " << Name(shape.landmark) << ", " << shape.landmark_heads << " heads × R "
    << shape.landmark_dim << ", " << bytes(landmark_bytes) << "\n"
    << "text       " << (has_text ? bytes(text_bytes) : std::string("not stored")) << "\n"
    << "commit     " << commit << "\n"
    << "created    " << created << " by " << creator << "\n";
  for (const auto& [key, value] : metadata) s << "  " << key << ": " << value << "\n";
  return s.str();
}

}  // namespace landmark
