#pragma once
/// Bitmap: one bit per row, packed in 64-bit words. Used for bool columns,
/// validity (1 = value present) and row selections.

#include <cstdint>
#include <vector>

#include "sanad/core/types.h"

namespace sanad {

class Bitmap {
 public:
  Bitmap() = default;
  explicit Bitmap(size_t bits, bool value = false) { Resize(bits, value); }

  void Resize(size_t bits, bool value = false) {
    words_.resize((bits + 63) / 64, value ? ~uint64_t{0} : 0);
    if (value && bits > size_) {
      for (size_t i = size_; i < bits && (i & 63); ++i) Set(i, true);
    }
    size_ = bits;
    ClearTail();
  }
  void Reserve(size_t bits) { words_.reserve((bits + 63) / 64); }
  void PushBack(bool v) {
    if ((size_ & 63) == 0) words_.push_back(0);
    if (v) words_[size_ >> 6] |= uint64_t{1} << (size_ & 63);
    ++size_;
  }
  bool Get(size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  void Set(size_t i, bool v) {
    uint64_t m = uint64_t{1} << (i & 63);
    if (v) words_[i >> 6] |= m; else words_[i >> 6] &= ~m;
  }
  size_t size() const { return size_; }
  size_t Count() const {
    size_t n = 0;
    for (uint64_t w : words_) n += static_cast<size_t>(__builtin_popcountll(w));
    return n;
  }
  bool AllSet() const { return Count() == size_; }
  /// Appends `count` bits of `other` starting at bit 0.
  void Append(const Bitmap& other) {
    if ((size_ & 63) == 0) {
      words_.resize(size_ / 64);
      words_.insert(words_.end(), other.words_.begin(), other.words_.end());
      size_ += other.size_;
      return;
    }
    for (size_t i = 0; i < other.size_; ++i) PushBack(other.Get(i));
  }
  uint64_t* words() { return words_.data(); }
  const uint64_t* words() const { return words_.data(); }
  size_t word_count() const { return words_.size(); }
  size_t MemoryBytes() const { return words_.capacity() * 8; }

 private:
  void ClearTail() {
    if (size_ & 63) words_.back() &= (uint64_t{1} << (size_ & 63)) - 1;
  }
  std::vector<uint64_t> words_;
  size_t size_ = 0;
};

}  // namespace sanad
