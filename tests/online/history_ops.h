#pragma once
/// Random sequences of online history operations against the reference
/// evaluator: claims arrive (some late, some never), and between arrivals
/// the engine is asked to retract a surviving claim, compact up to the
/// earliest date still to come, snapshot and restore into a fresh engine, or
/// do a dry run. Before every arrival the engine must judge the claim
/// exactly as the reference evaluator judges it on the surviving claims plus
/// that claim (seq = arrival order): "a retracted claim leaves history as if
/// it had never arrived" (LANGUAGE.md §5), whatever came between. Shared by
/// the online tests and fuzz_differential.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sanad/compiler/reference_data.h"
#include "sanad/core/exec/line_order.h"
#include "sanad/core/ingest/claims_reader.h"
#include "sanad/online/online_engine.h"
#include "sanad/api/rules.h"
#include "sanad/rules_dsl/parser.h"
#include "tests/evaluation/reference_lines.h"
#include "tests/property/random_case.h"

namespace sanad::testing {

/// Lines in adjudication order, cut into claims of consecutive lines with
/// one claim_id each (a claim_id whose lines are not consecutive is renamed
/// per run, "C7#1", so each claim can be committed and retracted alone).
struct ClaimsInOrder {
  ClaimBatch lines;
  std::vector<std::pair<RowIndex, RowIndex>> claims;  // [begin, end) rows of `lines`
};

inline ClaimsInOrder SplitIntoClaims(const ClaimBatch& in) {
  ClaimsInOrder out;
  const BigVector<RowIndex> order = ComputeLineOrder(in);
  out.lines = ClaimBatch(in.schema());
  std::map<std::string, int> runs;  // claim_id -> runs seen
  std::string prev;
  for (RowIndex k = 0; k < in.size(); ++k) {
    const RowIndex row = order[k];
    std::string id(in.String(kClaimId, row));
    const bool fresh = k == 0 || id != prev;
    prev = id;
    if (fresh) out.claims.push_back({k, k});
    out.claims.back().second = k + 1;
    const int run = fresh ? runs[id]++ : runs[id] - 1;
    AppendRows(in, row, row + 1, out.lines);
    Column& cid = out.lines.column(kClaimId);
    if (run > 0) cid.codes[k] = cid.dict.Intern(id + "#" + std::to_string(run));
  }
  return out;
}

/// "" when the online lines equal the reference's rows [begin, end) of
/// `batch`; with `settlement`, each payer's pay and the patient share too.
inline std::string CompareOnlineLines(const ClaimBatch& batch, const reference::RefResult& ref, RowIndex begin,
                                      RowIndex end, const ClaimVerdict& v, bool settlement = false) {
  if (v.lines.size() != end - begin) return "line count";
  for (RowIndex row = begin; row < end; ++row) {
    const OnlineLine& l = v.lines[row - begin];
    const std::string where = "line " + l.claim_id + "/" + std::to_string(l.line_no) + ": ";
    if (l.pay.size() != ref.pay.size()) return where + "payer count";
    if (settlement) {
      for (size_t p = 0; p < ref.pay.size(); ++p)
        if (l.pay[p] != ref.pay[p][row])
          return where + "payer " + std::to_string(p) + " pays " + std::to_string(l.pay[p]) + " vs " + std::to_string(ref.pay[p][row]);
      if (!ref.pay.empty() && l.patient != ref.patient[row])
        return where + "patient " + std::to_string(l.patient) + " vs " + std::to_string(ref.patient[row]);
    }
    if (static_cast<int>(l.status) != ref.status[row])
      return where + "status " + std::to_string(static_cast<int>(l.status)) + " vs " + std::to_string(ref.status[row]);
    if (l.deduction != ref.deduction[row])
      return where + "deduction " + std::to_string(l.deduction) + " vs " + std::to_string(ref.deduction[row]);
    if (l.primary_rule != ref.primary[row]) return where + "primary rule";
    const auto& want = ref.hits[row];
    if (l.hits.size() != want.size())
      return where + "hits " + std::to_string(l.hits.size()) + " vs " + std::to_string(want.size());
    for (size_t k = 0; k < want.size(); ++k) {
      const OnlineHit& h = l.hits[k];
      const reference::RefHit& e = want[k];
      if (h.rule != e.rule || h.deduction != e.deduction || static_cast<int>(h.evidence) != e.evidence)
        return where + "hit " + std::to_string(k) + " rule/deduction/evidence";
      if (e.evidence == 1 && (h.total != e.total || h.cap != e.cap))
        return where + "limit evidence " + std::to_string(static_cast<int64_t>(h.total)) + " vs " +
               std::to_string(static_cast<int64_t>(e.total));
      if (e.evidence == 2) {
        const RowIndex other = static_cast<RowIndex>(e.other);
        if (h.other_claim_id != batch.String(kClaimId, other) || h.other_line_no != batch.Int(kLineNo, other))
          return where + "other line " + h.other_claim_id + "/" + std::to_string(h.other_line_no);
      }
    }
  }
  return "";
}

/// Runs one random operation sequence on `source`; "" when every judgement
/// matched the reference, else what differed and the operations so far.
inline std::string CheckRandomHistoryOps(const RandomCase& source, uint64_t seed, const std::string& snapshot_path) {
  std::unique_ptr<Rules> rules = Rules::FromText("random.sanad", source.rules);
  if (!rules->ok()) return "rules do not compile: " + rules->RenderDiagnostics();
  for (const auto& [name, rows] : source.externals)
    if (!compiler::BindReferenceRows(*rules->mutable_plan(), name, rows, name).ok()) return "bind " + name;
  LoadOptions lo;
  lo.threads = 1;
  Result<LoadedClaims> loaded = ReadNdjson(source.claims_ndjson, rules->plan()->schema, lo);
  if (!loaded.ok()) return "load: " + loaded.status().message();
  const ClaimBatch& in = loaded->batch;

  ClaimsInOrder split = SplitIntoClaims(loaded->batch);
  const ClaimBatch& lines = split.lines;
  const std::vector<std::pair<RowIndex, RowIndex>>& claims = split.claims;
  dsl::DiagnosticBag diags;
  const dsl::ParseResult parsed = dsl::Parse(rules->source(), diags);

  // Arrival order: adjudication order with random adjacent swaps (late
  // claims). A late claim does not re-judge the lines committed before it
  // (docs/SEMANTICS.md §Online), while the reference judges every line
  // against all earlier-dated ones; the two agree unless a line's verdict
  // changes what later stages see. So claims arrive late only in rule sets
  // where no reject rule precedes a later stage.
  bool visibility_across_stages = false;
  int64_t last_stage = 0;
  for (const RulePlan& r : rules->plan()->rules) last_stage = std::max(last_stage, r.stage);
  for (const RulePlan& r : rules->plan()->rules) visibility_across_stages |= r.reject && r.stage < last_stage;
  std::mt19937_64 rng(seed);
  std::vector<size_t> arrival(claims.size());
  for (size_t c = 0; c < arrival.size(); ++c) arrival[c] = c;
  for (size_t c = 0; c + 1 < arrival.size(); ++c)
    if (!visibility_across_stages && rng() % 5 == 0) std::swap(arrival[c], arrival[c + 1]);
  std::vector<Days> first_day_from(arrival.size() + 1, INT32_MAX);  // earliest date still to come
  for (size_t k = arrival.size(); k-- > 0;) {
    Days d = INT32_MAX;
    for (RowIndex r = claims[arrival[k]].first; r < claims[arrival[k]].second; ++r)
      d = std::min(d, lines.Date(kServiceDate, r));
    first_day_from[k] = std::min(first_day_from[k + 1], d);
  }

  auto engine = std::make_unique<OnlineEngine>(*rules->plan());
  std::vector<size_t> survivors;  // in arrival order
  // Settlement equals the batch's while every committed claim came in
  // adjudication order and none was retracted: a committed line keeps the
  // settlement it got, and the running totals are the sums of what the
  // surviving lines took (docs/SEMANTICS.md, "Settlement online"), so after
  // a late claim or a retract later claims may differ from a batch of the
  // survivors, which reconcile lists.
  bool settlement_exact = true;
  size_t last_committed = 0;
  bool any_committed = false;
  std::string log;
  auto claim_batch = [&](size_t c) {
    ClaimBatch b(lines.schema());
    AppendRows(lines, claims[c].first, claims[c].second, b);
    return b;
  };
  for (size_t k = 0; k < arrival.size(); ++k) {
    const size_t c = arrival[k];
    switch (rng() % 8) {
      case 0:
        if (!survivors.empty()) {
          const size_t victim = rng() % survivors.size();
          const std::string id(lines.String(kClaimId, claims[survivors[victim]].first));
          log += "retract " + id + "; ";
          Status st = engine->Retract(id);
          if (!st.ok()) return log + "\nretract failed: " + st.message();
          settlement_exact = false;
          survivors.erase(survivors.begin() + static_cast<std::ptrdiff_t>(victim));
        }
        break;
      case 1:
        if (first_day_from[k] != INT32_MAX) {
          log += "compact " + std::to_string(first_day_from[k]) + "; ";
          Status st = engine->Compact(first_day_from[k]);
          if (!st.ok()) return log + "\ncompact failed: " + st.message();
        }
        break;
      case 2: {
        log += "snapshot+restore; ";
        Status st = engine->Snapshot(snapshot_path);
        if (!st.ok()) return log + "\nsnapshot failed: " + st.message();
        auto fresh = std::make_unique<OnlineEngine>(*rules->plan());
        st = fresh->Restore(snapshot_path);
        if (!st.ok()) return log + "\nrestore failed: " + st.message();
        engine = std::move(fresh);
        break;
      }
      default: break;
    }
    // The claim judged against the survivors: the reference on survivors + c.
    ClaimBatch probe(lines.schema());
    for (size_t s : survivors) AppendRows(lines, claims[s].first, claims[s].second, probe);
    const RowIndex begin = probe.size();
    AppendRows(lines, claims[c].first, claims[c].second, probe);
    for (RowIndex r = 0; r < probe.size(); ++r) probe.column(kSeq).ints[r] = static_cast<int64_t>(r) + 1;
    const reference::RefResult ref = reference::Evaluate(parsed.program, ToReferenceLines(probe), source.externals);
    const ClaimBatch claim = claim_batch(c);
    const bool commit = rng() % 6 != 0;  // otherwise the claim never arrives (a dry run only)
    log += (commit ? "commit " : "dry run ") + std::string(lines.String(kClaimId, claims[c].first)) + "; ";
    Result<ClaimVerdict> v = commit ? engine->CheckAndCommit(claim) : engine->Check(claim);
    if (!v.ok()) return log + "\nrefused: " + v.status().message();
    const std::string diff = CompareOnlineLines(probe, ref, begin, probe.size(), *v, settlement_exact);
    if (!diff.empty()) return log + "\n" + diff;
    if (commit) {
      survivors.push_back(c);
      if (any_committed && c < last_committed) settlement_exact = false;  // a late claim
      last_committed = any_committed ? std::max(last_committed, c) : c;
      any_committed = true;
    }
  }
  return "";
}

}  // namespace sanad::testing
