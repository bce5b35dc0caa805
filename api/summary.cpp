#include "api/summary.h"

#include <algorithm>

namespace sanad {

const char* StatusName(LineStatus s) {
  switch (s) {
    case LineStatus::kAccepted: return "accepted";
    case LineStatus::kWarned: return "warned";
    case LineStatus::kRejected: return "rejected";
  }
  return "?";
}

Summary Summarize(const Plan& plan, const ClaimBatch& batch, const Verdicts& v) {
  Summary s;
  // Codes in order of first declaration; each rule points at its code's row.
  std::vector<size_t> code_of_rule(plan.rules.size());
  for (size_t r = 0; r < plan.rules.size(); ++r) {
    size_t c = 0;
    while (c < s.codes.size() && s.codes[c].code != plan.rules[r].code) ++c;
    if (c == s.codes.size()) s.codes.push_back(CodeStats{plan.rules[r].code});
    code_of_rule[r] = c;
  }
  for (const Hit& h : v.hits) {
    CodeStats& cs = s.codes[code_of_rule[static_cast<size_t>(h.rule)]];
    ++cs.hits;
    cs.deduction += h.deduction;
  }
  const Column& p = batch.column(kProviderId);
  std::vector<ProviderStats> by_code(static_cast<size_t>(p.dict.size()));
  s.lines = batch.size();
  for (RowIndex r = 0; r < batch.size(); ++r) {
    const bool rejected = v.status[r] == LineStatus::kRejected, warned = v.status[r] == LineStatus::kWarned;
    s.amount += batch.Int(kAmount, r);
    s.deduction += v.deduction[r];
    s.rejected += rejected;
    s.warned += warned;
    ProviderStats& ps = by_code[static_cast<size_t>(p.codes[r])];
    ++ps.lines;
    ps.rejected += rejected;
    ps.warned += warned;
    ps.deduction += v.deduction[r];
    if (v.primary_rule[r] >= 0) {
      CodeStats& cs = s.codes[code_of_rule[static_cast<size_t>(v.primary_rule[r])]];
      ++cs.primary_lines;
      cs.primary_deduction += v.deduction[r];
    }
  }
  s.accepted = s.lines - s.rejected - s.warned;
  for (int32_t c = 0; c < p.dict.size(); ++c) {
    ProviderStats& ps = by_code[static_cast<size_t>(c)];
    if (ps.lines == 0) continue;
    ps.provider_id = p.dict.View(c);
    s.providers.push_back(ps);
  }
  std::sort(s.providers.begin(), s.providers.end(),
            [](const ProviderStats& a, const ProviderStats& b) { return a.provider_id < b.provider_id; });
  return s;
}

}  // namespace sanad
