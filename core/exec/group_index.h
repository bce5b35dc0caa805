#pragma once
/// GroupIndex: a dense group id per line for one tuple of key fields
/// (`per insured_id, provider_id`), -1 when any key is null. A single string
/// key uses its dictionary code directly (no hashing); other tuples go
/// through an open-addressing table keyed by XXH3 of the packed values.
/// Rules with the same keys share one GroupIndex.

#include <vector>

#include "core/big_vector.h"
#include "core/claim_batch.h"

namespace sanad {

struct GroupIndex {
  BigVector<int32_t> gid;  // per row
  int32_t groups = 0;
};

GroupIndex BuildGroupIndex(const ClaimBatch& batch, const std::vector<int>& keys);

}  // namespace sanad
