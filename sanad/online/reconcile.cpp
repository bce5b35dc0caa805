// OnlineEngine::Reconcile: lines whose authoritative batch verdict differs
// from the verdict they got online.
#include "sanad/online/engine_state.h"

namespace sanad {

using namespace online_internal;  // EngineState and its records

Result<std::vector<ReconcileDiff>> OnlineEngine::Reconcile(const ClaimBatch& batch, int threads) const {
  if (!ready_.ok()) return ready_;
  if (!(batch.schema() == plan_.schema)) return Status::Invalid("reconcile: the batch's fields differ from the rule set's");
  std::unique_ptr<BoundPlan> bound = Bind(plan_, batch);
  EvalOptions opt;
  opt.threads = threads;
  const Verdicts v = EvaluateBatch(*bound, batch, opt);
  std::lock_guard<SpinMutex> lock(g_->mu);
  const EngineState& s = *g_->state;
  std::vector<ReconcileDiff> out;
  for (RowIndex r = 0; r < batch.size(); ++r) {
    ReconcileDiff d;
    d.claim_id = std::string(batch.String(kClaimId, r));
    d.line_no = batch.Int(kLineNo, r);
    d.batch_status = v.status[r];
    d.batch_deduction = v.deduction[r];
    d.batch_primary = v.primary_rule[r];
    const int32_t code = s.store.column(kClaimId).dict.Find(d.claim_id);
    auto it = code < 0 ? s.claims.end() : s.claims.find(code);
    if (it != s.claims.end())
      for (RowIndex h : it->second)
        if (s.store.Int(kLineNo, h) == d.line_no) {
          d.seen_online = true;
          d.online_status = static_cast<LineStatus>(s.status[h]);
          d.online_deduction = s.deduction[h];
          d.online_primary = s.primary[h];
          for (const PayerState& ps : s.payers) d.online_pay.push_back(ps.pay[h]);
          if (!s.patient.empty()) d.online_patient = s.patient[h];
        }
    for (size_t p = 0; p < v.settlement.pay.size(); ++p) d.batch_pay.push_back(v.settlement.pay[p][r]);
    if (!v.settlement.empty()) d.batch_patient = v.settlement.patient[r];
    const bool settled_alike = !d.seen_online || (d.online_pay == d.batch_pay && d.online_patient == d.batch_patient);
    if (!d.seen_online || d.online_status != d.batch_status || d.online_deduction != d.batch_deduction ||
        d.online_primary != d.batch_primary || !settled_alike)
      out.push_back(std::move(d));
  }
  return out;
}

}  // namespace sanad
