#pragma once
// A ClaimBatch as the reference evaluator's lines (field name -> value), and
// the first difference between the engine's verdicts and the reference's.

#include <string>
#include <vector>

#include "sanad/core/claim_batch.h"
#include "sanad/core/exec/verdicts.h"
#include "tests/reference/reference_evaluator.h"

namespace sanad {

inline std::vector<reference::Line> ToReferenceLines(const ClaimBatch& b) {
  std::vector<reference::Line> out(b.size());
  for (RowIndex r = 0; r < b.size(); ++r) {
    for (int f = 0; f < b.schema().size(); ++f) {
      const FieldDef& def = b.schema().field(f);
      reference::Opt v;
      if (b.IsValid(f, r)) {
        reference::Value x;
        switch (def.type) {
          case ValueType::kString: x.is_string = true; x.s = std::string(b.String(f, r)); break;
          case ValueType::kInt: x.i = b.Int(f, r); break;
          case ValueType::kDate: x.i = b.Date(f, r); break;
          case ValueType::kBool: x.i = b.Bool(f, r); break;
        }
        if (def.type != ValueType::kString || b.column(f).codes[r] >= 0) v = x;
      }
      out[r].fields[def.name] = v;
    }
  }
  return out;
}

inline std::string Describe(const Verdicts& v, RowIndex r) {
  std::string s = "status " + std::to_string(static_cast<int>(v.status[r])) + " deduction " + std::to_string(v.deduction[r]) +
                  " primary " + std::to_string(v.primary_rule[r]) + " hits:";
  for (uint32_t k = v.hit_begin[r]; k < v.hit_begin[r + 1]; ++k) {
    const Hit& h = v.hits[k];
    s += " [r" + std::to_string(h.rule) + " d=" + std::to_string(h.deduction) + " ev=" + std::to_string(static_cast<int>(h.evidence)) +
         " total=" + std::to_string(static_cast<int64_t>(h.total)) + " cap=" + std::to_string(h.cap) + " other=" + std::to_string(h.other) + "]";
  }
  return s;
}

inline std::string Describe(const reference::RefResult& v, size_t r) {
  std::string s = "status " + std::to_string(v.status[r]) + " deduction " + std::to_string(v.deduction[r]) + " primary " +
                  std::to_string(v.primary[r]) + " hits:";
  for (const auto& h : v.hits[r])
    s += " [r" + std::to_string(h.rule) + " d=" + std::to_string(h.deduction) + " ev=" + std::to_string(h.evidence) +
         " total=" + std::to_string(static_cast<int64_t>(h.total)) + " cap=" + std::to_string(h.cap) + " other=" + std::to_string(h.other) + "]";
  return s;
}

// Returns "" when equal, else the first difference.
inline std::string Diff(const Verdicts& v, const reference::RefResult& ref) {
  for (size_t r = 0; r < ref.status.size(); ++r) {
    const RowIndex row = static_cast<RowIndex>(r);
    bool same = static_cast<int>(v.status[row]) == ref.status[r] && v.deduction[row] == ref.deduction[r] &&
                v.primary_rule[row] == ref.primary[r] && v.hit_begin[row + 1] - v.hit_begin[row] == ref.hits[r].size();
    for (size_t k = 0; same && k < ref.hits[r].size(); ++k) {
      const Hit& h = v.hits[v.hit_begin[row] + k];
      const reference::RefHit& e = ref.hits[r][k];
      same = h.rule == e.rule && h.deduction == e.deduction && static_cast<int>(h.evidence) == e.evidence &&
             (e.evidence != 1 || (h.total == e.total && h.cap == e.cap)) && (e.evidence != 2 || h.other == e.other);
    }
    if (!same) return "line " + std::to_string(r) + ":\n  engine    " + Describe(v, row) + "\n  reference " + Describe(ref, r);
  }
  // Settlement, line by line and payer by payer.
  const Settlement& st = v.settlement;
  if (st.pay.size() != ref.pay.size()) return "payer count differs";
  for (size_t p = 0; p < ref.pay.size(); ++p)
    for (size_t r = 0; r < ref.allowed.size(); ++r) {
      const RowIndex row = static_cast<RowIndex>(r);
      if (st.pay[p][row] != ref.pay[p][r] || st.Deducted(p, row) != ref.deductible[p][r] ||
          (st.covered[p][row] != 0) != ref.covered[p][r] || st.allowed[row] != ref.allowed[r] || st.patient[row] != ref.patient[r])
        return "settlement of line " + std::to_string(r) + ", payer " + std::to_string(p) + ": engine pay " +
               std::to_string(st.pay[p][row]) + " ded " + std::to_string(st.Deducted(p, row)) + " in " +
               std::to_string(st.covered[p][row]) + " patient " + std::to_string(st.patient[row]) + "; reference pay " +
               std::to_string(ref.pay[p][r]) + " ded " + std::to_string(ref.deductible[p][r]) + " in " +
               std::to_string(ref.covered[p][r]) + " patient " + std::to_string(ref.patient[r]);
    }
  for (size_t i = 0; i < ref.population.size(); ++i) {
    if (v.rules[i].population != ref.population[i] || v.rules[i].hits != ref.hit_count[i] ||
        v.rules[i].deduction != ref.rule_deduction[i])
      return "rule " + std::to_string(i) + " statistics differ: population " + std::to_string(v.rules[i].population) + " vs " +
             std::to_string(ref.population[i]);
  }
  return "";
}

}  // namespace sanad
