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

Summary Summarize(const ClaimBatch& batch, const Verdicts& v) {
  Summary s;
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
