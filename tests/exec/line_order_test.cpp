// Unit tests of the adjudication order (core/exec/line_order.h) and of key
// partitions (core/exec/key_partitions.h).

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "sanad/core/exec/key_partitions.h"
#include "sanad/core/exec/line_order.h"
#include "sanad/core/ingest/claims_reader.h"

namespace sanad {
namespace {

LoadedClaims Lines(const std::vector<std::tuple<std::string, std::string, int>>& rows) {  // (insured, date, seq)
  std::string nd;
  int k = 0;
  for (const auto& [insured, date, seq] : rows)
    nd += R"({"claim_id":"C)" + std::to_string(k++) + R"(","insured_id":")" + insured +
          R"(","fund":"f","provider_id":"P","provider_sector":"s","service_code":"X","service_date":")" + date +
          R"(","amount":1,"seq":)" + std::to_string(seq) + "}\n";
  return std::move(ReadNdjson(nd, Schema::Standard(), LoadOptions{}).value());
}

TEST(LineOrderTest, ByDateThenSeqThenInputPosition) {
  LoadedClaims c = Lines({{"A", "2024-01-02", 1}, {"A", "2024-01-01", 9}, {"A", "2024-01-01", 3}, {"A", "2024-01-01", 3}});
  const BigVector<RowIndex> order = ComputeLineOrder(c.batch);
  EXPECT_EQ(std::vector<RowIndex>(order.begin(), order.end()), (std::vector<RowIndex>{2, 3, 1, 0}));
}

TEST(KeyPartitionsTest, EveryGroupInOnePartitionInLineOrderForAnyPartitionSize) {
  std::mt19937_64 rng(11);
  std::vector<std::tuple<std::string, std::string, int>> rows;
  for (int i = 0; i < 3000; ++i)
    rows.emplace_back("I" + std::to_string(rng() % 97), "2024-0" + std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10),
                      static_cast<int>(rng() % 5));
  LoadedClaims c = Lines(rows);
  const BigVector<RowIndex> order = ComputeLineOrder(c.batch);
  const BigVector<RowIndex> rank = LineRanks(order);
  for (int per : {1, 3, 16, 4096}) {
    for (const std::vector<int>& keys : {std::vector<int>{kInsuredId}, std::vector<int>{kInsuredId, kServiceDate}}) {
      const KeyPartitions kp = BuildKeyPartitions(c.batch, keys, rank, per);
      ASSERT_EQ(kp.size(), c.batch.size());
      std::map<std::vector<int64_t>, std::pair<int, int32_t>> seen;  // key -> (partition, local group)
      for (int p = 0; p < kp.parts; ++p) {
        for (RowIndex i = kp.begin[static_cast<size_t>(p)]; i < kp.begin[static_cast<size_t>(p) + 1]; ++i) {
          if (i > kp.begin[static_cast<size_t>(p)]) ASSERT_LT(rank[kp.row[i - 1]], rank[kp.row[i]]) << "line order";
          ASSERT_GE(kp.group[i], 0);
          ASSERT_LT(kp.group[i], kp.groups[static_cast<size_t>(p)]);
          EXPECT_EQ(kp.day[i], c.batch.Date(kServiceDate, kp.row[i]));
          std::vector<int64_t> key;
          for (int f : keys) key.push_back(f == kInsuredId ? c.batch.column(f).codes[kp.row[i]] : c.batch.Date(f, kp.row[i]));
          auto [it, fresh] = seen.emplace(key, std::make_pair(p, kp.group[i]));
          if (!fresh) ASSERT_EQ(it->second, std::make_pair(p, kp.group[i])) << "a group split across partitions or ids";
        }
      }
      // Distinct keys get distinct (partition, group) ids.
      std::set<std::pair<int, int32_t>> ids;
      for (const auto& [k, id] : seen) ids.insert(id);
      EXPECT_EQ(ids.size(), seen.size());
    }
  }
}

}  // namespace
}  // namespace sanad
