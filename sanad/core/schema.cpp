#include "sanad/core/schema.h"

namespace sanad {

Schema Schema::Standard() {
  using VT = ValueType;
  Schema s;
  // name, type, required, nullable (line_no, seq, quantity, referral get defaults)
  s.fields_ = {
      {"claim_id", VT::kString, true, false},       {"line_no", VT::kInt, false, false},
      {"insured_id", VT::kString, true, false},     {"fund", VT::kString, true, false},
      {"age", VT::kInt, false, true},               {"sex", VT::kString, false, true},
      {"provider_id", VT::kString, true, false},    {"provider_sector", VT::kString, true, false},
      {"provider_specialty", VT::kString, false, true}, {"service_code", VT::kString, true, false},
      {"service_date", VT::kDate, true, false},     {"quantity", VT::kInt, false, false},
      {"amount", VT::kInt, true, false},            {"diagnosis", VT::kString, false, true},
      {"referral", VT::kBool, false, false},        {"seq", VT::kInt, false, false},
      {"patient_paid", VT::kInt, false, true},
  };
  return s;
}

Status Schema::AddExtra(std::string name, ValueType type) {
  if (Find(name) >= 0) return Status::Invalid("field '" + name + "' is already defined");
  fields_.push_back({std::move(name), type, false, true});
  return Status::Ok();
}

int Schema::Find(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i)
    if (fields_[i].name == name) return static_cast<int>(i);
  return -1;
}

bool Schema::operator==(const Schema& o) const {
  if (fields_.size() != o.fields_.size()) return false;
  for (size_t i = 0; i < fields_.size(); ++i)
    if (fields_[i].name != o.fields_[i].name || fields_[i].type != o.fields_[i].type) return false;
  return true;
}

}  // namespace sanad
