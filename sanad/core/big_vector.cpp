#include "sanad/core/big_vector.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <cstdint>
#include <iterator>
#include <map>
#include <set>

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

// Free ranges of mapped memory, kept by address (to merge neighbours) and
// by length (to find the best fit). A request takes the smallest free range
// that holds it and leaves the rest free, so buffers freed by one phase
// (loading, grouping) serve the next phase's requests of any size: fresh
// memory costs a page fault and the kernel's zeroing per page, 4 ms per MB
// on our VMs, where reused memory costs nothing. Adjacent free ranges merge
// (two anonymous mappings that touch are one usable range).
struct Cache {
  std::mutex mu;
  std::map<uintptr_t, size_t> by_address;        // start -> length
  std::set<std::pair<size_t, uintptr_t>> by_size;  // (length, start)
  size_t bytes = 0;
  size_t limit = kDefaultLimit;
  size_t reused = 0;
  size_t mapped = 0;
  size_t mapped_bytes = 0;

  void Insert(uintptr_t start, size_t len) {
    by_address.emplace(start, len);
    by_size.emplace(len, start);
    bytes += len;
  }
  void Erase(std::map<uintptr_t, size_t>::iterator it) {
    by_size.erase({it->second, it->first});
    bytes -= it->second;
    by_address.erase(it);
  }
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

// Unmaps free ranges, largest first, until the cache holds at most `limit`.
void TrimLocked(Cache& c, size_t limit) {
  while (c.bytes > limit && !c.by_size.empty()) {
    auto [len, start] = *c.by_size.rbegin();
    c.Erase(c.by_address.find(start));
    munmap(reinterpret_cast<void*>(start), len);
  }
}

}  // namespace

namespace big_buffer {

void* Acquire(size_t bytes) {
  const size_t len = MappedLength(bytes);
  Cache& c = TheCache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto fit = c.by_size.lower_bound({len, 0});
    if (fit != c.by_size.end()) {
      const auto [have, start] = *fit;
      c.Erase(c.by_address.find(start));
      if (have > len) c.Insert(start + len, have - len);  // the rest stays free
      ++c.reused;
      return reinterpret_cast<void*>(start);
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
  const size_t len = MappedLength(bytes);
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (len > c.limit) {
    munmap(p, len);
    return;
  }
  uintptr_t start = reinterpret_cast<uintptr_t>(p);
  size_t merged = len;
  try {
    // Merge with the free neighbours on either side.
    auto next = c.by_address.lower_bound(start);
    if (next != c.by_address.end() && next->first == start + merged) {
      merged += next->second;
      c.Erase(next);
    }
    auto after = c.by_address.lower_bound(start);
    if (after != c.by_address.begin()) {
      auto prev = std::prev(after);
      if (prev->first + prev->second == start) {
        start = prev->first;
        merged += prev->second;
        c.Erase(prev);
      }
    }
    c.Insert(start, merged);
  } catch (...) {
    munmap(reinterpret_cast<void*>(start), merged);  // the merged neighbours are ours too
    return;
  }
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
