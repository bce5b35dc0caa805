#pragma once
/// Schema: the fields a claim line carries. The 17 standard fields of DATA.md
/// come first with fixed indices (StdField); a rule set's declared extra
/// fields follow in declaration order.

#include <string>
#include <string_view>
#include <vector>

#include "sanad/core/status.h"
#include "sanad/core/types.h"

namespace sanad {

enum StdField : int {
  kClaimId = 0,
  kLineNo,
  kInsuredId,
  kFund,
  kAge,
  kSex,
  kProviderId,
  kProviderSector,
  kProviderSpecialty,
  kServiceCode,
  kServiceDate,
  kQuantity,
  kAmount,
  kDiagnosis,
  kReferral,
  kSeq,
  kPatientPaid,  // SETTLEMENT.md §3: what the patient paid at a settlement by hand
  kNumStdFields
};

struct FieldDef {
  std::string name;
  ValueType type;
  bool required;  // an absent value is an input error
  bool nullable;  // may hold null after loading (absent optional without default)
};

class Schema {
 public:
  /// The standard fields only.
  static Schema Standard();

  /// Adds a declared extra field (optional, nullable). Fails on a duplicate name.
  Status AddExtra(std::string name, ValueType type);

  /// Index of a field by name, or -1.
  int Find(std::string_view name) const;
  const FieldDef& field(int i) const { return fields_[static_cast<size_t>(i)]; }
  int size() const { return static_cast<int>(fields_.size()); }
  bool operator==(const Schema& o) const;

 private:
  std::vector<FieldDef> fields_;
};

}  // namespace sanad
