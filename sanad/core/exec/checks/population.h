#pragma once
/// Who is in a rule's population (LANGUAGE.md §4, §4.1, §4.5): the one
/// definition. A line is in it iff
///   1. it is visible at the rule's stage: no `reject` hit of an earlier stage;
///   2. `when` is true (absent: every line);
///   3. no `per` key is null (stateful rules);
///   4. for `limit sum(FIELD)`, FIELD is not null.
/// The batch driver, the online engine and explain all ask Classify per
/// line; the batch computes its inputs column by column first (visibility
/// and `when` as bit planes, key partitions holding only lines whose keys
/// are present, the summed field's validity).

#include "sanad/core/exec/plan.h"

namespace sanad {

enum class Membership : uint8_t {
  kIn,            // in the population
  kHidden,        // rejected by an earlier stage
  kWhenFalse,     // `when` is not true
  kNullKey,       // a `per` key is null
  kNullSumField,  // the summed field is null
};

struct Population {
  /// `first_null_key` is the index into rule.keys of the first null key, or -1.
  static Membership Classify(const RulePlan& rule, bool visible, bool when_true, int first_null_key, bool sum_field_present) {
    if (!visible) return Membership::kHidden;
    if (!when_true) return Membership::kWhenFalse;
    if (rule.check != CheckKind::kNone && first_null_key >= 0) return Membership::kNullKey;
    if (rule.check == CheckKind::kLimit && rule.is_sum && !sum_field_present) return Membership::kNullSumField;
    return Membership::kIn;
  }
};

}  // namespace sanad
