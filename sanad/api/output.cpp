#include "sanad/core/digits.h"
#include "sanad/api/output.h"

#include "sanad/api/summary.h"
#include "sanad/core/exec/plan_fingerprint.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <tbb/task_group.h>

namespace sanad {

std::string Int128ToString(__int128 v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  unsigned __int128 u = neg ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  char buf[48];
  int i = 47;
  buf[i] = 0;
  while (u) { buf[--i] = static_cast<char>('0' + static_cast<int>(u % 10)); u /= 10; }
  if (neg) buf[--i] = '-';
  return std::string(buf + i);
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
  }
  out += '"';
}

namespace {

bool EndsWith(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool IsNdjsonPath(const std::string& p) { return EndsWith(p, ".ndjson") || EndsWith(p, ".jsonl") || EndsWith(p, ".json"); }
bool IsCsvPath(const std::string& p) { return EndsWith(p, ".csv"); }

// RFC 4180: a cell with a comma, quote, CR or LF is quoted with quotes
// doubled; an empty string is written "" so it differs from an empty cell.
void AppendCsvField(std::string& out, std::string_view s) {
  if (!s.empty() && s.find_first_of(",\"\n\r") == std::string_view::npos) {
    out.append(s);
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto r = fmt::format_to(buf, "{}", v);
  out.append(buf, r);
}


// Formats rows [0, n) in parallel chunks and writes them in order. Windows
// of rows alternate between two sets of buffers: while this thread writes
// one window, the next is formatted (the write of 355 MB of verdicts took
// 0.3 s that formatting waited for).
template <typename Fn>
Status WriteRows(OutputFile& out, const std::string& header, size_t n, Fn format_row) {
  if (Status s = out.Write(header); !s.ok()) return s;
  constexpr size_t kRowsPerChunk = 1 << 15;
  constexpr size_t kChunksPerWindow = 16;
  constexpr size_t kRowsPerWindow = kRowsPerChunk * kChunksPerWindow;
  const size_t windows = (n + kRowsPerWindow - 1) / kRowsPerWindow;
  std::vector<std::string> bufs[2] = {std::vector<std::string>(kChunksPerWindow),
                                      std::vector<std::string>(kChunksPerWindow)};
  auto format = [&](size_t w) {
    const size_t base = w * kRowsPerWindow;
    const size_t chunks = std::min(kChunksPerWindow, (n - base + kRowsPerChunk - 1) / kRowsPerChunk);
    std::vector<std::string>& set = bufs[w % 2];
    tbb::parallel_for(size_t{0}, kChunksPerWindow, [&](size_t c) {
      std::string& b = set[c];
      b.clear();
      if (c >= chunks) return;
      const size_t begin = base + c * kRowsPerChunk, end = std::min(n, begin + kRowsPerChunk);
      for (size_t i = begin; i < end; ++i) format_row(b, i);
    });
  };
  if (windows > 0) format(0);
  for (size_t w = 0; w < windows; ++w) {
    tbb::task_group next;
    if (w + 1 < windows) next.run([&, w] { format(w + 1); });
    Status status = Status::Ok();
    for (const std::string& b : bufs[w % 2])
      if (status.ok() && !b.empty()) status = out.Write(b);
    next.wait();
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

}  // namespace

// SETTLEMENT.md §4: claim_id, line_no, allowed, <payer>..., patient,
// patient_paid, balance (the last two empty / null without patient_paid).
Status WriteSettlement(OutputFile& out, const Plan& plan, const ClaimBatch& batch, const Verdicts& v) {
  const bool json = IsNdjsonPath(out.path());
  const Settlement& st = v.settlement;
  const Column& paid = batch.column(kPatientPaid);
  std::string header;
  if (!json) {
    header = "claim_id,line_no,allowed";
    for (const PayerPlan& p : plan.payers) header += "," + p.name;
    header += ",patient,patient_paid,balance\n";
  }
  return WriteRows(out, header, batch.size(), [&](std::string& o, size_t i) {
    const RowIndex r = static_cast<RowIndex>(i);
    const bool has_paid = paid.valid.Get(r);
    if (json) {
      o += "{\"claim_id\":";
      AppendJsonString(o, batch.String(kClaimId, r));
      o += ",\"line_no\":";
      AppendInt(o, batch.Int(kLineNo, r));
      o += ",\"allowed\":";
      AppendInt(o, st.allowed[r]);
      for (size_t p = 0; p < plan.payers.size(); ++p) {
        o += ',';
        AppendJsonString(o, plan.payers[p].name);
        o += ':';
        AppendInt(o, st.pay[p][r]);
      }
      o += ",\"patient\":";
      AppendInt(o, st.patient[r]);
      o += ",\"patient_paid\":";
      if (has_paid) AppendInt(o, paid.ints[r]); else o += "null";
      o += ",\"balance\":";
      if (has_paid) AppendInt(o, st.patient[r] - paid.ints[r]); else o += "null";
      o += "}\n";
    } else {
      AppendCsvField(o, batch.String(kClaimId, r));
      o += ',';
      AppendInt(o, batch.Int(kLineNo, r));
      o += ',';
      AppendInt(o, st.allowed[r]);
      for (size_t p = 0; p < plan.payers.size(); ++p) {
        o += ',';
        AppendInt(o, st.pay[p][r]);
      }
      o += ',';
      AppendInt(o, st.patient[r]);
      o += ',';
      if (has_paid) AppendInt(o, paid.ints[r]);
      o += ',';
      if (has_paid) AppendInt(o, st.patient[r] - paid.ints[r]);
      o += '\n';
    }
  });
}

Status WriteVerdicts(OutputFile& out, const Plan& plan, const ClaimBatch& batch, const Verdicts& v) {
  const bool json = IsNdjsonPath(out.path());
  const int64_t* amount = batch.column(kAmount).ints.data();
  // One schema with Python's result.verdicts: the spec's columns, then the
  // claimed amount and the provider (docs/DATA.md §4).
  return WriteRows(out, json ? "" : "claim_id,line_no,status,deduction,payable,primary_rule,primary_code,rules,amount,provider_id\n",
                   batch.size(),
                   [&](std::string& o, size_t i) {
    const RowIndex r = static_cast<RowIndex>(i);
    const int32_t primary = v.primary_rule[r];
    if (json) {
      o += "{\"claim_id\":";
      AppendJsonString(o, batch.String(kClaimId, r));
      o += ",\"line_no\":";
      AppendInt(o, batch.Int(kLineNo, r));
      o += ",\"status\":\"";
      o += StatusName(v.status[r]);
      o += "\",\"deduction\":";
      AppendInt(o, v.deduction[r]);
      o += ",\"payable\":";
      AppendInt(o, amount[r] - v.deduction[r]);
      o += ",\"primary_rule\":";
      if (primary >= 0) AppendJsonString(o, plan.rules[static_cast<size_t>(primary)].name);
      else o += "null";
      o += ",\"primary_code\":";
      if (primary >= 0) AppendJsonString(o, plan.rules[static_cast<size_t>(primary)].code);
      else o += "null";
      o += ",\"rules\":[";
      for (uint32_t k = v.hit_begin[r]; k < v.hit_begin[r + 1]; ++k) {
        if (k > v.hit_begin[r]) o += ',';
        AppendJsonString(o, plan.rules[static_cast<size_t>(v.hits[k].rule)].name);
      }
      o += "],\"amount\":";
      AppendInt(o, amount[r]);
      o += ",\"provider_id\":";
      AppendJsonString(o, batch.String(kProviderId, r));
      o += "}\n";
    } else {
      AppendCsvField(o, batch.String(kClaimId, r));
      o += ',';
      AppendInt(o, batch.Int(kLineNo, r));
      o += ',';
      o += StatusName(v.status[r]);
      o += ',';
      AppendInt(o, v.deduction[r]);
      o += ',';
      AppendInt(o, amount[r] - v.deduction[r]);
      o += ',';
      if (primary >= 0) o += plan.rules[static_cast<size_t>(primary)].name;
      o += ',';
      if (primary >= 0) AppendCsvField(o, plan.rules[static_cast<size_t>(primary)].code);
      o += ',';
      for (uint32_t k = v.hit_begin[r]; k < v.hit_begin[r + 1]; ++k) {
        if (k > v.hit_begin[r]) o += ';';
        o += plan.rules[static_cast<size_t>(v.hits[k].rule)].name;
      }
      o += ',';
      AppendInt(o, amount[r]);
      o += ',';
      AppendCsvField(o, batch.String(kProviderId, r));
      o += '\n';
    }
  });
}

Status WriteHits(OutputFile& out, const Plan& plan, const ClaimBatch& batch, const Verdicts& v) {
  const bool json = IsNdjsonPath(out.path());
  return WriteRows(out, json ? "" : "claim_id,line_no,rule,code,action,deduction,evidence\n", v.hits.size(),
                   [&](std::string& o, size_t i) {
    const Hit& h = v.hits[i];
    const RulePlan& rule = plan.rules[static_cast<size_t>(h.rule)];
    if (json) {
      o += "{\"claim_id\":";
      AppendJsonString(o, batch.String(kClaimId, h.row));
      o += ",\"line_no\":";
      AppendInt(o, batch.Int(kLineNo, h.row));
      o += ",\"rule\":";
      AppendJsonString(o, rule.name);
      o += ",\"code\":";
      AppendJsonString(o, rule.code);
      o += rule.reject ? ",\"action\":\"reject\"" : ",\"action\":\"warn\"";
      o += ",\"deduction\":";
      AppendInt(o, h.deduction);
      o += ",\"evidence\":";
      switch (h.evidence) {
        case EvidenceKind::kNone: o += "null"; break;
        case EvidenceKind::kLimit:
          o += "{\"total\":" + Int128ToString(h.total) + ",\"cap\":";
          AppendInt(o, h.cap);
          o += '}';
          break;
        case EvidenceKind::kOtherLine:
          o += "{\"claim_id\":";
          AppendJsonString(o, batch.String(kClaimId, h.other));
          o += ",\"line_no\":";
          AppendInt(o, batch.Int(kLineNo, h.other));
          o += '}';
          break;
      }
      o += "}\n";
    } else {
      AppendCsvField(o, batch.String(kClaimId, h.row));
      o += ',';
      AppendInt(o, batch.Int(kLineNo, h.row));
      o += ',';
      o += rule.name;
      o += ',';
      AppendCsvField(o, rule.code);
      o += rule.reject ? ",reject," : ",warn,";
      AppendInt(o, h.deduction);
      o += ',';
      switch (h.evidence) {
        case EvidenceKind::kNone: break;
        case EvidenceKind::kLimit:
          o += "total=" + Int128ToString(h.total) + ";cap=";
          AppendInt(o, h.cap);
          break;
        case EvidenceKind::kOtherLine: {
          // line_no first: the claim id (any text) runs to the end of the cell.
          std::string ev = "line_no=" + std::to_string(batch.Int(kLineNo, h.other)) + ";claim_id=" +
                           std::string(batch.String(kClaimId, h.other));
          AppendCsvField(o, ev);
          break;
        }
      }
      o += '\n';
    }
  });
}


namespace {

std::string NullableInt(bool present, __int128 v) { return present ? Int128ToString(v) : std::string("null"); }

// The summary's settlement section (SETTLEMENT.md §4).
void AppendSettlementJson(std::string& o, const SettlementSummary& s) {
  o += ",\n  \"settlement\": {\n    \"payers\": [";
  for (size_t i = 0; i < s.payers.size(); ++i) {
    const PayerStats& p = s.payers[i];
    o += i ? ",\n      " : "\n      ";
    o += "{\"payer\": ";
    AppendJsonString(o, p.payer);
    o += fmt::format(", \"lines_covered\": {}, \"deductible\": {}, \"paid\": {}}}", p.lines_covered, Int128ToString(p.deductible),
                     Int128ToString(p.paid));
  }
  o += s.payers.empty() ? "],\n" : "\n    ],\n";
  o += fmt::format("    \"totals\": {{\"allowed\": {}, \"patient\": {}, \"patient_paid\": {}, \"balance\": {}}},\n",
                   Int128ToString(s.allowed), Int128ToString(s.patient), NullableInt(s.with_paid, s.patient_paid),
                   NullableInt(s.with_paid, s.balance));
  o += "    \"insured\": [";
  for (size_t i = 0; i < s.insured.size(); ++i) {
    const InsuredSettlement& is = s.insured[i];
    o += i ? ",\n      " : "\n      ";
    o += "{\"insured_id\": ";
    AppendJsonString(o, is.insured_id);
    o += ", \"allowed\": " + Int128ToString(is.allowed) + ", \"paid\": {";
    for (size_t p = 0; p < s.payers.size(); ++p) {
      if (p) o += ", ";
      AppendJsonString(o, s.payers[p].payer);
      o += ": " + Int128ToString(is.paid[p]);
    }
    o += fmt::format("}}, \"patient\": {}, \"patient_paid\": {}, \"balance\": {}}}", Int128ToString(is.patient),
                     NullableInt(is.with_paid, is.patient_paid), NullableInt(is.with_paid, is.balance));
  }
  o += s.insured.empty() ? "]\n  }" : "\n    ]\n  }";
}

}  // namespace

Status WriteSummaryJson(OutputFile& out, const Plan& plan, const ClaimBatch& batch, const Verdicts& v,
                        const LoadCounts& counts) {
  const Summary t = Summarize(plan, batch, v);
  std::string o = "{\n  \"ruleset\": ";
  AppendJsonString(o, plan.ruleset_name);
  o += ",\n  \"fingerprint\": \"" + PlanFingerprint(plan).ToString() + "\"";
  o += fmt::format(",\n  \"records_read\": {},\n  \"records_loaded\": {},\n  \"errors\": {},\n", counts.records_read,
                   counts.records_loaded, counts.errors);
  o += fmt::format("  \"totals\": {{\"lines\": {}, \"accepted\": {}, \"warned\": {}, \"rejected\": {}, \"amount\": {}, "
                   "\"deduction\": {}, \"payable\": {}}},\n",
                   batch.size(), t.accepted, t.warned, t.rejected, Int128ToString(t.amount), Int128ToString(t.deduction),
                   Int128ToString(t.amount - t.deduction));
  o += "  \"rules\": [";
  for (size_t i = 0; i < plan.rules.size(); ++i) {
    const RulePlan& r = plan.rules[i];
    const RuleStats& s = v.rules[i];
    o += i ? ",\n    " : "\n    ";
    o += "{\"rule\": ";
    AppendJsonString(o, r.name);
    o += ", \"title\": ";
    AppendJsonString(o, r.title);
    o += ", \"code\": ";
    AppendJsonString(o, r.code);
    o += fmt::format(", \"stage\": {}, \"action\": \"{}\", \"population\": {}, \"hits\": {}, \"deduction\": {}}}", r.stage,
                     r.reject ? "reject" : "warn", s.population, s.hits, Int128ToString(s.deduction));
  }
  o += plan.rules.empty() ? "],\n" : "\n  ],\n";
  o += "  \"codes\": [";
  for (size_t i = 0; i < t.codes.size(); ++i) {
    const CodeStats& c = t.codes[i];
    o += i ? ",\n    " : "\n    ";
    o += "{\"code\": ";
    AppendJsonString(o, c.code);
    o += fmt::format(", \"hits\": {}, \"deduction\": {}, \"primary_lines\": {}, \"primary_deduction\": {}}}", c.hits,
                     Int128ToString(c.deduction), c.primary_lines, Int128ToString(c.primary_deduction));
  }
  o += t.codes.empty() ? "],\n" : "\n  ],\n";
  o += "  \"providers\": [";
  const std::vector<ProviderStats>& providers = t.providers;
  for (size_t i = 0; i < providers.size(); ++i) {
    const ProviderStats& s = providers[i];
    o += i ? ",\n    " : "\n    ";
    o += "{\"provider_id\": ";
    AppendJsonString(o, s.provider_id);
    o += fmt::format(", \"lines\": {}, \"rejected\": {}, \"warned\": {}, \"deduction\": {}}}", s.lines, s.rejected, s.warned,
                     Int128ToString(s.deduction));
  }
  o += providers.empty() ? "]" : "\n  ]";
  if (!plan.payers.empty()) AppendSettlementJson(o, t.settlement);
  o += "\n}\n";
  return out.Write(o);
}

// For people: thousands separated by commas ("12,500,000"). Files keep plain digits.
std::string Grouped(__int128 v) { return GroupDigits(Int128ToString(v), ','); }

std::string SummaryTable(const Plan& plan, const ClaimBatch& batch, const Verdicts& v, const LoadCounts& counts) {
  const Summary t = Summarize(plan, batch, v);
  std::string o;
  if (!plan.ruleset_name.empty()) o += "rule set: " + plan.ruleset_name + "\n";
  o += fmt::format("records read {}, loaded {}, errors {}; lines {}\n", Grouped(counts.records_read),
                   Grouped(counts.records_loaded), Grouped(counts.errors), Grouped(batch.size()));
  o += fmt::format("accepted {}, warned {}, rejected {}\n", Grouped(t.accepted), Grouped(t.warned), Grouped(t.rejected));
  o += fmt::format("amount {}, deduction {}, payable {}\n\n", Grouped(t.amount), Grouped(t.deduction), Grouped(t.payable()));
  size_t w = 4;
  for (const RulePlan& r : plan.rules) w = std::max(w, r.name.size());
  o += fmt::format("{:<{}}  {:>5}  {:>6}  {:>12}  {:>10}  {:>18}\n", "rule", w, "stage", "action", "population", "hits",
                   "deduction");
  for (size_t i = 0; i < plan.rules.size(); ++i) {
    const RulePlan& r = plan.rules[i];
    const RuleStats& s = v.rules[i];
    o += fmt::format("{:<{}}  {:>5}  {:>6}  {:>12}  {:>10}  {:>18}\n", r.name, w, r.stage, r.reject ? "reject" : "warn",
                     Grouped(s.population), Grouped(s.hits), Grouped(s.deduction));
  }
  if (!plan.payers.empty()) {
    const SettlementSummary& st = t.settlement;
    size_t pw = std::string_view("patient").size();
    for (const PayerStats& p : st.payers) pw = std::max(pw, p.payer.size());
    o += fmt::format("\n{:<{}}  {:>14}  {:>18}  {:>18}\n", "payer", pw, "lines covered", "deductible", "paid");
    for (const PayerStats& p : st.payers)
      o += fmt::format("{:<{}}  {:>14}  {:>18}  {:>18}\n", p.payer, pw, Grouped(p.lines_covered), Grouped(p.deductible), Grouped(p.paid));
    o += fmt::format("{:<{}}  {:>14}  {:>18}  {:>18}\n", "patient", pw, "", "", Grouped(st.patient));
    if (st.with_paid)
      o += fmt::format("hand-settled: patients paid {}, balance {} (positive: top-ups owed; negative: refunds)\n",
                       Grouped(st.patient_paid), Grouped(st.balance));
  }
  return o;
}

Status CheckOutputPath(const std::string& path, bool summary) {
  if (path == "-") return Status::Ok();  // standard output: CSV (the summary: JSON)
  if (summary ? EndsWith(path, ".json") : (IsNdjsonPath(path) || IsCsvPath(path))) return Status::Ok();
  return Status::Invalid(path + ": unknown output format (use " + (summary ? ".json" : ".csv, .ndjson, .jsonl or .json") + ")");
}

}  // namespace sanad

namespace sanad {
namespace {
template <typename Fn>
Status WriteWhole(const std::string& path, Fn write, bool summary = false) {
  SANAD_RETURN_IF_ERROR(CheckOutputPath(path, summary));
  Result<std::unique_ptr<OutputFile>> out = OutputFile::Create(path);
  if (!out.ok()) return out.status();
  if (Status s = write(**out); !s.ok()) return s;
  return (*out)->Commit();
}
}  // namespace

Status WriteVerdicts(const std::string& path, const Plan& plan, const ClaimBatch& batch, const Verdicts& v) {
  return WriteWhole(path, [&](OutputFile& o) { return WriteVerdicts(o, plan, batch, v); });
}
Status WriteHits(const std::string& path, const Plan& plan, const ClaimBatch& batch, const Verdicts& v) {
  return WriteWhole(path, [&](OutputFile& o) { return WriteHits(o, plan, batch, v); });
}
Status WriteSettlement(const std::string& path, const Plan& plan, const ClaimBatch& batch, const Verdicts& v) {
  return WriteWhole(path, [&](OutputFile& o) { return WriteSettlement(o, plan, batch, v); });
}
Status WriteSummaryJson(const std::string& path, const Plan& plan, const ClaimBatch& batch, const Verdicts& v,
                        const LoadCounts& counts) {
  return WriteWhole(path, [&](OutputFile& o) { return WriteSummaryJson(o, plan, batch, v, counts); }, /*summary=*/true);
}

}  // namespace sanad
