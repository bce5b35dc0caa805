#pragma once
/// OnlineEngine: judges one claim at a time against history, in-process
/// (LANGUAGE.md §5). The insurer's backend calls it while a prescription is
/// registered; month-end batch re-adjudication stays authoritative.
///
///   OnlineEngine engine(*rules->plan());        // plan must outlive the engine
///   engine.Preload(history_batch);              // optional, once, while empty
///   auto v = engine.CheckAndCommit(claim);      // judged, then joins history
///   engine.Retract("C-17");                     // history as if C-17 never came
///   engine.Snapshot("state.snap"); engine.Restore("state.snap");
///
/// Semantics. A claim's lines get seq values after everything committed and
/// are judged by the same rules as a batch: a line sees the history lines
/// with service_date <= its own (they all arrived earlier). Processing claims
/// in (service_date, seq) order therefore gives exactly the batch verdicts;
/// a late claim is judged against what came before it by date, and the
/// already committed lines keep the verdicts they got (Reconcile lists the
/// lines whose batch verdict differs). Stages work as in a batch: a line
/// rejected by an earlier stage enters no later stage's history.
///
/// State. Per rule and group of `per` keys, a log of the history lines the
/// rule can still see (core/exec/window_log.h, shared with the batch
/// evaluator); limits keep running totals. Per payer and scope group, the
/// settled lines with running sums (core/exec/settle/settle_log.h): a new
/// line is settled against the committed lines dated on or before it, like
/// the rules, and a retracted claim's lines leave the sums.
/// Compact(D) drops what no claim dated >= D can see, and later claims
/// dated < D are refused. The columnar history itself (about 80 bytes a
/// line plus dictionaries) is kept for Retract, Reconcile and Snapshot.
///
/// Threads. Every call is serialised by one lock (linearizable: the result
/// equals some one-at-a-time order); JSON parsing happens outside it.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sanad/core/claim_batch.h"
#include "sanad/core/exec/plan.h"
#include "sanad/core/exec/verdicts.h"
#include "sanad/core/status.h"

namespace sanad {

/// One rule's hit on a line of the claim, with its evidence (DATA.md §4).
struct OnlineHit {
  int32_t rule = 0;  // declaration index in the plan
  int64_t deduction = 0;
  EvidenceKind evidence = EvidenceKind::kNone;
  __int128 total = 0;  // limit: R_i
  int64_t cap = 0;     // limit: L_i
  std::string other_claim_id;  // repeat / conflict: the earlier line
  int64_t other_line_no = 0;
};

struct OnlineLine {
  std::string claim_id;
  int64_t line_no = 0;
  int64_t seq = 0;  // assigned by the engine
  Days service_date = 0;
  int64_t amount = 0;
  LineStatus status = LineStatus::kAccepted;
  int64_t deduction = 0;
  int32_t primary_rule = -1;
  std::vector<OnlineHit> hits;  // rule declaration order
  int64_t payable() const { return amount - deduction; }
  // Settlement (SETTLEMENT.md §5), when the rule set declares payers: each
  // payer's pay on the line (declaration order) and the patient's share.
  std::vector<int64_t> pay;
  int64_t patient = 0;
};

/// The verdicts of one claim's lines, in the claim's input order.
struct ClaimVerdict {
  std::vector<OnlineLine> lines;
};

/// A line whose batch verdict differs from the verdict it got online.
struct ReconcileDiff {
  std::string claim_id;
  int64_t line_no = 0;
  bool seen_online = false;  // false: the line never reached the engine
  LineStatus online_status = LineStatus::kAccepted, batch_status = LineStatus::kAccepted;
  int64_t online_deduction = 0, batch_deduction = 0;
  int32_t online_primary = -1, batch_primary = -1;
  // Settlement: each payer's pay and the patient share, online and in the
  // batch (empty without payers); a difference here alone also lists the line.
  std::vector<int64_t> online_pay, batch_pay;
  int64_t online_patient = 0, batch_patient = 0;
};

struct OnlineMemory {
  int64_t history_lines = 0;  // committed, not retracted
  int64_t keys = 0;           // distinct key tuples over all `per` lists (what SetKeyBudget bounds)
  int64_t groups = 0;         // (rule, key) groups with state
  int64_t entries = 0;        // log entries over all groups
  size_t state_bytes = 0;     // logs and key maps
  size_t history_bytes = 0;   // columnar history, dictionaries and per-line bookkeeping
};

class OnlineEngine {
 public:
  /// `plan` must outlive the engine. A plan with an `external` object
  /// still unbound makes every call (Preload, Check..., Restore, Reconcile)
  /// return that NotFound status: ready() tells at once.
  explicit OnlineEngine(const Plan& plan);
  /// Ok, or why the engine cannot judge claims (unbound reference data).
  const Status& ready() const { return ready_; }
  ~OnlineEngine();
  OnlineEngine(const OnlineEngine&) = delete;
  OnlineEngine& operator=(const OnlineEngine&) = delete;

  /// Loads a batch as history, judged as a batch (its verdicts become the
  /// lines' online verdicts). Only on an empty engine.
  Status Preload(const ClaimBatch& history, int threads = 0);

  /// Judges the claim (all lines one claim_id; schema = the plan's) without
  /// changing history.
  Result<ClaimVerdict> Check(const ClaimBatch& claim);
  /// Judges the claim and appends it to history, atomically.
  Result<ClaimVerdict> CheckAndCommit(const ClaimBatch& claim);
  /// The same from one NDJSON record (a flat line or a claim with `lines`).
  Result<ClaimVerdict> CheckJson(std::string_view record, bool commit);

  /// Voids a committed claim: history becomes as if it had never arrived.
  Status Retract(std::string_view claim_id);
  /// Drops state no claim dated >= `before` can see; refuses older claims later.
  Status Compact(Days before);

  /// Lines of `batch` whose batch verdict differs from their online verdict
  /// (matched by claim_id and line_no), in the batch's input order.
  Result<std::vector<ReconcileDiff>> Reconcile(const ClaimBatch& batch, int threads = 0) const;

  /// Whole state to a file: versioned, xxHash-checksummed. Restore refuses a
  /// truncated, corrupted or foreign snapshot and then leaves the engine as it was.
  Status Snapshot(const std::string& path) const;
  Status Restore(const std::string& path);

  /// Bounds the distinct key tuples (over every `per` list) the engine keeps;
  /// a claim that would exceed it is refused (StatusCode::kLimitExceeded)
  /// and changes nothing. 0 (the default) means no bound.
  void SetKeyBudget(int64_t max_keys);

  OnlineMemory Memory() const;
  const Plan& plan() const { return plan_; }

 private:
  struct Guarded;  // the engine's state and the lock that serialises calls (online_engine.cpp)
  Result<ClaimVerdict> Judge(const ClaimBatch& claim, bool commit);
  const Plan& plan_;
  Status ready_;
  std::unique_ptr<Guarded> g_;
};

}  // namespace sanad
