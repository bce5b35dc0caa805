#include "sanad/core/string_dictionary.h"

#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sanad {

StringDictionary::StringDictionary() : offsets_{0}, slots_(16, 0), mask_(15) {}

namespace {
inline uint64_t Tag(uint64_t hash) { return hash & 0xFFFFFFFF00000000ULL; }
}  // namespace

uint64_t StringDictionary::Hash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

int32_t StringDictionary::Find(std::string_view s, uint64_t hash) const {
  const uint64_t tag = Tag(hash);
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    const uint64_t slot = slots_[i];
    if (slot == 0) return kAbsent;
    if (Tag(slot) == tag) {
      const int32_t c = static_cast<int32_t>(static_cast<uint32_t>(slot) - 1);
      if (View(c) == s) return c;
    }
  }
}

int32_t StringDictionary::Intern(std::string_view s, uint64_t hash) {
  const uint64_t tag = Tag(hash);
  uint64_t i = hash & mask_;
  for (;; i = (i + 1) & mask_) {
    const uint64_t slot = slots_[i];
    if (slot == 0) break;
    if (Tag(slot) == tag) {
      const int32_t c = static_cast<int32_t>(static_cast<uint32_t>(slot) - 1);
      if (View(c) == s) return c;
    }
  }
  const int32_t code = size();
  slots_[i] = tag | static_cast<uint32_t>(code + 1);
  hashes_.push_back(hash);
  arena_.insert(arena_.end(), s.begin(), s.end());
  offsets_.push_back(arena_.size());
  if (hashes_.size() * 2 > slots_.size()) Grow();
  return code;
}

void StringDictionary::InternBatch(const std::string_view* strings, const uint64_t* hashes, size_t n, int32_t* codes) {
  // Stage 1: the slots. Stage 2: each slot's entry (its offset). Stage 3:
  // that entry's bytes. Each stage issues independent loads; the last one
  // finds everything in cache. Only the first slot of a probe is followed:
  // the table is at most half full, so most probes end there.
  for (size_t j = 0; j < n; ++j) __builtin_prefetch(&slots_[hashes[j] & mask_]);
  for (size_t j = 0; j < n; ++j) {
    const uint64_t slot = slots_[hashes[j] & mask_];
    codes[j] = slot != 0 && Tag(slot) == Tag(hashes[j]) ? static_cast<int32_t>(static_cast<uint32_t>(slot) - 1) : -1;
    if (codes[j] >= 0) __builtin_prefetch(&offsets_[static_cast<size_t>(codes[j])]);
  }
  for (size_t j = 0; j < n; ++j)
    if (codes[j] >= 0) __builtin_prefetch(arena_.data() + offsets_[static_cast<size_t>(codes[j])]);
  for (size_t j = 0; j < n; ++j) codes[j] = Intern(strings[j], hashes[j]);
}

void StringDictionary::Grow() { Rehash(slots_.size() * 2); }

void StringDictionary::Rehash(size_t slot_count) {
  slots_.assign(slot_count, 0);
  mask_ = slots_.size() - 1;
  for (int32_t c = 0; c < size(); ++c) {
    uint64_t i = hashes_[c] & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = Tag(hashes_[c]) | static_cast<uint32_t>(c + 1);
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
         slots_.capacity() * sizeof(uint64_t);
}

}  // namespace sanad
