#pragma once
/// BigVector<T>: std::vector whose large buffers (>= 4 MiB) come straight
/// from mmap with MADV_HUGEPAGE. Evaluation touches arrays of millions of
/// entries in random order (per-group state, hash tables, scatter targets);
/// 2 MiB pages cut first-touch page faults 512-fold and most TLB misses.
/// Small buffers use the ordinary heap. Falls back to 4 KiB pages silently
/// where transparent huge pages are off.

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

namespace sanad {

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;
  static constexpr size_t kThreshold = size_t{4} << 20;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}  // NOLINT

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kThreshold) {
      void* p = std::malloc(bytes == 0 ? 1 : bytes);
      if (p == nullptr) throw std::bad_alloc();
      return static_cast<T*>(p);
    }
    const size_t len = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, len, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) noexcept {
    const size_t bytes = n * sizeof(T);
    if (bytes < kThreshold) {
      std::free(p);
      return;
    }
    munmap(p, (bytes + kHugePage - 1) / kHugePage * kHugePage);
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const noexcept { return true; }
};

template <typename T>
using BigVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace sanad
