#include "core/string_dictionary.h"

#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sanad {

StringDictionary::StringDictionary() : offsets_{0}, slots_(16, kAbsent), mask_(15) {}

uint64_t StringDictionary::Hash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

int32_t StringDictionary::Find(std::string_view s, uint64_t hash) const {
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    const int32_t c = slots_[i];
    if (c == kAbsent) return kAbsent;
    if (hashes_[c] == hash && View(c) == s) return c;
  }
}

int32_t StringDictionary::Intern(std::string_view s, uint64_t hash) {
  uint64_t i = hash & mask_;
  for (;; i = (i + 1) & mask_) {
    const int32_t c = slots_[i];
    if (c == kAbsent) break;
    if (hashes_[c] == hash && View(c) == s) return c;
  }
  const int32_t code = size();
  slots_[i] = code;
  hashes_.push_back(hash);
  arena_.insert(arena_.end(), s.begin(), s.end());
  offsets_.push_back(arena_.size());
  if (hashes_.size() * 2 > slots_.size()) Grow();
  return code;
}

void StringDictionary::Grow() { Rehash(slots_.size() * 2); }

void StringDictionary::Rehash(size_t slot_count) {
  slots_.assign(slot_count, kAbsent);
  mask_ = slots_.size() - 1;
  for (int32_t c = 0; c < size(); ++c) {
    uint64_t i = hashes_[c] & mask_;
    while (slots_[i] != kAbsent) i = (i + 1) & mask_;
    slots_[i] = c;
  }
}

void StringDictionary::Reserve(size_t entries, size_t bytes) {
  arena_.reserve(bytes);
  offsets_.reserve(entries + 1);
  hashes_.reserve(entries);
  size_t want = 16;
  while (want < entries * 2) want *= 2;
  if (want > slots_.size()) Rehash(want);
}

size_t StringDictionary::MemoryBytes() const {
  return arena_.capacity() + offsets_.capacity() * sizeof(uint64_t) + hashes_.capacity() * sizeof(uint64_t) +
         slots_.capacity() * sizeof(int32_t);
}

}  // namespace sanad
