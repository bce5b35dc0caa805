#include "sanad/core/big_vector.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace sanad {
namespace {

// Sanitizer builds keep no cache by default: a reused buffer would hide a
// use after free that munmap turns into a crash.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr size_t kDefaultLimit = 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr size_t kDefaultLimit = 0;
#else
constexpr size_t kDefaultLimit = size_t{4} << 30;
#endif
#else
constexpr size_t kDefaultLimit = size_t{4} << 30;
#endif

struct Cache {
  std::mutex mu;
  std::vector<std::pair<size_t, void*>> free;  // (mapped length, address)
  std::unordered_map<void*, size_t> lent;      // cached buffers handed out for a smaller request
  size_t bytes = 0;
  size_t limit = kDefaultLimit;
  size_t reused = 0;
  size_t mapped = 0;
  size_t mapped_bytes = 0;
};

Cache* NewCache() {
  Cache* c = new Cache();
  // SANAD_BUFFER_CACHE_MB overrides the default limit (0 turns the cache off).
  if (const char* env = std::getenv("SANAD_BUFFER_CACHE_MB"); env != nullptr && *env != '\0')
    c->limit = static_cast<size_t>(std::strtoull(env, nullptr, 10)) << 20;
  return c;
}

Cache& TheCache() {
  static Cache* cache = NewCache();  // never destroyed: buffers may be released during exit
  return *cache;
}

size_t MappedLength(size_t bytes) {
  return (bytes + big_buffer::kHugePage - 1) / big_buffer::kHugePage * big_buffer::kHugePage;
}

// Unmaps cached buffers, largest first, until the cache holds at most `limit`.
void TrimLocked(Cache& c, size_t limit) {
  std::sort(c.free.begin(), c.free.end());
  while (c.bytes > limit && !c.free.empty()) {
    auto [len, p] = c.free.back();
    c.free.pop_back();
    c.bytes -= len;
    munmap(p, len);
  }
}

}  // namespace

namespace big_buffer {

void* Acquire(size_t bytes) {
  const size_t len = MappedLength(bytes);
  Cache& c = TheCache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    // Best fit among cached buffers (resident already). One at most twice
    // the request is lent whole and comes back whole on Release; a larger
    // one gives its tail back to the OS first, so a small long-lived vector
    // never pins a huge mapping.
    size_t best = c.free.size();
    for (size_t i = 0; i < c.free.size(); ++i) {
      const size_t have = c.free[i].first;
      if (have >= len && (best == c.free.size() || have < c.free[best].first)) best = i;
    }
    if (best != c.free.size()) {
      auto [have, p] = c.free[best];
      c.free[best] = c.free.back();
      c.free.pop_back();
      c.bytes -= have;
      ++c.reused;
      if (have > 2 * len) munmap(static_cast<char*>(p) + len, have - len);
      else if (have != len) c.lent[p] = have;
      return p;
    }
    ++c.mapped;
    c.mapped_bytes += len;
  }
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    // Out of address space or memory: drop the cache and try once more.
    ReleaseBigBufferCache();
    p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
  }
  madvise(p, len, MADV_HUGEPAGE);
  return p;
}

void Release(void* p, size_t bytes) noexcept {
  size_t len = MappedLength(bytes);
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (!c.lent.empty()) {
    auto it = c.lent.find(p);
    if (it != c.lent.end()) {
      len = it->second;
      c.lent.erase(it);
    }
  }
  if (len > c.limit) {
    munmap(p, len);
    return;
  }
  try {
    c.free.emplace_back(len, p);
  } catch (...) {
    munmap(p, len);
    return;
  }
  c.bytes += len;
  if (c.bytes > c.limit) TrimLocked(c, c.limit);
}

}  // namespace big_buffer

BigBufferCacheStats GetBigBufferCacheStats() {
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.bytes, c.reused, c.mapped, c.mapped_bytes};
}

size_t BigBufferCacheLimit() {
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.limit;
}

void SetBigBufferCacheLimit(size_t bytes) {
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.limit = bytes;
  TrimLocked(c, bytes);
}

void ReleaseBigBufferCache() {
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  TrimLocked(c, 0);
}

}  // namespace sanad
