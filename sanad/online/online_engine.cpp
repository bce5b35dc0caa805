// The online engine's calls: each takes the lock, then works on the
// EngineState (engine_state.h). Reconcile and snapshots live beside it
// (reconcile.cpp, snapshot.cpp).
#include "sanad/online/online_engine.h"

#include "sanad/online/engine_state.h"

namespace sanad {

using namespace online_internal;  // EngineState and its records

OnlineEngine::OnlineEngine(const Plan& plan)
    : plan_(plan), ready_(CheckReferencesBound(plan)), g_(std::make_unique<Guarded>(plan)) {
  if (ready_.ok()) g_->state->Rebind();
}
OnlineEngine::~OnlineEngine() = default;

Status OnlineEngine::Preload(const ClaimBatch& history, int threads) {
  SANAD_RETURN_IF_ERROR(ready_);
  std::lock_guard<SpinMutex> lock(g_->mu);
  EngineState& s = *g_->state;
  if (s.store.size() != 0) return Status::Invalid("preload: the engine already holds history");
  if (!(history.schema() == plan_.schema)) return Status::Invalid("preload: the batch's fields differ from the rule set's");
  AppendRows(history, 0, history.size(), s.store);
  s.Rebind();
  const RowIndex n = history.size();
  EvalOptions opt;
  opt.threads = threads;
  Verdicts v = EvaluateBatch(*s.bound, s.store, opt);
  for (RowIndex r = 0; r < n; ++r) s.AddMeta(r);
  const BigVector<RowIndex> order = ComputeLineOrder(s.store);
  int64_t max_seq = 0;
  for (RowIndex k = 0; k < n; ++k) s.ord[order[k]] = k;
  for (RowIndex r = 0; r < n; ++r) {
    s.status[r] = static_cast<uint8_t>(v.status[r]);
    s.deduction[r] = v.deduction[r];
    s.primary[r] = v.primary_rule[r];
    for (uint32_t h = v.hit_begin[r]; h < v.hit_begin[r + 1]; ++h) {
      const RulePlan& rule = plan_.rules[static_cast<size_t>(v.hits[h].rule)];
      if (rule.reject) s.rej_stage[r] = std::min(s.rej_stage[r], rule.stage);
    }
    s.claims[s.store.column(kClaimId).codes[r]].push_back(r);
    max_seq = std::max(max_seq, s.store.Int(kSeq, r));
  }
  // The batch's settlement becomes the lines' recorded settlement.
  if (!plan_.payers.empty()) {
    const Settlement& st = v.settlement;
    for (RowIndex r = 0; r < n; ++r) {
      int64_t left = st.allowed[r];
      for (size_t p = 0; p < plan_.payers.size(); ++p) {
        PayerState& ps = s.payers[p];
        const int64_t base = plan_.payers[p].on_remaining ? left : st.allowed[r];
        ps.in[r] = st.covered[p][r];
        ps.pay[r] = st.pay[p][r];
        ps.deducted[r] = st.Deducted(p, r);
        ps.eligible[r] = st.covered[p][r] ? base - st.Deducted(p, r) : 0;
        left -= st.pay[p][r];
      }
      s.patient[r] = st.patient[r];
    }
  }
  s.next_seq = max_seq + 1;
  s.next_ord = n;
  s.RebuildLogs(/*judge=*/false);
  return Status::Ok();
}

Result<ClaimVerdict> OnlineEngine::Check(const ClaimBatch& claim) {
  std::lock_guard<SpinMutex> lock(g_->mu);
  return Judge(claim, false);
}

Result<ClaimVerdict> OnlineEngine::CheckAndCommit(const ClaimBatch& claim) {
  std::lock_guard<SpinMutex> lock(g_->mu);
  return Judge(claim, true);
}

Result<ClaimVerdict> OnlineEngine::CheckJson(std::string_view record, bool commit) {
  LoadOptions opt;
  opt.threads = 1;
  Result<LoadedClaims> loaded = ReadNdjson(record, plan_.schema, opt);
  if (!loaded.ok()) return loaded.status();
  if (loaded->records_read != 1) return Status::Invalid("expected one NDJSON record (one claim), got " + std::to_string(loaded->records_read));
  std::lock_guard<SpinMutex> lock(g_->mu);
  return Judge(loaded->batch, commit);
}

namespace {

// A claim the engine can take: one claim_id, distinct line_no, nothing
// before the compaction horizon, not already in history.
Status CheckClaim(const EngineState& s, const Plan& plan, const ClaimBatch& claim) {
  const RowIndex m = claim.size();
  if (m == 0) return Status::Invalid("a claim needs at least one line");
  if (m > static_cast<RowIndex>(kChunk)) return Status::Limit("a claim may have at most " + std::to_string(kChunk) + " lines online");
  if (!(claim.schema() == plan.schema)) return Status::Invalid("the claim's fields differ from the rule set's");
  const std::string_view id = claim.String(kClaimId, 0);
  for (RowIndex r = 0; r < m; ++r) {
    if (claim.String(kClaimId, r) != id)
      return Status::Invalid("a claim's lines must share one claim_id: '" + std::string(id) + "' and '" +
                             std::string(claim.String(kClaimId, r)) + "'");
    for (RowIndex q = 0; q < r; ++q)
      if (claim.Int(kLineNo, q) == claim.Int(kLineNo, r))
        return Status::Invalid("claim '" + std::string(id) + "': duplicate line_no " + std::to_string(claim.Int(kLineNo, r)));
    if (s.has_horizon && claim.Date(kServiceDate, r) < s.horizon) {
      char d[10], h[10];
      FormatIsoDate(claim.Date(kServiceDate, r), d);
      FormatIsoDate(s.horizon, h);
      return Status::Invalid("claim '" + std::string(id) + "' line " + std::to_string(claim.Int(kLineNo, r)) +
                             ": service_date " + std::string(d, 10) + " is before the compaction horizon " + std::string(h, 10));
    }
  }
  const int32_t existing = s.store.column(kClaimId).dict.Find(id);
  if (existing >= 0) {
    auto it = s.claims.find(existing);
    if (it != s.claims.end() && !it->second.empty())
      return Status::Invalid("claim '" + std::string(id) + "' is already in history (retract it first to replace it)");
  }
  return Status::Ok();
}

// The verdict of history row `row` (values at index k) from its hits:
// deductions (deduction.h), hits in declaration order, the verdict fold.
// Records it on the row.
OnlineLine VerdictOf(EngineState& s, const Plan& plan, RowIndex row, int k, const std::vector<Hit>& hits,
                     const std::vector<int64_t>& hit_v) {
  std::vector<size_t> idx(hits.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return hits[a].rule < hits[b].rule; });
  OnlineLine line = s.MakeLine(row);
  VerdictAccumulator acc;
  for (size_t i : idx) {
    const Hit& h = hits[i];
    const RulePlan& rule = plan.rules[static_cast<size_t>(h.rule)];
    const RuleValues& v = s.vals[static_cast<size_t>(h.rule)];
    OnlineHit oh;
    oh.rule = h.rule;
    oh.evidence = h.evidence;
    oh.total = h.total;
    oh.cap = h.cap;
    oh.deduction = HitDeduction(rule, line.amount, h.total, h.cap, hit_v[i], v.ded_valid[static_cast<size_t>(k)] != 0,
                                v.ded[static_cast<size_t>(k)]);
    if (h.evidence == EvidenceKind::kOtherLine) {
      oh.other_claim_id = std::string(s.store.String(kClaimId, h.other));
      oh.other_line_no = s.store.Int(kLineNo, h.other);
    }
    acc.Add(h.rule, rule.reject, oh.deduction);
    line.hits.push_back(std::move(oh));
  }
  line.status = acc.status;
  line.deduction = acc.Deduction(line.amount);
  line.primary_rule = acc.primary;
  s.status[row] = static_cast<uint8_t>(line.status);
  s.deduction[row] = line.deduction;
  s.primary[row] = line.primary_rule;
  return line;
}

}  // namespace

// Appends the claim to history, judges its lines in adjudication order, then
// keeps it (commit) or undoes every trace (dry run, key budget exceeded).
Result<ClaimVerdict> OnlineEngine::Judge(const ClaimBatch& claim, bool commit) {
  if (!ready_.ok()) return ready_;
  EngineState& s = *g_->state;
  SANAD_RETURN_IF_ERROR(CheckClaim(s, plan_, claim));
  const std::string_view id = claim.String(kClaimId, 0);
  const RowIndex m = claim.size();
  const RowIndex n0 = s.store.size();
  const int64_t seq0 = s.next_seq, ord0 = s.next_ord;
  AppendRows(claim, 0, m, s.store);
  Column& seq = s.store.column(kSeq);
  RowIndex rows[kChunk];
  for (RowIndex k = 0; k < m; ++k) {
    rows[k] = n0 + k;
    seq.ints[n0 + k] = s.next_seq++;
    s.AddMeta(n0 + k);
    s.ord[n0 + k] = s.next_ord++;
  }
  s.LookUpClaim(rows, static_cast<int>(m));
  s.EvalRows(rows, static_cast<int>(m));
  s.TouchLogEnds(static_cast<int>(m));
  // Adjudication order inside the claim: by day, then arrival (input) order.
  std::vector<int> by_order(m);
  std::iota(by_order.begin(), by_order.end(), 0);
  const int32_t* day = s.store.column(kServiceDate).codes.data();
  std::stable_sort(by_order.begin(), by_order.end(), [&](int a, int b) { return day[rows[a]] < day[rows[b]]; });

  std::vector<Undo> undo;
  std::vector<Hit> hits;
  std::vector<int64_t> hit_v;
  std::vector<EngineState::NewGroup> created;
  s.new_groups = &created;
  ClaimVerdict out;
  out.lines.resize(m);
  for (int k : by_order) {
    hits.clear();
    hit_v.clear();
    s.ProcessLine(rows[k], k, true, &hits, &hit_v, &undo);
    OnlineLine& line = out.lines[static_cast<size_t>(k)];
    line = VerdictOf(s, plan_, rows[k], k, hits, hit_v);
    s.SettleLine(rows[k], k, /*judge=*/true, &undo);
    for (const PayerState& ps : s.payers) line.pay.push_back(ps.pay[rows[k]]);
    if (!plan_.payers.empty()) line.patient = s.patient[rows[k]];
  }
  s.new_groups = nullptr;
  s.EndClaim();
  const bool over_budget = s.key_budget > 0 && !created.empty() && s.TotalGroups() > s.key_budget;
  if (commit && !over_budget) {
    std::vector<RowIndex>& list = s.claims[s.store.column(kClaimId).codes[n0]];
    for (RowIndex k = 0; k < m; ++k) list.push_back(n0 + k);
    return out;
  }
  // A dry run, or a claim over the key budget: history as it was.
  const int64_t groups = over_budget ? s.TotalGroups() : 0;  // for the message
  s.UndoAll(undo);
  s.DropNewGroups(created);
  TruncateRows(s.store, n0);
  s.TruncateMeta(n0);
  s.next_seq = seq0;
  s.next_ord = ord0;
  s.RefreshSource();
  if (over_budget)
    return Status::Limit("claim '" + std::string(id) + "' would raise the engine's keys to " + std::to_string(groups) +
                         ", over its budget of " + std::to_string(s.key_budget) +
                         " (compact, or raise the budget with SetKeyBudget)");
  return out;
}

void OnlineEngine::SetKeyBudget(int64_t max_keys) {
  std::lock_guard<SpinMutex> lock(g_->mu);
  g_->state->key_budget = max_keys;
}

Status OnlineEngine::Retract(std::string_view claim_id) {
  std::lock_guard<SpinMutex> lock(g_->mu);
  EngineState& s = *g_->state;
  const int32_t code = s.store.column(kClaimId).dict.Find(claim_id);
  auto it = code < 0 ? s.claims.end() : s.claims.find(code);
  if (it == s.claims.end() || it->second.empty()) return Status::NotFound("retract: no claim '" + std::string(claim_id) + "' in history");
  std::vector<RowIndex> rows = std::move(it->second);
  s.claims.erase(it);
  for (RowIndex r : rows) s.retracted[r] = 1;
  bool folded = false;  // a line compacted away: its value may sit in a limit's folded total
  for (RowIndex r : rows) folded |= s.has_horizon && s.store.Date(kServiceDate, r) < s.horizon;
  if (s.multi_stage_visibility || folded) {
    // Later lines' visibility in later stages may depend on the voided
    // lines, or the voided lines were compacted into running totals:
    // rebuild the logs from the surviving history in order (O(history),
    // documented), which is "as if it never arrived" by construction.
    s.RebuildLogs(/*judge=*/s.multi_stage_visibility);
    return Status::Ok();
  }
  // One effective stage: log entries do not depend on other lines, so
  // removing the claim's entries is exactly "never arrived".
  for (size_t p = 0; p < plan_.payers.size(); ++p) {
    if (s.payers[p].key_set < 0) continue;
    for (RowIndex row : rows) {
      const int32_t g = s.FindGroup(s.payers[p].key_set, row);
      if (g >= 0 && s.payers[p].in[row]) s.SettleLogOf(p, g).Remove(s.store.Date(kServiceDate, row), row);
    }
  }
  for (size_t r = 0; r < plan_.rules.size(); ++r) {
    const RulePlan& rule = plan_.rules[r];
    if (rule.check == CheckKind::kNone) continue;
    for (RowIndex row : rows) {
      const int32_t g = s.FindGroup(s.rules[r].key_set, row);
      if (g < 0) continue;
      const Days day = s.store.Date(kServiceDate, row);
      if (rule.check == CheckKind::kLimit) {
        LimitLog& log = s.LimitLogOf(static_cast<int>(r), g);
        for (size_t p = log.LowerBound(day); p < log.e.size() && log.e[p].day == day; ++p)
          if (log.e[p].row == row) { log.RemoveAt(p); break; }
      } else if (rule.check == CheckKind::kConflictPairs) {
        s.PairLogOf(static_cast<int>(r), g).Remove(s.store.column(kServiceCode).codes[row], day, row);
      } else {
        EventLog& log = s.EventLogOf(static_cast<int>(r), g);
        for (size_t p = log.UpperBound(day - 1); p < log.e.size() && log.e[p].day == day; ++p)
          if (log.e[p].row == row) { log.RemoveAt(p); break; }
      }
    }
  }
  return Status::Ok();
}

Status OnlineEngine::Compact(Days before) {
  std::lock_guard<SpinMutex> lock(g_->mu);
  EngineState& s = *g_->state;
  if (s.has_horizon && before <= s.horizon) return Status::Ok();
  s.has_horizon = true;
  s.horizon = before;
  s.DropBefore(before);
  s.ReleaseIdleKeys();
  return Status::Ok();
}

OnlineMemory OnlineEngine::Memory() const {
  std::lock_guard<SpinMutex> lock(g_->mu);
  const EngineState& s = *g_->state;
  OnlineMemory m;
  for (const auto& [code, rows] : s.claims) m.history_lines += static_cast<int64_t>(rows.size());
  for (const KeySet& ks : s.key_sets)
    m.state_bytes += ks.packed_ids.capacity() * (sizeof(uint64_t) + sizeof(int32_t) + 1) +
                     ks.tuple_ids.capacity() * (sizeof(std::vector<int64_t>) + sizeof(int32_t) + 1 + 8 * ks.fields.size());
  for (const RuleState& rs : s.rules) {
    for (const LimitLog& l : rs.limits) {
      m.groups += !l.e.empty();
      m.entries += static_cast<int64_t>(l.e.size());
      m.state_bytes += sizeof(LimitLog) + l.e.capacity() * sizeof(LimitEntry);
    }
    for (const EventLog& l : rs.events) {
      m.groups += !l.e.empty();
      m.entries += static_cast<int64_t>(l.e.size());
      m.state_bytes += sizeof(EventLog) + l.e.capacity() * sizeof(EventEntry);
    }
    for (const PairLog& l : rs.pair_logs) {
      m.groups += l.entries() > 0;
      m.entries += static_cast<int64_t>(l.entries());
      m.state_bytes += sizeof(PairLog) + l.all.e.capacity() * sizeof(EventEntry) + l.runs.capacity() * sizeof(PairLog::CodeRun);
      for (const PairLog::CodeRun& run : l.runs)
        if (run.e.size() > 1) m.state_bytes += run.e.capacity() * sizeof(PairEntry);
    }
  }
  m.keys = s.TotalGroups();
  m.history_bytes = s.store.ColumnBytes() + s.store.DictionaryBytes() +
                    s.ord.capacity() * (8 + 1 + 8 + 1 + 8 + 4);
  return m;
}

}  // namespace sanad
