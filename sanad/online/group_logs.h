#pragma once
/// GroupLogs: the online engine's logs of one rule (or payer), one per group
/// id, in segments of 1,024 that never move. A std::vector of logs moves
/// every log when it outgrows its capacity — tens of MB with a national
/// insurer's millions of insured, copied (and faulted in) on the call of the
/// claim whose new insured crosses it, a latency spike of tens of ms. Here a
/// new segment is allocated as groups arrive and ids index the segments.
///
/// Every slot at or beyond size() in an allocated segment holds an empty
/// log, so growing again hands out fresh logs.

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <vector>

namespace sanad::online_internal {

template <typename T>
class GroupLogs {
 public:
  using value_type = T;
  static constexpr size_t kShift = 10, kSegment = size_t{1} << kShift, kMask = kSegment - 1;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t g) { return segments_[g >> kShift][g & kMask]; }
  const T& operator[](size_t g) const { return segments_[g >> kShift][g & kMask]; }

  void resize(size_t n) {
    if (n < size_) {
      segments_.resize((n + kMask) >> kShift);  // whole segments past n go
      const size_t kept_end = std::min(size_, segments_.size() << kShift);
      for (size_t g = n; g < kept_end; ++g) (*this)[g] = T{};
    }
    while ((segments_.size() << kShift) < n) segments_.push_back(std::make_unique<T[]>(kSegment));
    size_ = n;
  }
  void clear() {
    segments_.clear();
    size_ = 0;
  }

  template <typename Owner, typename V>
  class Iter {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = V*;
    using reference = V&;
    Iter(Owner* o, size_t g) : o_(o), g_(g) {}
    V& operator*() const { return (*o_)[g_]; }
    V* operator->() const { return &(*o_)[g_]; }
    Iter& operator++() {
      ++g_;
      return *this;
    }
    bool operator==(const Iter& x) const { return g_ == x.g_; }
    bool operator!=(const Iter& x) const { return g_ != x.g_; }

   private:
    Owner* o_;
    size_t g_;
  };
  Iter<GroupLogs, T> begin() { return {this, 0}; }
  Iter<GroupLogs, T> end() { return {this, size_}; }
  Iter<const GroupLogs, const T> begin() const { return {this, 0}; }
  Iter<const GroupLogs, const T> end() const { return {this, size_}; }

 private:
  std::vector<std::unique_ptr<T[]>> segments_;
  size_t size_ = 0;
};

}  // namespace sanad::online_internal
