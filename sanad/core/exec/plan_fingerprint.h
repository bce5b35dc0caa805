#pragma once
/// PlanFingerprint: which rules and which reference data produced a result
/// (DATA.md §4, docs/SEMANTICS.md §Fingerprint). An XXH3-128 hash of a
/// canonical encoding of the Plan with its bound reference data:
///   - the rule set's name and calendar, the declared fields (name, type);
///   - every set, table and pairs object by name (sorted), whether external
///     and bound, and its entries in sorted order (entry order carries no
///     meaning);
///   - every rule in declaration order (order decides ties), with its title,
///     stage, check, keys and expression programs, fields and reference
///     objects named rather than numbered.
/// Comments, layout and the order of declarations other than rules do not
/// change it; any change of a rule, declaration or reference entry does.
/// The same on every machine and thread count. Online snapshots carry it,
/// so a snapshot restores only into the same rules bound to the same data.

#include <string>

#include "sanad/core/exec/plan.h"

namespace sanad {

struct Fingerprint {
  uint64_t high = 0, low = 0;
  bool operator==(const Fingerprint&) const = default;
  /// 32 lowercase hex digits.
  std::string ToString() const;
};

Fingerprint PlanFingerprint(const Plan& plan);

}  // namespace sanad
