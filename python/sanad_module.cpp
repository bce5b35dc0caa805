// _sanad: the pybind11 core of the `sanad` Python package (python/sanad/).
// It exposes compiled rule sets, loaded claims, batch results as NumPy
// arrays (string columns as dictionary codes + categories, so no per-line
// Python objects are built here), and the online engine. The pandas-facing
// API, compare() and reports live in sanad/__init__.py.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sanad/version.h"
#include "sanad/compiler/reference_data.h"
#include "sanad/core/big_vector.h"
#include "sanad/core/exec/batch_evaluator.h"
#include "sanad/core/exec/bound_plan.h"
#include "sanad/core/exec/checks/population.h"
#include "sanad/core/exec/deduction.h"
#include "sanad/core/exec/expr_evaluator.h"
#include "sanad/core/exec/key_partitions.h"
#include "sanad/core/exec/line_order.h"
#include "sanad/core/exec/settle/payer_step.h"
#include "sanad/core/exec/plan_fingerprint.h"
#include "sanad/core/exec/plan_printer.h"
#include "sanad/core/ingest/chunk_builder.h"
#include "sanad/core/ingest/claims_reader.h"
#include "sanad/online/online_engine.h"
#include "sanad/api/evaluation.h"
#include "sanad/api/output.h"
#include "sanad/api/summary.h"
#include "sanad/api/rules.h"

namespace py = pybind11;

namespace sanad::python {
namespace {

[[noreturn]] void Throw(const Status& st) {
  if (st.code() == StatusCode::kCancelled) {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
  if (st.code() == StatusCode::kIoError) throw std::runtime_error(st.message());
  if (st.code() == StatusCode::kNotFound) throw py::key_error(st.message());
  throw py::value_error(st.message());
}

// Ctrl-C during long work without the GIL: Python's own SIGINT handler
// would run only after the work returned, so for its duration (on the main
// thread, where Python takes signals) a C handler sets a StopFlag the
// loaders and the evaluator poll; they return kCancelled, which Throw turns
// into KeyboardInterrupt. The previous handler is restored after.
StopFlag g_interrupted{false};
extern "C" void OnSigint(int) { g_interrupted.store(true); }

class InterruptGuard {
 public:
  InterruptGuard() {  // with the GIL held
    const py::object main = py::module_::import("threading").attr("main_thread")();
    if (py::cast<unsigned long>(main.attr("ident")) != PyThread_get_thread_ident()) return;
    g_interrupted.store(false);
    struct sigaction sa {};
    sa.sa_handler = OnSigint;
    sigemptyset(&sa.sa_mask);
    on_ = ::sigaction(SIGINT, &sa, &old_) == 0;
  }
  ~InterruptGuard() {
    if (on_) ::sigaction(SIGINT, &old_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  const StopFlag* flag() const { return on_ ? &g_interrupted : nullptr; }
  // Ctrl-C that came after the last poll still interrupts the Python code.
  void ThrowIfInterrupted() const {
    if (on_ && g_interrupted.load()) Throw(Status::Cancelled("interrupted"));
  }

 private:
  bool on_ = false;
  struct sigaction old_ {};
};

template <typename T>
py::array_t<T> ToArray(const T* data, size_t n) {
  py::array_t<T> a(static_cast<py::ssize_t>(n));
  if (n) std::copy(data, data + n, a.mutable_data());
  return a;
}

std::vector<std::string> DictStrings(const StringDictionary& d) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(d.size()));
  for (int32_t c = 0; c < d.size(); ++c) out.emplace_back(d.View(c));
  return out;
}

// ---- rule sets ----

struct RuleSet {
  std::unique_ptr<Rules> rules;
  std::string rendered;
};

py::tuple Compile(const std::string& name, const std::string& text) {
  auto rs = std::make_shared<RuleSet>();
  rs->rules = Rules::FromText(name, text);
  py::list diags;
  for (const dsl::Diagnostic& d : rs->rules->diagnostics().diagnostics()) {
    const dsl::SourceFile& src = rs->rules->source();
    diags.append(py::make_tuple(d.code, d.severity == dsl::Severity::kError ? "error" : "warning", d.message,
                                src.Line(d.span.begin), src.Column(d.span.begin), dsl::Render(d, src)));
  }
  rs->rendered = rs->rules->RenderDiagnostics();
  return py::make_tuple(rs->rules->ok() ? py::cast(rs) : py::none(), diags, rs->rendered);
}

// ---- claims ----

struct Claims {
  LoadedClaims loaded;
};

std::shared_ptr<Claims> ReadFile(const std::string& path, const RuleSet* rs, bool skip_errors, int threads) {
  LoadOptions opt;
  opt.on_error = skip_errors ? OnError::kSkip : OnError::kFail;
  opt.threads = threads;
  const Schema schema = rs ? rs->rules->plan()->schema : Schema::Standard();
  InterruptGuard interrupt;
  opt.stop = interrupt.flag();
  Result<LoadedClaims> r = [&] {
    py::gil_scoped_release nogil;
    return ReadClaimsFile(path, schema, opt);
  }();
  interrupt.ThrowIfInterrupted();
  if (!r.ok()) Throw(r.status());
  auto c = std::make_shared<Claims>();
  c->loaded = std::move(r.value());
  return c;
}

std::shared_ptr<Claims> ReadText(const std::string& text, bool csv, const RuleSet* rs, bool skip_errors) {
  LoadOptions opt;
  opt.on_error = skip_errors ? OnError::kSkip : OnError::kFail;
  const Schema schema = rs ? rs->rules->plan()->schema : Schema::Standard();
  Result<LoadedClaims> r = csv ? ReadCsv(text, schema, opt) : ReadNdjson(text, schema, opt);
  if (!r.ok()) Throw(r.status());
  auto c = std::make_shared<Claims>();
  c->loaded = std::move(r.value());
  return c;
}

// Columns prepared by Python (sanad/__init__.py, _normalise_column):
//   ("int"|"date"|"bool", values int64 array, present uint8 array)
//   ("cat", codes int32 array (-1 = null), categories list of str)
// Each row goes through the same validation as file input (ChunkBuilder).
// Two phases in one function (92 lines): every column checked against its
// field, then one pass over the rows with the GIL released, building records
// exactly as the file readers do.
std::shared_ptr<Claims> FromColumns(const py::dict& columns, int64_t rows, const RuleSet* rs, bool skip_errors) {
  const Schema schema = rs ? rs->rules->plan()->schema : Schema::Standard();
  LoadOptions opt;
  opt.on_error = skip_errors ? OnError::kSkip : OnError::kFail;
  struct Col {
    int kind = -1;  // 0 ints, 1 strings
    py::array_t<int64_t> values;
    py::array_t<uint8_t> present;
    py::array_t<int32_t> codes;
    std::vector<std::string> cats;
  };
  std::vector<Col> cols(static_cast<size_t>(schema.size()));
  // Cells Python could not convert exactly: (row -> first field, message),
  // refused like bad file records.
  std::map<int64_t, std::pair<std::string, std::string>> refused;
  for (auto item : columns) {
    const std::string name = py::cast<std::string>(item.first);
    const int f = schema.Find(name);
    if (f < 0) continue;  // undeclared fields are ignored, as in files
    py::tuple t = py::reinterpret_borrow<py::tuple>(item.second);
    const std::string kind = py::cast<std::string>(t[0]);
    Col& c = cols[static_cast<size_t>(f)];
    const ValueType type = schema.field(f).type;
    if (kind == "cat") {
      if (type != ValueType::kString) throw py::type_error("column '" + name + "' holds strings but the field is " + std::string(ValueTypeName(type)));
      c.kind = 1;
      c.codes = py::cast<py::array_t<int32_t>>(t[1]);
      c.cats = py::cast<std::vector<std::string>>(t[2]);
      if (t.size() > 3)
        for (auto cell : py::reinterpret_borrow<py::list>(t[3])) {
          py::tuple rc = py::reinterpret_borrow<py::tuple>(cell);
          refused.emplace(py::cast<int64_t>(rc[0]), std::make_pair(name, py::cast<std::string>(rc[1])));
        }
    } else {
      if (type == ValueType::kString) throw py::type_error("column '" + name + "' must hold strings (field type string), got " + kind);
      if ((kind == "date") != (type == ValueType::kDate) || (kind == "bool") != (type == ValueType::kBool))
        throw py::type_error("column '" + name + "' holds " + kind + " values but the field is " + std::string(ValueTypeName(type)));
      c.kind = 0;
      c.values = py::cast<py::array_t<int64_t>>(t[1]);
      c.present = py::cast<py::array_t<uint8_t>>(t[2]);
      if (t.size() > 3)
        for (auto cell : py::reinterpret_borrow<py::list>(t[3])) {
          py::tuple rc = py::reinterpret_borrow<py::tuple>(cell);
          refused.emplace(py::cast<int64_t>(rc[0]), std::make_pair(name, py::cast<std::string>(rc[1])));
        }
    }
    const int64_t len = c.kind == 1 ? c.codes.size() : c.values.size();
    if (len != rows) throw py::value_error("column '" + name + "' has " + std::to_string(len) + " rows, expected " + std::to_string(rows));
  }
  auto out = std::make_shared<Claims>();
  {
    py::gil_scoped_release nogil;
    std::vector<ChunkBuilder> chunks;
    chunks.emplace_back(schema, opt);
    ChunkBuilder& b = chunks[0];
    std::vector<RawValue> raw(static_cast<size_t>(schema.size()));
    for (int64_t r = 0; r < rows; ++r) {
      for (int f = 0; f < schema.size(); ++f) {
        const Col& c = cols[static_cast<size_t>(f)];
        RawValue& v = raw[static_cast<size_t>(f)];
        v = RawValue();
        if (c.kind == 1) {
          const int32_t code = c.codes.data()[r];
          if (code >= 0 && static_cast<size_t>(code) < c.cats.size()) {
            v.state = RawValue::kValue;
            v.s = c.cats[static_cast<size_t>(code)];
          } else {
            v.state = RawValue::kNull;
          }
        } else if (c.kind == 0) {
          v.state = c.present.data()[r] ? RawValue::kValue : RawValue::kNull;
          v.i = c.values.data()[r];
        }
      }
      b.BeginRecord(r + 1);
      LoadError err;
      if (auto bad = refused.find(r); bad != refused.end()) {
        err.field = bad->second.first;
        err.message = bad->second.second;
        b.FailRecord(err);
      } else if (b.AppendLine(raw.data(), &err)) {
        b.CommitRecord();
      } else {
        err.line = r + 1;
        b.FailRecord(err);
      }
      ++b.line_count;
    }
    Result<LoadedClaims> res = AssembleChunks(chunks, schema, opt);
    if (!res.ok()) {
      py::gil_scoped_acquire gil;
      Throw(res.status());
    }
    out->loaded = std::move(res.value());
  }
  return out;
}

py::dict ClaimsErrors(const Claims& c) {
  std::vector<int64_t> line;
  py::list field, message;
  for (const LoadError& e : c.loaded.errors) {
    line.push_back(e.line);
    field.append(e.field);
    message.append(e.message);
  }
  py::dict d;
  d["line"] = ToArray(line.data(), line.size());
  d["field"] = field;
  d["message"] = message;
  return d;
}

// Columns of the loaded claims: strings as (codes, categories).
py::dict ClaimsColumns(const Claims& c) {
  const ClaimBatch& b = c.loaded.batch;
  py::dict out;
  for (int f = 0; f < b.schema().size(); ++f) {
    const Column& col = b.column(f);
    const std::string& name = b.schema().field(f).name;
    std::vector<uint8_t> present(b.size(), 1);
    if (col.nullable)
      for (RowIndex r = 0; r < b.size(); ++r) present[r] = col.valid.Get(r);
    switch (col.type) {
      case ValueType::kString:
        out[name.c_str()] = py::make_tuple("cat", ToArray(col.codes.data(), b.size()), DictStrings(col.dict));
        break;
      case ValueType::kDate:
        out[name.c_str()] = py::make_tuple("date", ToArray(col.codes.data(), b.size()), ToArray(present.data(), b.size()));
        break;
      case ValueType::kInt:
        out[name.c_str()] = py::make_tuple("int", ToArray(col.ints.data(), b.size()), ToArray(present.data(), b.size()));
        break;
      case ValueType::kBool: {
        std::vector<uint8_t> v(b.size());
        for (RowIndex r = 0; r < b.size(); ++r) v[r] = col.bits.Get(r);
        out[name.c_str()] = py::make_tuple("bool", ToArray(v.data(), b.size()), ToArray(present.data(), b.size()));
        break;
      }
    }
  }
  return out;
}

// ---- batch results ----

struct EvalResult {
  std::shared_ptr<RuleSet> rules;
  std::shared_ptr<Claims> claims;
  std::unique_ptr<BoundPlan> bound;
  Verdicts v;
  double seconds = 0;
};

// `rules`: the slice of the rule set to run (EvalOptions::rules; empty: all).
std::shared_ptr<EvalResult> EvaluateClaims(const std::shared_ptr<RuleSet>& rs, const std::shared_ptr<Claims>& claims, int threads,
                                           const std::vector<uint8_t>& rules, bool settle) {
  auto r = std::make_shared<EvalResult>();
  r->rules = rs;
  r->claims = claims;
  Result<Evaluation> e = Status::Ok();
  InterruptGuard interrupt;
  {
    py::gil_scoped_release nogil;
    const auto t = std::chrono::steady_clock::now();
    EvalOptions opt;
    opt.threads = threads;
    opt.stop = interrupt.flag();
    opt.rules = rules;
    opt.settle = settle;
    e = Evaluate(*rs->rules, claims->loaded, opt);
    r->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  interrupt.ThrowIfInterrupted();
  if (!e.ok()) {
    if (e.status().message().find("other fields") != std::string::npos)
      throw py::value_error("the claims were loaded for other fields than this rule set declares; load them with ruleset=<this rule set>");
    Throw(e.status());
  }
  r->bound = std::move(e->bound);
  r->v = std::move(e->verdicts);
  return r;
}

// Payers [first, last) over lines whose deductions are given (a distributed
// run's merged verdicts) and whose left before `first` is `left` (None: the
// allowed amount): each payer's pay, deductible and population, and the left after.
py::dict SettleClaimsSlice(const std::shared_ptr<RuleSet>& rs, const std::shared_ptr<Claims>& claims,
                           const py::array_t<int64_t, py::array::c_style | py::array::forcecast>& deduction,
                           const std::optional<py::array_t<int64_t, py::array::c_style | py::array::forcecast>>& left,
                           size_t first, size_t last, int threads) {
  const RowIndex n = claims->loaded.batch.size();
  if (static_cast<RowIndex>(deduction.size()) != n || (left && static_cast<RowIndex>(left->size()) != n))
    throw py::value_error("settle_slice: one deduction (and left) per line");
  BigVector<int64_t> ded(deduction.data(), deduction.data() + n);
  PayerSlice slice{first, last, left ? left->data() : nullptr};
  Result<Settlement> st = Status::Ok();
  {
    py::gil_scoped_release nogil;
    EvalOptions opt;
    opt.threads = threads;
    st = SettleSlice(*rs->rules, claims->loaded, ded, slice, opt);
  }
  if (!st.ok()) Throw(st.status());
  py::dict d;
  py::list pay, deducted, covered;
  for (size_t p = 0; p < st->pay.size(); ++p) {
    pay.append(ToArray(st->pay[p].data(), n));
    std::vector<int64_t> dp(n);
    for (RowIndex row = 0; row < n; ++row) dp[row] = st->Deducted(p, row);
    deducted.append(ToArray(dp.data(), n));
    covered.append(ToArray(st->covered[p].data(), n));
  }
  d["pay"] = pay;
  d["deducted"] = deducted;
  d["covered"] = covered;
  d["allowed"] = st->empty() ? py::array_t<int64_t>(0) : ToArray(st->allowed.data(), n);
  d["left"] = st->empty() ? py::array_t<int64_t>(0) : ToArray(st->patient.data(), n);
  return d;
}

// Line verdicts from hits sorted by (line, rule), by the one verdict rule
// (VerdictAccumulator): a distributed run merges its slices' hits with it.
py::tuple MergeHits(const py::array_t<int64_t, py::array::c_style | py::array::forcecast>& amount,
                    const py::array_t<int64_t, py::array::c_style | py::array::forcecast>& hit_line,
                    const py::array_t<int32_t, py::array::c_style | py::array::forcecast>& hit_rule,
                    const py::array_t<int64_t, py::array::c_style | py::array::forcecast>& hit_deduction,
                    const std::vector<uint8_t>& rule_rejects) {
  const size_t n = static_cast<size_t>(amount.size()), m = static_cast<size_t>(hit_line.size());
  if (static_cast<size_t>(hit_rule.size()) != m || static_cast<size_t>(hit_deduction.size()) != m)
    throw py::value_error("merge_hits: hit columns of different lengths");
  std::vector<uint8_t> status(n, static_cast<uint8_t>(LineStatus::kAccepted));
  std::vector<int64_t> ded(n, 0);
  std::vector<int32_t> primary(n, -1);
  const int64_t* line = hit_line.data();
  const int32_t* rule = hit_rule.data();
  for (size_t k = 0; k < m;) {
    const int64_t l = line[k];
    if (l < 0 || static_cast<size_t>(l) >= n || (k > 0 && line[k - 1] > l)) throw py::value_error("merge_hits: hits out of line order");
    VerdictAccumulator acc;
    for (; k < m && line[k] == l; ++k) {
      if (rule[k] < 0 || static_cast<size_t>(rule[k]) >= rule_rejects.size()) throw py::value_error("merge_hits: unknown rule");
      if (k + 1 < m && line[k + 1] == l && rule[k + 1] <= rule[k]) throw py::value_error("merge_hits: hits of a line out of rule order");
      acc.Add(rule[k], rule_rejects[static_cast<size_t>(rule[k])] != 0, hit_deduction.data()[k]);
    }
    status[static_cast<size_t>(l)] = static_cast<uint8_t>(acc.status);
    ded[static_cast<size_t>(l)] = acc.Deduction(amount.data()[l]);
    primary[static_cast<size_t>(l)] = acc.primary;
  }
  return py::make_tuple(ToArray(status.data(), n), ToArray(ded.data(), n), ToArray(primary.data(), n));
}

std::vector<std::string> FieldNames(const Plan& plan, const std::vector<int>& fields) {
  std::vector<std::string> out;
  for (int f : fields) out.push_back(plan.schema.field(f).name);
  return out;
}

std::vector<std::string> RuleNames(const Plan& p) {
  std::vector<std::string> n;
  for (const RulePlan& r : p.rules) n.push_back(r.name);
  return n;
}

py::dict VerdictColumns(const EvalResult& r, bool with_dictionaries) {
  const ClaimBatch& b = r.claims->loaded.batch;
  const RowIndex n = b.size();
  const Plan& plan = *r.rules->rules->plan();
  // line_no, amount, deduction, payable as one column-major (Fortran) block,
  // which pandas adopts as a single block without copying.
  py::array_t<int64_t, py::array::f_style> ints({static_cast<py::ssize_t>(n), py::ssize_t{4}});
  int64_t* col = ints.mutable_data();
  py::array_t<int8_t> status(static_cast<py::ssize_t>(n));
  py::array_t<int32_t> combo(static_cast<py::ssize_t>(n));
  std::vector<std::string> combo_names;
  {
    py::gil_scoped_release nogil;
    const int64_t* amount = b.column(kAmount).ints.data();
    std::copy(b.column(kLineNo).ints.data(), b.column(kLineNo).ints.data() + n, col);
    std::copy(amount, amount + n, col + n);
    std::copy(r.v.deduction.data(), r.v.deduction.data() + n, col + 2 * static_cast<size_t>(n));
    for (RowIndex row = 0; row < n; ++row) col[3 * static_cast<size_t>(n) + row] = amount[row] - r.v.deduction[row];
    int8_t* st = status.mutable_data();
    int32_t* cb = combo.mutable_data();
    // The set of hit rules per line, as a category: few distinct sets occur.
    std::map<std::vector<int32_t>, int32_t> combos;
    std::vector<int32_t> key;
    int32_t last_single = -2, last_single_id = -1;
    for (RowIndex row = 0; row < n; ++row) {
      st[row] = static_cast<int8_t>(r.v.status[row]);
      const uint32_t h0 = r.v.hit_begin[row], h1 = r.v.hit_begin[row + 1];
      if (h1 - h0 == 1 && r.v.hits[h0].rule == last_single) {  // common case: the same single rule again
        cb[row] = last_single_id;
        continue;
      }
      key.clear();
      for (uint32_t h = h0; h < h1; ++h) key.push_back(r.v.hits[h].rule);
      auto [it, fresh] = combos.try_emplace(key, static_cast<int32_t>(combo_names.size()));
      if (fresh) {
        std::string s;
        for (int32_t k : key) s += (s.empty() ? "" : ";") + plan.rules[static_cast<size_t>(k)].name;
        combo_names.push_back(s);
      }
      cb[row] = it->second;
      if (key.size() == 1) { last_single = key[0]; last_single_id = it->second; }
    }
  }
  py::dict d;
  // The claim and provider dictionaries depend only on the claims: the
  // Python side caches them per Claims and asks only once.
  d["claim_id"] = py::make_tuple(ToArray(b.column(kClaimId).codes.data(), n),
                                 with_dictionaries ? py::cast(DictStrings(b.column(kClaimId).dict)) : py::none());
  d["ints"] = ints;
  d["status"] = status;
  d["primary_rule"] = ToArray(r.v.primary_rule.data(), n);
  d["rules"] = py::make_tuple(combo, combo_names);
  d["rule_names"] = RuleNames(plan);
  d["provider_id"] = py::make_tuple(ToArray(b.column(kProviderId).codes.data(), n),
                                    with_dictionaries ? py::cast(DictStrings(b.column(kProviderId).dict)) : py::none());
  return d;
}

// SETTLEMENT.md §4 as columns: allowed, one per payer, patient; patient_paid
// with its validity (balance follows in Python); the per-insured list.
py::dict SettlementColumns(const EvalResult& r) {
  const ClaimBatch& b = r.claims->loaded.batch;
  const RowIndex n = b.size();
  const Plan& plan = *r.rules->rules->plan();
  const Settlement& st = r.v.settlement;
  py::dict d;
  if (st.empty()) return d;
  d["claim_id"] = py::make_tuple(ToArray(b.column(kClaimId).codes.data(), n), DictStrings(b.column(kClaimId).dict));
  d["line_no"] = ToArray(b.column(kLineNo).ints.data(), n);
  d["allowed"] = ToArray(st.allowed.data(), n);
  py::list payers;
  for (size_t p = 0; p < plan.payers.size(); ++p) payers.append(py::make_tuple(plan.payers[p].name, ToArray(st.pay[p].data(), n)));
  d["payers"] = payers;
  d["patient"] = ToArray(st.patient.data(), n);
  const Column& paid = b.column(kPatientPaid);
  std::vector<uint8_t> has(n);
  for (RowIndex row = 0; row < n; ++row) has[row] = paid.valid.Get(row);
  d["patient_paid"] = py::make_tuple(ToArray(paid.ints.data(), n), ToArray(has.data(), n));
  // Per insured, from the one summary the JSON and the CLI use too.
  const Summary sum = Summarize(plan, b, r.v);
  const SettlementSummary& ss = sum.settlement;
  auto fit = [](__int128 v) { return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : static_cast<int64_t>(v); };
  std::vector<std::string> ids;
  std::vector<int64_t> allowed, patient, patient_paid, balance;
  std::vector<uint8_t> with_paid;
  std::vector<std::vector<int64_t>> paid_by(plan.payers.size());
  for (const InsuredSettlement& is : ss.insured) {
    ids.emplace_back(is.insured_id);
    allowed.push_back(fit(is.allowed));
    patient.push_back(fit(is.patient));
    patient_paid.push_back(fit(is.patient_paid));
    balance.push_back(fit(is.balance));
    with_paid.push_back(is.with_paid);
    for (size_t p = 0; p < plan.payers.size(); ++p) paid_by[p].push_back(fit(is.paid[p]));
  }
  py::dict ins;
  ins["insured_id"] = ids;
  ins["allowed"] = ToArray(allowed.data(), allowed.size());
  py::list ip;
  for (size_t p = 0; p < plan.payers.size(); ++p) ip.append(py::make_tuple(plan.payers[p].name, ToArray(paid_by[p].data(), paid_by[p].size())));
  ins["payers"] = ip;
  ins["patient"] = ToArray(patient.data(), patient.size());
  ins["patient_paid"] = py::make_tuple(ToArray(patient_paid.data(), patient_paid.size()), ToArray(with_paid.data(), with_paid.size()));
  ins["balance"] = ToArray(balance.data(), balance.size());
  d["insured"] = ins;
  py::list totals;
  for (const PayerStats& ps : ss.payers)
    totals.append(py::make_tuple(std::string(ps.payer), ps.lines_covered, fit(ps.deductible), fit(ps.paid)));
  d["payer_totals"] = totals;
  return d;
}

py::dict HitColumns(const EvalResult& r) {
  const ClaimBatch& b = r.claims->loaded.batch;
  const size_t m = r.v.hits.size();
  std::vector<int32_t> claim(m), rule(m), other_claim(m, -1);
  std::vector<int64_t> row(m), line_no(m), deduction(m), total(m, 0), cap(m, 0), other_line(m, 0);
  std::vector<uint8_t> action(m), kind(m), total_fits(m, 1);
  for (size_t k = 0; k < m; ++k) {
    const Hit& h = r.v.hits[k];
    claim[k] = b.column(kClaimId).codes[h.row];
    row[k] = static_cast<int64_t>(h.row);
    line_no[k] = b.Int(kLineNo, h.row);
    rule[k] = h.rule;
    action[k] = r.rules->rules->plan()->rules[static_cast<size_t>(h.rule)].reject ? 1 : 0;
    deduction[k] = h.deduction;
    kind[k] = static_cast<uint8_t>(h.evidence);
    if (h.evidence == EvidenceKind::kLimit) {
      total_fits[k] = h.total <= INT64_MAX && h.total >= INT64_MIN;
      total[k] = total_fits[k] ? static_cast<int64_t>(h.total) : 0;
      cap[k] = h.cap;
    } else if (h.evidence == EvidenceKind::kOtherLine) {
      other_claim[k] = b.column(kClaimId).codes[h.other];
      other_line[k] = b.Int(kLineNo, h.other);
    }
  }
  py::dict d;
  d["row"] = ToArray(row.data(), m);  // the hit line's input position
  d["claim_id"] = ToArray(claim.data(), m);
  d["claim_ids"] = DictStrings(b.column(kClaimId).dict);
  d["line_no"] = ToArray(line_no.data(), m);
  d["rule"] = ToArray(rule.data(), m);
  d["rule_names"] = RuleNames(*r.rules->rules->plan());
  d["action"] = ToArray(action.data(), m);
  d["deduction"] = ToArray(deduction.data(), m);
  d["evidence"] = ToArray(kind.data(), m);
  d["total"] = ToArray(total.data(), m);
  d["total_fits"] = ToArray(total_fits.data(), m);
  d["cap"] = ToArray(cap.data(), m);
  d["other_claim_id"] = ToArray(other_claim.data(), m);
  d["other_line_no"] = ToArray(other_line.data(), m);
  return d;
}

py::dict SummaryColumns(const EvalResult& r) {
  const Plan& plan = *r.rules->rules->plan();
  const ClaimBatch& b = r.claims->loaded.batch;
  std::vector<int64_t> pop, hits;
  py::list ded;
  for (const RuleStats& s : r.v.rules) {
    pop.push_back(s.population);
    hits.push_back(s.hits);
    ded.append(py::int_(py::str(Int128ToString(s.deduction))));
  }
  // Totals and providers as every output computes them (api/summary.h).
  const Summary sum = Summarize(plan, b, r.v);
  std::vector<int64_t> lines, rej, warn, pded;
  std::vector<std::string> ids;
  for (const ProviderStats& p : sum.providers) {
    ids.emplace_back(p.provider_id);
    lines.push_back(p.lines);
    rej.push_back(p.rejected);
    warn.push_back(p.warned);
    pded.push_back(static_cast<int64_t>(p.deduction));
  }
  py::dict d;
  d["rule"] = RuleNames(plan);
  d["population"] = ToArray(pop.data(), pop.size());
  d["hits"] = ToArray(hits.data(), hits.size());
  d["deduction"] = ded;
  d["provider_id"] = ids;
  d["provider_lines"] = ToArray(lines.data(), lines.size());
  d["provider_rejected"] = ToArray(rej.data(), rej.size());
  d["provider_warned"] = ToArray(warn.data(), warn.size());
  d["provider_deduction"] = ToArray(pded.data(), pded.size());
  py::dict totals;
  totals["lines"] = sum.lines;
  totals["accepted"] = sum.accepted;
  totals["warned"] = sum.warned;
  totals["rejected"] = sum.rejected;
  totals["amount"] = py::int_(py::str(Int128ToString(sum.amount)));
  totals["deduction"] = py::int_(py::str(Int128ToString(sum.deduction)));
  totals["payable"] = py::int_(py::str(Int128ToString(sum.payable())));
  py::list code, code_hits, code_ded, code_lines, code_pded;
  for (const CodeStats& c : sum.codes) {
    code.append(std::string(c.code));
    code_hits.append(c.hits);
    code_ded.append(py::int_(py::str(Int128ToString(c.deduction))));
    code_lines.append(c.primary_lines);
    code_pded.append(py::int_(py::str(Int128ToString(c.primary_deduction))));
  }
  d["code"] = code;
  d["code_hits"] = code_hits;
  d["code_deduction"] = code_ded;
  d["code_primary_lines"] = code_lines;
  d["code_primary_deduction"] = code_pded;
  totals["load_errors"] = static_cast<int64_t>(r.claims->loaded.errors.size());
  totals["evaluate_seconds"] = r.seconds;
  d["totals"] = totals;
  return d;
}

py::dict HitDict(const Plan& plan, int32_t rule, int64_t deduction, EvidenceKind ev, __int128 total, int64_t cap,
                 const std::string& other_claim, int64_t other_line) {
  py::dict h;
  h["rule"] = plan.rules[static_cast<size_t>(rule)].name;
  h["code"] = plan.rules[static_cast<size_t>(rule)].code;
  h["action"] = plan.rules[static_cast<size_t>(rule)].reject ? "reject" : "warn";
  h["deduction"] = deduction;
  if (ev == EvidenceKind::kLimit) {
    h["total"] = py::int_(py::str(Int128ToString(total)));
    h["cap"] = cap;
  } else if (ev == EvidenceKind::kOtherLine) {
    h["other_claim_id"] = other_claim;
    h["other_line_no"] = other_line;
  }
  return h;
}

// Each rule's decision for one line, in declaration order.
py::list Explain(const EvalResult& r, const std::string& claim_id, int64_t line_no) {
  const ClaimBatch& b = r.claims->loaded.batch;
  const Plan& plan = *r.rules->rules->plan();
  const int32_t code = b.column(kClaimId).dict.Find(claim_id);
  RowIndex row = b.size();
  for (RowIndex k = 0; code >= 0 && k < b.size(); ++k)
    if (b.column(kClaimId).codes[k] == code && b.Int(kLineNo, k) == line_no) { row = k; break; }
  if (row == b.size()) throw py::key_error("no line " + claim_id + "/" + std::to_string(line_no));
  // The stage at which the line was rejected, if any (it hides the line from later stages).
  int64_t rejected_stage = INT64_MAX;
  std::string rejected_by;
  for (uint32_t h = r.v.hit_begin[row]; h < r.v.hit_begin[row + 1]; ++h) {
    const RulePlan& rule = plan.rules[static_cast<size_t>(r.v.hits[h].rule)];
    if (rule.reject && rule.stage < rejected_stage) { rejected_stage = rule.stage; rejected_by = rule.name; }
  }
  ExprEvaluator ev(*r.bound);
  py::list out;
  for (size_t k = 0; k < plan.rules.size(); ++k) {
    const RulePlan& rule = plan.rules[k];
    py::dict d;
    d["rule"] = rule.name;
    d["stage"] = rule.stage;
    const Hit* hit = nullptr;
    for (uint32_t h = r.v.hit_begin[row]; h < r.v.hit_begin[row + 1]; ++h)
      if (r.v.hits[h].rule == static_cast<int32_t>(k)) hit = &r.v.hits[h];
    if (hit) {
      d["decision"] = "hit";
      py::dict h = HitDict(plan, hit->rule, hit->deduction, hit->evidence, hit->total, hit->cap,
                           hit->evidence == EvidenceKind::kOtherLine ? std::string(b.String(kClaimId, hit->other)) : "",
                           hit->evidence == EvidenceKind::kOtherLine ? b.Int(kLineNo, hit->other) : 0);
      for (auto item : h) d[item.first] = item.second;
    } else {
      // Who is in the population: population.h, the definition the engines share.
      bool when_true = true;
      const BoundProgram& when = r.bound->rules[k].when;
      if (!when.empty() && rule.stage <= rejected_stage) {
        ev.Run(when, r.bound->source, 0, &row, 1);
        uint8_t ok;
        ev.Condition(1, &ok);
        when_true = ok != 0;
      }
      int null_key = -1;
      for (size_t i = 0; i < rule.keys.size() && null_key < 0; ++i) {
        const int f = rule.keys[i];
        if (!b.IsValid(f, row) || (b.schema().field(f).type == ValueType::kString && b.column(f).codes[row] < 0))
          null_key = static_cast<int>(i);
      }
      const bool sum_present = !rule.is_sum || b.IsValid(rule.sum_field, row);
      switch (Population::Classify(rule, rule.stage <= rejected_stage, when_true, null_key, sum_present)) {
        case Membership::kHidden:
          d["decision"] = "hidden";
          d["reason"] = "rejected at stage " + std::to_string(rejected_stage) + " by " + rejected_by;
          break;
        case Membership::kWhenFalse:
          d["decision"] = "not in population";
          d["reason"] = "when is not true";
          break;
        case Membership::kNullKey:
          d["decision"] = "not in population";
          d["reason"] = "key " + b.schema().field(rule.keys[static_cast<size_t>(null_key)]).name + " is null";
          break;
        case Membership::kNullSumField:
          d["decision"] = "not in population";
          d["reason"] = "sum field " + b.schema().field(rule.sum_field).name + " is null";
          break;
        case Membership::kIn:
          d["decision"] = "pass";
          d["reason"] = "in the population; the check did not fire";
          break;
      }
    }
    out.append(d);
  }
  return out;
}

// Each payer's step on one line (SETTLEMENT.md §2): the running totals of
// its scope group and bucket before the line, rebuilt from the recorded
// settlement of the lines before it, and the step itself recomputed by
// settle/payer_step.h (so it shows the deductible, the band split and the
// ceiling room the batch used).
py::list ExplainSettlement(const EvalResult& r, const std::string& claim_id, int64_t line_no) {
  const ClaimBatch& b = r.claims->loaded.batch;
  const Plan& plan = *r.rules->rules->plan();
  const Settlement& st = r.v.settlement;
  if (st.empty()) throw py::value_error("the rule set declares no payers, so there is no settlement to explain");
  const int32_t code = b.column(kClaimId).dict.Find(claim_id);
  RowIndex row = b.size();
  for (RowIndex k = 0; code >= 0 && k < b.size(); ++k)
    if (b.column(kClaimId).codes[k] == code && b.Int(kLineNo, k) == line_no) { row = k; break; }
  if (row == b.size()) throw py::key_error("no line " + claim_id + "/" + std::to_string(line_no));
  const BigVector<RowIndex> rank = LineRanks(ComputeLineOrder(b));
  ExprEvaluator ev(*r.bound);
  auto value = [&](const BoundProgram& prog) {
    if (prog.empty()) return OptInt{};
    ev.Run(prog, r.bound->source, 0, &row, 1);
    return OptInt{ev.valid()[0] != 0, ev.values()[0]};
  };
  auto num = [](bool present, __int128 v) { return present ? py::object(py::int_(static_cast<int64_t>(v))) : py::object(py::none()); };
  py::list out;
  int64_t left = st.allowed[row];
  for (size_t p = 0; p < plan.payers.size(); ++p) {
    const PayerPlan& payer = plan.payers[p];
    py::dict d;
    d["payer"] = payer.name;
    d["in_population"] = st.covered[p][row] != 0;
    d["left_before"] = left;
    if (!st.covered[p][row]) {
      d["pay"] = 0;
      d["left_after"] = left;
      out.append(d);
      continue;
    }
    const Days day = b.Date(kServiceDate, row);
    PayerTotals totals;
    if (payer.has_per) {
      totals.bucket = PayerSettle::BucketOf(payer, plan.calendar, day);
      for (RowIndex j = 0; j < b.size(); ++j) {
        if (j == row || rank[j] > rank[row] || !st.covered[p][j]) continue;
        if (PayerSettle::BucketOf(payer, plan.calendar, b.Date(kServiceDate, j)) != totals.bucket) continue;
        bool same = true;
        for (int f : payer.keys) {
          const Column& c = b.column(f);
          same = same && (c.type == ValueType::kString ? c.codes[j] == c.codes[row]
                          : c.type == ValueType::kInt ? c.ints[j] == c.ints[row]
                          : c.type == ValueType::kBool ? c.bits.Get(j) == c.bits.Get(row) : c.codes[j] == c.codes[row]);
        }
        if (!same) continue;
        int64_t left_j = st.allowed[j];
        for (size_t q = 0; q < p; ++q) left_j -= st.pay[q][j];
        const int64_t base_j = payer.on_remaining ? left_j : st.allowed[j];
        totals.deducted += st.Deducted(p, j);
        totals.eligible += base_j - st.Deducted(p, j);
        totals.paid += st.pay[p][j];
      }
    }
    const BoundPayer& bp = r.bound->payers[p];
    std::vector<OptInt> limits;
    for (const BoundProgram& l : bp.band_limits) limits.push_back(value(l));
    const PayerValues v{value(bp.deductible), value(bp.ratio), value(bp.ceiling), value(bp.line_ceiling), {limits.data(), limits.size()}};
    std::vector<int64_t> parts(payer.band_hundredths.size(), 0);
    const PayerStep s = PayerSettle::Step(payer, totals, st.allowed[row], left, v, parts.data());
    d["base"] = s.base;
    d["deductible"] = num(!payer.deductible.empty() && v.deductible.valid, v.deductible.v);
    d["deductible_used_before"] = num(!payer.deductible.empty(), totals.deducted);
    d["deductible_taken"] = s.deductible;
    d["eligible"] = s.eligible;
    d["eligible_total_before"] = num(payer.cover == CoverKind::kBands, totals.eligible);
    if (payer.cover == CoverKind::kBands) {
      py::list bands;
      for (size_t k = 0; k < parts.size(); ++k) {
        py::dict band;
        band["percent"] = static_cast<double>(payer.band_hundredths[k]) / 100.0;
        band["up_to"] = k < limits.size() ? num(limits[k].valid, limits[k].v) : py::object(py::none());
        band["amount"] = parts[k];
        bands.append(band);
      }
      d["bands"] = bands;
    }
    d["covered"] = s.covered;
    d["ceiling_left"] = num(!payer.ceiling.empty() && v.ceiling.valid,
                            payer.has_per ? std::max<__int128>(static_cast<__int128>(v.ceiling.v) - totals.paid, 0) : std::max<int64_t>(v.ceiling.v, 0));
    d["pay"] = st.pay[p][row];
    if (s.pay != st.pay[p][row]) throw std::logic_error("explain: the recomputed step differs from the batch's settlement");
    left -= st.pay[p][row];
    d["left_after"] = left;
    out.append(d);
  }
  return out;
}

// ---- online engine ----

struct PyEngine {
  std::shared_ptr<RuleSet> rules;
  std::unique_ptr<OnlineEngine> engine;
};

py::list VerdictToPython(const Plan& plan, const ClaimVerdict& v) {
  py::list lines;
  for (const OnlineLine& l : v.lines) {
    py::dict d;
    d["claim_id"] = l.claim_id;
    d["line_no"] = l.line_no;
    d["seq"] = l.seq;
    d["status"] = StatusName(l.status);
    d["amount"] = l.amount;
    d["deduction"] = l.deduction;
    d["payable"] = l.payable();
    d["primary_rule"] = l.primary_rule < 0 ? py::object(py::none()) : py::object(py::str(plan.rules[static_cast<size_t>(l.primary_rule)].name));
    d["primary_code"] = l.primary_rule < 0 ? py::object(py::none()) : py::object(py::str(plan.rules[static_cast<size_t>(l.primary_rule)].code));
    py::list hits;
    for (const OnlineHit& h : l.hits)
      hits.append(HitDict(plan, h.rule, h.deduction, h.evidence, h.total, h.cap, h.other_claim_id, h.other_line_no));
    d["hits"] = hits;
    if (!plan.payers.empty()) {  // SETTLEMENT.md §5: each payer's pay, the patient's share
      py::dict pay;
      for (size_t p = 0; p < plan.payers.size(); ++p) pay[py::str(plan.payers[p].name)] = l.pay[p];
      d["settlement"] = pay;
      d["patient"] = l.patient;
    }
    lines.append(d);
  }
  return lines;
}

}  // namespace
}  // namespace sanad::python

PYBIND11_MODULE(_sanad, m) {
  using namespace sanad;
  using namespace sanad::python;
  m.doc() = "Core of the sanad package (use `import sanad`).";
  m.attr("__version__") = SANAD_VERSION;

  py::class_<RuleSet, std::shared_ptr<RuleSet>>(m, "RuleSet")
      .def_property_readonly("name", [](const RuleSet& r) { return r.rules->plan()->ruleset_name; })
      .def_property_readonly("fingerprint", [](const RuleSet& r) { return PlanFingerprint(*r.rules->plan()).ToString(); },
                             "Hash of the canonical rules and their bound reference data (as in the summary)")
      .def_property_readonly("rule_names", [](const RuleSet& r) { return RuleNames(*r.rules->plan()); })
      .def_property_readonly("payer_names", [](const RuleSet& r) {
        std::vector<std::string> n;
        for (const PayerPlan& p : r.rules->plan()->payers) n.push_back(p.name);
        return n;
      })
      .def_property_readonly("rule_codes", [](const RuleSet& r) {
        std::vector<std::string> c;
        for (const RulePlan& rule : r.rules->plan()->rules) c.push_back(rule.code);
        return c;
      }, "Each rule's reason code (its `code`, else its name), in declaration order")
      .def_property_readonly("rendered_diagnostics", [](const RuleSet& r) { return r.rendered; })
      .def("explain_plan", [](const RuleSet& r) { return ExplainPlan(*r.rules->plan()); })
      // What a distributed run partitions by (python/sanad/dask.py): per rule
      // (name, stage, key field names, stateful, reject); per payer (name, key
      // field names, has per).
      .def("rule_info", [](const RuleSet& r) {
        const Plan& plan = *r.rules->plan();
        py::list out;
        for (const RulePlan& rule : plan.rules)
          out.append(py::make_tuple(rule.name, rule.stage, FieldNames(plan, rule.keys), rule.check != CheckKind::kNone, rule.reject));
        return out;
      })
      .def("payer_info", [](const RuleSet& r) {
        const Plan& plan = *r.rules->plan();
        py::list out;
        for (const PayerPlan& payer : plan.payers) out.append(py::make_tuple(payer.name, FieldNames(plan, payer.keys), payer.has_per));
        return out;
      })
      .def("externals", [](const RuleSet& r) {
        py::list out;
        const Plan& p = *r.rules->plan();
        for (const PlanSet& s : p.sets) if (s.external) out.append(py::make_tuple(s.name, "set", s.bound, s.dated));
        for (const PlanTable& t : p.tables) if (t.external) out.append(py::make_tuple(t.name, "table", t.bound, t.dated));
        for (const PlanPairs& q : p.pairs) if (q.external) out.append(py::make_tuple(q.name, "pairs", q.bound, q.dated));
        return out;
      })
      .def("bind_rows", [](RuleSet& r, const std::string& name, const std::vector<std::vector<std::string>>& rows) {
        Status st = compiler::BindReferenceRows(*r.rules->mutable_plan(), name, rows, name);
        if (!st.ok()) Throw(st);
      })
      .def("bind_file", [](RuleSet& r, const std::string& name, const std::string& path) {
        Status st = compiler::BindReferenceFile(*r.rules->mutable_plan(), name, path);
        if (!st.ok()) Throw(st);
      })
      .def("check_bound", [](const RuleSet& r) {
        Status st = CheckReferencesBound(*r.rules->plan());
        if (!st.ok()) throw py::value_error(st.message());
      })
      .def("fields", [](const RuleSet& r) {
        py::list out;
        const Schema& s = r.rules->plan()->schema;
        for (int f = 0; f < s.size(); ++f) out.append(py::make_tuple(s.field(f).name, std::string(ValueTypeName(s.field(f).type))));
        return out;
      });
  m.def("compile", &Compile, py::arg("name"), py::arg("text"));

  py::class_<Claims, std::shared_ptr<Claims>>(m, "Claims")
      .def("__len__", [](const Claims& c) { return c.loaded.batch.size(); })
      .def_property_readonly("records_read", [](const Claims& c) { return c.loaded.records_read; })
      .def("errors", &ClaimsErrors)
      .def("columns", &ClaimsColumns);
  m.def("read_file", [](const std::string& path, const RuleSet* rs, bool skip, int threads) { return ReadFile(path, rs, skip, threads); },
        py::arg("path"), py::arg("ruleset") = nullptr, py::arg("skip_errors") = false, py::arg("threads") = 0);
  m.def("read_text", &ReadText, py::arg("text"), py::arg("csv"), py::arg("ruleset") = nullptr, py::arg("skip_errors") = false);
  m.def("from_columns", &FromColumns, py::arg("columns"), py::arg("rows"), py::arg("ruleset") = nullptr, py::arg("skip_errors") = false);
  m.def("standard_fields", [] {
    py::list out;
    const Schema s = Schema::Standard();
    for (int f = 0; f < s.size(); ++f) out.append(py::make_tuple(s.field(f).name, std::string(ValueTypeName(s.field(f).type))));
    return out;
  });

  py::class_<EvalResult, std::shared_ptr<EvalResult>>(m, "EvalResult")
      .def("verdict_columns", &VerdictColumns, py::arg("with_dictionaries") = true)
      .def("hit_columns", &HitColumns)
      .def("settlement_columns", &SettlementColumns)
      .def("summary_columns", &SummaryColumns)
      .def("explain", &Explain)
      .def("explain_settlement", &ExplainSettlement)
      .def_property_readonly("seconds", [](const EvalResult& r) { return r.seconds; })
      .def("write", [](const EvalResult& r, const std::string& verdicts, const std::string& hits, const std::string& settlement) {
        const Plan& p = *r.rules->rules->plan();
        if (!verdicts.empty()) { Status st = WriteVerdicts(verdicts, p, r.claims->loaded.batch, r.v); if (!st.ok()) Throw(st); }
        if (!hits.empty()) { Status st = WriteHits(hits, p, r.claims->loaded.batch, r.v); if (!st.ok()) Throw(st); }
        if (!settlement.empty()) {
          if (p.payers.empty()) throw py::value_error("the rule set declares no payers, so there is no settlement to write");
          Status st = WriteSettlement(settlement, p, r.claims->loaded.batch, r.v);
          if (!st.ok()) Throw(st);
        }
      });
  m.def("release_cached_memory", [] {
    const size_t held = sanad::GetBigBufferCacheStats().cached_bytes;
    sanad::ReleaseBigBufferCache();
    return held;
  });
  m.def("status_names", [] { return std::vector<std::string>{StatusName(LineStatus::kAccepted), StatusName(LineStatus::kWarned), StatusName(LineStatus::kRejected)}; },
        "Line statuses by code, spelled as in every output");
  m.def("evaluate", &EvaluateClaims, py::arg("ruleset"), py::arg("claims"), py::arg("threads") = 0,
        py::arg("rules") = std::vector<uint8_t>{}, py::arg("settle") = true);
  m.def("settle_slice", &SettleClaimsSlice, py::arg("ruleset"), py::arg("claims"), py::arg("deduction"), py::arg("left"),
        py::arg("first"), py::arg("last"), py::arg("threads") = 0);
  m.def("merge_hits", &MergeHits, py::arg("amount"), py::arg("hit_line"), py::arg("hit_rule"), py::arg("hit_deduction"),
        py::arg("rule_rejects"));

  py::class_<PyEngine, std::shared_ptr<PyEngine>>(m, "Engine")
      .def(py::init([](const std::shared_ptr<RuleSet>& rs) {
        auto e = std::make_shared<PyEngine>();
        e->rules = rs;
        e->engine = std::make_unique<OnlineEngine>(*rs->rules->plan());
        return e;
      }))
      .def("preload", [](PyEngine& e, const std::shared_ptr<Claims>& c, int threads) {
        Status st;
        { py::gil_scoped_release nogil; st = e.engine->Preload(c->loaded.batch, threads); }
        if (!st.ok()) Throw(st);
      })
      .def("check_json", [](PyEngine& e, const std::string& json, bool commit) {
        Result<ClaimVerdict> v = Status::Invalid("");
        { py::gil_scoped_release nogil; v = e.engine->CheckJson(json, commit); }
        if (!v.ok()) Throw(v.status());
        return VerdictToPython(*e.rules->rules->plan(), v.value());
      })
      .def("retract", [](PyEngine& e, const std::string& id) {
        Status st;
        { py::gil_scoped_release nogil; st = e.engine->Retract(id); }
        if (!st.ok()) Throw(st);
      })
      .def("compact", [](PyEngine& e, const std::string& date) {
        Days d;
        if (!ParseIsoDate(date, &d)) throw py::value_error("compact: not a YYYY-MM-DD date: '" + date + "'");
        Status st = e.engine->Compact(d);
        if (!st.ok()) Throw(st);
      })
      .def("snapshot", [](PyEngine& e, const std::string& path) {
        Status st;
        { py::gil_scoped_release nogil; st = e.engine->Snapshot(path); }
        if (!st.ok()) Throw(st);
      })
      .def("restore", [](PyEngine& e, const std::string& path) {
        Status st;
        { py::gil_scoped_release nogil; st = e.engine->Restore(path); }
        if (!st.ok()) Throw(st);
      })
      .def("reconcile", [](PyEngine& e, const std::shared_ptr<Claims>& c) {
        Result<std::vector<ReconcileDiff>> r = Status::Invalid("");
        { py::gil_scoped_release nogil; r = e.engine->Reconcile(c->loaded.batch); }
        if (!r.ok()) Throw(r.status());
        const Plan& p = *e.rules->rules->plan();
        auto rule = [&](int32_t k) { return k < 0 ? py::object(py::none()) : py::object(py::str(p.rules[static_cast<size_t>(k)].name)); };
        py::list out;
        for (const ReconcileDiff& d : r.value()) {
          py::dict x;
          x["claim_id"] = d.claim_id;
          x["line_no"] = d.line_no;
          x["seen_online"] = d.seen_online;
          x["online_status"] = d.seen_online ? py::object(py::str(StatusName(d.online_status))) : py::object(py::none());
          x["batch_status"] = StatusName(d.batch_status);
          x["online_deduction"] = d.seen_online ? py::object(py::int_(d.online_deduction)) : py::object(py::none());
          x["batch_deduction"] = d.batch_deduction;
          x["online_primary_rule"] = d.seen_online ? rule(d.online_primary) : py::object(py::none());
          x["batch_primary_rule"] = rule(d.batch_primary);
          if (!p.payers.empty()) {
            py::dict online, batch;
            for (size_t k = 0; k < p.payers.size(); ++k) {
              if (d.seen_online) online[py::str(p.payers[k].name)] = d.online_pay[k];
              batch[py::str(p.payers[k].name)] = d.batch_pay[k];
            }
            x["online_settlement"] = d.seen_online ? py::object(online) : py::object(py::none());
            x["batch_settlement"] = batch;
            x["online_patient"] = d.seen_online ? py::object(py::int_(d.online_patient)) : py::object(py::none());
            x["batch_patient"] = d.batch_patient;
          }
          out.append(x);
        }
        return out;
      })
      .def("set_key_budget", [](PyEngine& e, int64_t n) { e.engine->SetKeyBudget(n); })
      .def("memory", [](const PyEngine& e) {
        const OnlineMemory mem = e.engine->Memory();
        py::dict d;
        d["history_lines"] = mem.history_lines;
        d["keys"] = mem.keys;
        d["groups"] = mem.groups;
        d["entries"] = mem.entries;
        d["state_bytes"] = mem.state_bytes;
        d["history_bytes"] = mem.history_bytes;
        return d;
      });
}
