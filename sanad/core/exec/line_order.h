#pragma once
/// The adjudication order of LANGUAGE.md §4: lines by (service_date, seq),
/// equal seq by input position. A stable counting sort by day, then a
/// stable sort by seq inside any day whose seqs are out of order.

#include <vector>

#include "sanad/core/big_vector.h"
#include "sanad/core/claim_batch.h"

namespace sanad {

BigVector<RowIndex> ComputeLineOrder(const ClaimBatch& batch);

}  // namespace sanad
