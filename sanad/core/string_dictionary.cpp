#include "sanad/core/string_dictionary.h"

#include <cstring>

#include <tbb/parallel_for.h>

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

StringDictionary StringDictionary::MergeInOrder(const std::vector<StringDictionary*>& parts,
                                                std::vector<std::vector<int32_t>>* remap) {
  const size_t n = parts.size();
  remap->assign(n, {});
  if (n == 0) return StringDictionary();
  constexpr int kPartitionBits = 6;
  constexpr size_t kPartitions = size_t{1} << kPartitionBits;
  auto partition_of = [](uint64_t h) { return static_cast<size_t>(h >> (64 - kPartitionBits)); };
  // 1. Each part's codes, grouped by partition (a counting sort, so each
  //    group keeps code order).
  std::vector<std::vector<uint32_t>> start(n, std::vector<uint32_t>(kPartitions + 1, 0));
  std::vector<std::vector<int32_t>> order(n);
  tbb::parallel_for(size_t{0}, n, [&](size_t c) {
    const StringDictionary& d = *parts[c];
    std::vector<uint32_t>& st = start[c];
    for (int32_t k = 0; k < d.size(); ++k) ++st[partition_of(d.hashes_[static_cast<size_t>(k)]) + 1];
    for (size_t p = 0; p < kPartitions; ++p) st[p + 1] += st[p];
    std::vector<uint32_t> at(st.begin(), st.end() - 1);
    order[c].resize(static_cast<size_t>(d.size()));
    for (int32_t k = 0; k < d.size(); ++k) order[c][at[partition_of(d.hashes_[static_cast<size_t>(k)])]++] = k;
  });
  // 2. Per partition, in part order: the first (part, code) holding each
  //    string. owner[c][k] packs it; a string is new in part c when its
  //    owner is (c, k) itself.
  std::vector<std::vector<uint64_t>> owner(n);
  for (size_t c = 0; c < n; ++c) owner[c].resize(static_cast<size_t>(parts[c]->size()));
  auto pack = [](size_t c, int32_t k) { return (static_cast<uint64_t>(c) << 32) | static_cast<uint32_t>(k); };
  tbb::parallel_for(size_t{0}, kPartitions, [&](size_t p) {
    size_t total = 0;
    for (size_t c = 0; c < n; ++c) total += start[c][p + 1] - start[c][p];
    size_t slots = 16;
    while (slots < 2 * total) slots *= 2;
    std::vector<uint64_t> table(slots, ~uint64_t{0});  // packed owner, or empty
    const uint64_t mask = slots - 1;
    for (size_t c = 0; c < n; ++c) {
      const StringDictionary& d = *parts[c];
      for (uint32_t i = start[c][p]; i < start[c][p + 1]; ++i) {
        const int32_t k = order[c][i];
        const uint64_t h = d.hashes_[static_cast<size_t>(k)];
        const std::string_view s = d.View(k);
        for (uint64_t j = (h >> 7) & mask;; j = (j + 1) & mask) {  // low bits: the partition used the high ones
          if (table[j] == ~uint64_t{0}) {
            table[j] = pack(c, k);
            owner[c][static_cast<size_t>(k)] = table[j];
            break;
          }
          const size_t oc = static_cast<size_t>(table[j] >> 32);
          const int32_t ok = static_cast<int32_t>(static_cast<uint32_t>(table[j]));
          if (parts[oc]->hashes_[static_cast<size_t>(ok)] == h && parts[oc]->View(ok) == s) {
            owner[c][static_cast<size_t>(k)] = table[j];
            break;
          }
        }
      }
    }
  });
  // 3. Codes: part 0 keeps its own; each later part's new strings follow
  //    in its code order; a string seen before takes its first code.
  std::vector<int32_t> base(n + 1, 0);
  std::vector<size_t> new_bytes(n, 0);
  tbb::parallel_for(size_t{0}, n, [&](size_t c) {
    int32_t count = 0;
    for (int32_t k = 0; k < parts[c]->size(); ++k)
      if (owner[c][static_cast<size_t>(k)] == pack(c, k)) {
        ++count;
        new_bytes[c] += parts[c]->View(k).size();
      }
    base[c + 1] = count;
  });
  for (size_t c = 0; c < n; ++c) base[c + 1] += base[c];
  tbb::parallel_for(size_t{0}, n, [&](size_t c) {
    std::vector<int32_t>& r = (*remap)[c];
    r.resize(static_cast<size_t>(parts[c]->size()));
    int32_t next = base[c];
    for (int32_t k = 0; k < parts[c]->size(); ++k)
      if (owner[c][static_cast<size_t>(k)] == pack(c, k)) r[static_cast<size_t>(k)] = next++;
  });
  tbb::parallel_for(size_t{0}, n, [&](size_t c) {
    std::vector<int32_t>& r = (*remap)[c];
    for (int32_t k = 0; k < parts[c]->size(); ++k) {
      const uint64_t o = owner[c][static_cast<size_t>(k)];
      if (o != pack(c, k))
        r[static_cast<size_t>(k)] = (*remap)[static_cast<size_t>(o >> 32)][static_cast<uint32_t>(o)];
    }
  });
  // 4. The merged dictionary: part 0, then each part's new strings.
  StringDictionary out = std::move(*parts[0]);
  size_t more_bytes = 0;
  for (size_t c = 1; c < n; ++c) more_bytes += new_bytes[c];
  out.arena_.reserve(out.arena_.size() + more_bytes);
  out.offsets_.reserve(static_cast<size_t>(base[n]) + 1);
  out.hashes_.reserve(static_cast<size_t>(base[n]));
  for (size_t c = 1; c < n; ++c) {
    const StringDictionary& d = *parts[c];
    for (int32_t k = 0; k < d.size(); ++k) {
      if (owner[c][static_cast<size_t>(k)] != pack(c, k)) continue;
      const std::string_view s = d.View(k);
      out.arena_.insert(out.arena_.end(), s.begin(), s.end());
      out.offsets_.push_back(out.arena_.size());
      out.hashes_.push_back(d.hashes_[static_cast<size_t>(k)]);
    }
  }
  if (n > 1) {  // the table sequential interning would have grown to
    size_t slot_count = 16;
    while (slot_count < 2 * out.hashes_.size()) slot_count *= 2;
    out.Rehash(slot_count);
  }
  return out;
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
