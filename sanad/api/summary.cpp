#include "sanad/api/summary.h"

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

namespace {

SettlementSummary SummarizeSettlement(const Plan& plan, const ClaimBatch& batch, const Settlement& st) {
  SettlementSummary s;
  const size_t np = plan.payers.size();
  for (size_t p = 0; p < np; ++p) {
    PayerStats ps{plan.payers[p].name};
    for (RowIndex r = 0; r < batch.size(); ++r) {
      ps.lines_covered += st.covered[p][r];
      ps.deductible += st.Deducted(p, r);
      ps.paid += st.pay[p][r];
    }
    s.payers.push_back(ps);
  }
  const Column& ids = batch.column(kInsuredId);
  const Column& paid = batch.column(kPatientPaid);
  std::vector<InsuredSettlement> by_code(static_cast<size_t>(ids.dict.size()));
  std::vector<uint8_t> seen(by_code.size(), 0);
  for (RowIndex r = 0; r < batch.size(); ++r) {
    InsuredSettlement& is = by_code[static_cast<size_t>(ids.codes[r])];
    if (!seen[static_cast<size_t>(ids.codes[r])]) {
      seen[static_cast<size_t>(ids.codes[r])] = 1;
      is.paid.assign(np, 0);
    }
    is.allowed += st.allowed[r];
    is.patient += st.patient[r];
    for (size_t p = 0; p < np; ++p) is.paid[p] += st.pay[p][r];
    s.allowed += st.allowed[r];
    s.patient += st.patient[r];
    if (paid.valid.Get(r)) {
      is.with_paid = s.with_paid = true;
      is.patient_paid += paid.ints[r];
      is.balance += st.patient[r] - paid.ints[r];
      s.patient_paid += paid.ints[r];
      s.balance += st.patient[r] - paid.ints[r];
    }
  }
  std::vector<int32_t> order;
  for (int32_t c = 0; c < ids.dict.size(); ++c)
    if (seen[static_cast<size_t>(c)]) order.push_back(c);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return ids.dict.View(a) < ids.dict.View(b); });
  for (int32_t c : order) {
    by_code[static_cast<size_t>(c)].insured_id = ids.dict.View(c);
    s.insured.push_back(std::move(by_code[static_cast<size_t>(c)]));
  }
  return s;
}

}  // namespace

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
  if (!v.settlement.empty()) s.settlement = SummarizeSettlement(plan, batch, v.settlement);
  return s;
}

}  // namespace sanad
