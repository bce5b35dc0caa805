#pragma once
/// KeyPartitions: the lines of a batch whose `per` keys are all present,
/// split by key into partitions so that each group (equal key tuple) lies in
/// exactly one partition; every partition keeps line order and numbers its
/// groups densely from 0. Stateful rules scan partitions independently and in
/// parallel, with look-back logs for that partition's groups only, which
/// stay in cache however many groups the batch has. Rules with the same keys
/// share one KeyPartitions.
///
/// A single string key is its dictionary code: partition code % parts, local
/// id code / parts, no hashing. Other tuples are hashed (a 64-bit mix when
/// they pack into 64 bits, XXH3 otherwise); a partition takes the high hash
/// bits and numbers its groups by first appearance, with a hash table the
/// size of the partition. Deterministic: the same partitions for any thread
/// count.

#include <vector>

#include "sanad/core/big_vector.h"
#include "sanad/core/claim_batch.h"

namespace sanad {

struct KeyPartitions {
  int parts = 1;
  std::vector<RowIndex> begin;  // parts + 1 offsets into the arrays below
  std::vector<int32_t> groups;  // groups per partition (local ids 0 .. groups-1)
  BigVector<RowIndex> row;      // input row
  BigVector<int32_t> day;       // service_date
  BigVector<int32_t> group;     // local group id
  /// Columns carried along (CarriedColumns), in the same order.
  BigVector<int32_t> code;                         // service_code
  std::vector<std::pair<int, BigVector<int64_t>>> ints;  // (field, values) of int fields
  RowIndex size() const { return begin.back(); }
  const BigVector<int64_t>* Ints(int field) const {
    for (const auto& [f, v] : ints)
      if (f == field) return &v;
    return nullptr;
  }
};

/// Columns the rules read that partitioning should carry along: moved while
/// the scatter reads the batch in input order, they cost no random gather.
struct CarriedColumns {
  bool service_code = false;
  std::vector<int> int_fields;
};

/// rank[row]: the row's position in line order (LineRanks). Lines are
/// scattered to partitions reading the batch in input order (no random
/// gathers), then each partition, small enough for the cache, is sorted by
/// rank. About `groups_per_partition` groups (lines, for hashed keys) per
/// partition, in a power of two of partitions, at most 1024.
KeyPartitions BuildKeyPartitions(const ClaimBatch& batch, const std::vector<int>& keys, const BigVector<RowIndex>& rank,
                                 int groups_per_partition, const CarriedColumns& carry = {});

/// rank[order[k]] = k.
BigVector<RowIndex> LineRanks(const BigVector<RowIndex>& order);

}  // namespace sanad
