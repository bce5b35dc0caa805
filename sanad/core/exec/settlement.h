#pragma once
/// Batch settlement (SETTLEMENT.md §2): after the verdicts, every line's
/// payable amount (`allowed`) is shared between the payers, in declaration
/// order, and the patient. A payer's expressions are evaluated column-wise;
/// then its lines, split by its `per` keys into key partitions like the
/// stateful rules', are settled in line order per partition in parallel
/// (settle/payer_step.h does the arithmetic), its pay taken from what is
/// left. Consecutive payers with the same keys (or none) share one pass, a
/// line's payers one after the other; a scoped pass keeps what it reads and
/// writes of a line in one record (one cache miss a line). Deterministic:
/// the same result for any thread count and partitioning.

#include <cstdint>
#include <functional>
#include <vector>

#include "sanad/core/big_vector.h"
#include "sanad/core/claim_batch.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/exec/key_partitions.h"
#include "sanad/core/exec/verdicts.h"

namespace sanad {

/// The key partitions the stateful rules already built for `keys`, or null.
using PartitionsFor = std::function<const KeyPartitions*(const std::vector<int>& keys)>;

/// Payers [first, last) only, for distributed settlement (python/sanad/dask.py
/// settles each run of payers with a common key field on the lines that
/// field groups, passing each line's `left` on to the next run). `left`:
/// each line's left before `first` (null: its allowed amount, as before the
/// first payer). The Settlement then has columns for these payers only and
/// its `patient` is the left after `last`.
struct PayerSlice {
  size_t first = 0, last = SIZE_MAX;
  const int64_t* left = nullptr;
};

/// Settles every line; `deduction` is the verdicts' line deduction, `rank`
/// the line order (LineRanks). Empty when the plan has no payers (or the
/// slice none).
Settlement SettleBatch(const BoundPlan& bound, const ClaimBatch& batch, const BigVector<int64_t>& deduction,
                       const BigVector<RowIndex>& rank, int groups_per_partition, const PartitionsFor& partitions,
                       const PayerSlice& slice = {});

}  // namespace sanad
