#pragma once
/// BigVector<T>: std::vector whose large buffers (>= 4 MiB) come straight
/// from mmap with MADV_HUGEPAGE. Evaluation touches arrays of millions of
/// entries in random order (per-group state, hash tables, scatter targets);
/// 2 MiB pages cut first-touch page faults 512-fold and most TLB misses.
/// Small buffers use the ordinary heap. Falls back to 4 KiB pages silently
/// where transparent huge pages are off.
///
/// Released large buffers go to a bounded process-wide cache of free
/// ranges. A request takes the smallest free range that holds it and the
/// rest stays free; released neighbours merge again. So memory one phase
/// frees serves the next phase's requests of any size, and a second
/// evaluation does not pay the kernel's page faults and page zeroing again
/// (4 ms per MB on our VMs; 0.3-1.5 s of a 10M-line run). The cache holds at most BigBufferCacheLimit() bytes (default 4 GiB;
/// 0, the default in sanitizer builds, turns it off); ReleaseBigBufferCache()
/// hands everything back to the OS.

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

namespace sanad {

namespace big_buffer {
constexpr size_t kThreshold = size_t{4} << 20;
constexpr size_t kHugePage = size_t{2} << 20;
void* Acquire(size_t bytes);            // bytes >= kThreshold; throws std::bad_alloc
void Release(void* p, size_t bytes) noexcept;
}  // namespace big_buffer

struct BigBufferCacheStats {
  size_t cached_bytes = 0;   // held now, unused
  size_t reused = 0;         // requests served from the cache
  size_t mapped = 0;         // requests that needed a fresh mapping
  size_t mapped_bytes = 0;   // bytes of those fresh mappings
};
BigBufferCacheStats GetBigBufferCacheStats();
size_t BigBufferCacheLimit();
void SetBigBufferCacheLimit(size_t bytes);  // trims the cache to the new limit
void ReleaseBigBufferCache();

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}  // NOLINT

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < big_buffer::kThreshold) {
      void* p = std::malloc(bytes == 0 ? 1 : bytes);
      if (p == nullptr) throw std::bad_alloc();
      return static_cast<T*>(p);
    }
    return static_cast<T*>(big_buffer::Acquire(bytes));
  }
  void deallocate(T* p, size_t n) noexcept {
    const size_t bytes = n * sizeof(T);
    if (bytes < big_buffer::kThreshold) {
      std::free(p);
      return;
    }
    big_buffer::Release(p, bytes);
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const noexcept { return true; }
};

template <typename T>
using BigVector = std::vector<T, HugePageAllocator<T>>;

/// ColumnVector<T>: a BigVector whose resize() leaves new elements
/// uninitialised instead of zeroing them. For claim columns, which are
/// always written before they are read: the CSV loader sizes each column
/// for the whole file up front and its chunks write their rows in place
/// (ingest/chunk_builder.h); zeroing it first would touch every page of it
/// once more, on one thread.
template <typename T>
class UninitializedHugePageAllocator : public HugePageAllocator<T> {
 public:
  UninitializedHugePageAllocator() = default;
  template <typename U>
  UninitializedHugePageAllocator(const UninitializedHugePageAllocator<U>&) noexcept {}  // NOLINT
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-initialised: no zeroing for trivial types
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(static_cast<Args&&>(args)...);
  }
};

template <typename T>
using ColumnVector = std::vector<T, UninitializedHugePageAllocator<T>>;

}  // namespace sanad
