#pragma once
/// StringDictionary: dense int32 codes for the distinct strings of one field.
/// Codes are assigned 0, 1, 2, ... in first-insertion order; the original
/// UTF-8 bytes are kept in one arena. Lookup is an open-addressing table keyed
/// by XXH3-64 of the bytes. Not thread-safe for writers; readers of a
/// dictionary that no one writes may share it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sanad {

class StringDictionary {
 public:
  static constexpr int32_t kAbsent = -1;

  StringDictionary();

  static uint64_t Hash(std::string_view s);

  /// The code of `s`, inserting it if new.
  int32_t Intern(std::string_view s) { return Intern(s, Hash(s)); }
  int32_t Intern(std::string_view s, uint64_t hash);

  /// Interns `n` strings exactly as `n` calls of Intern in order would
  /// (same codes, same dictionary), with their cache misses overlapped:
  /// every string's slot is prefetched, then the bytes of the entry each
  /// slot names, then the strings are interned. On a dictionary larger than
  /// the cache a lookup costs three dependent misses (slot, offset, bytes);
  /// loading a month-end file spent 40% of its time waiting on them.
  void InternBatch(const std::string_view* strings, const uint64_t* hashes, size_t n, int32_t* codes);

  /// The dictionary that interning every string of parts[0], parts[1], ...
  /// in that order would build (part 0's codes kept, each later part's new
  /// strings after, in its code order), and in `remap[p][k]` the code the
  /// k-th string of part p got. The same result as that loop, computed in
  /// parallel: strings are partitioned by hash, each partition finds the
  /// first part holding each of its strings in cache-sized tables, and the
  /// codes follow from per-part counts. (Merging the claim-id dictionaries
  /// of a 5M-line load took 0.43 s on one thread, the longest step of
  /// assembling the batch.) Takes part 0's storage; the others are read.
  static StringDictionary MergeInOrder(const std::vector<StringDictionary*>& parts,
                                       std::vector<std::vector<int32_t>>* remap);

  /// The code of `s`, or kAbsent.
  int32_t Find(std::string_view s) const { return Find(s, Hash(s)); }
  int32_t Find(std::string_view s, uint64_t hash) const;

  std::string_view View(int32_t code) const {
    return {arena_.data() + offsets_[code], static_cast<size_t>(offsets_[code + 1] - offsets_[code])};
  }
  uint64_t HashOf(int32_t code) const { return hashes_[code]; }

  int32_t size() const { return static_cast<int32_t>(hashes_.size()); }
  /// Bytes held: string bytes plus per-entry bookkeeping.
  size_t MemoryBytes() const;
  void Reserve(size_t entries, size_t bytes);

 private:
  void Grow();
  void Rehash(size_t slot_count);

  std::vector<char> arena_;
  std::vector<uint64_t> offsets_;  // size() + 1 entries
  std::vector<uint64_t> hashes_;   // per code
  // Open addressing; a slot holds (hash >> 32) << 32 | (code + 1), 0 = empty,
  // so most mismatches are rejected without touching the per-code arrays.
  std::vector<uint64_t> slots_;
  uint64_t mask_ = 0;
};

}  // namespace sanad
