#pragma once
/// Summary: the totals and the per-provider table of one evaluation
/// (DATA.md §4), computed once here for every output — the JSON summary,
/// the CLI's table and Python's `totals` / `provider_summary`.

#include <string_view>
#include <vector>

#include "sanad/core/claim_batch.h"
#include "sanad/core/exec/plan.h"
#include "sanad/core/exec/verdicts.h"

namespace sanad {

/// "accepted" | "warned" | "rejected": the one spelling of line statuses.
const char* StatusName(LineStatus s);

struct ProviderStats {
  std::string_view provider_id;  // points into the batch's dictionary
  int64_t lines = 0, rejected = 0, warned = 0;
  __int128 deduction = 0;
};

/// One reason code (LANGUAGE.md §4 `code`, DATA.md §4): its hits and the sum
/// of their deductions (two rules of one code on one line count twice), and
/// the lines and deduction for which it is the primary code.
struct CodeStats {
  std::string_view code;  // points into the plan
  int64_t hits = 0, primary_lines = 0;
  __int128 deduction = 0, primary_deduction = 0;
};

/// SETTLEMENT.md §4: one payer's totals.
struct PayerStats {
  std::string_view payer;  // points into the plan
  int64_t lines_covered = 0;  // lines in its population, paid or not
  __int128 deductible = 0, paid = 0;
};

/// One insured's settlement (the refund / top-up list of a re-entry month).
/// patient_paid and balance sum the lines that carry patient_paid; `with_paid`
/// says whether any does (else both are null).
struct InsuredSettlement {
  std::string_view insured_id;  // points into the batch's dictionary
  __int128 allowed = 0, patient = 0, patient_paid = 0, balance = 0;
  std::vector<__int128> paid;   // per payer
  bool with_paid = false;
};

struct SettlementSummary {
  std::vector<PayerStats> payers;  // declaration order
  __int128 allowed = 0, patient = 0, patient_paid = 0, balance = 0;
  bool with_paid = false;
  std::vector<InsuredSettlement> insured;  // insured with lines, sorted by insured_id bytes
};

struct Summary {
  int64_t lines = 0, accepted = 0, warned = 0, rejected = 0;
  __int128 amount = 0, deduction = 0;  // exact: sums of int64 over any number of lines
  __int128 payable() const { return amount - deduction; }
  std::vector<ProviderStats> providers;  // providers with lines, sorted by provider_id bytes
  std::vector<CodeStats> codes;          // every code, in order of its first rule's declaration
  SettlementSummary settlement;          // empty unless the rule set declares payers
};

/// `plan` and `batch` must outlive the result (codes and ids are views into them).
Summary Summarize(const Plan& plan, const ClaimBatch& batch, const Verdicts& v);

}  // namespace sanad
