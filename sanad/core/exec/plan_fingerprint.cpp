#include "sanad/core/exec/plan_fingerprint.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sanad {
namespace {

// Canonical bytes: every value with its length or fixed width, so no two
// different plans encode to the same bytes.
class Encoder {
 public:
  void U64(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Str(std::string_view s) {
    U64(s.size());
    out_.append(s);
  }
  void Tag(const char* t) { Str(t); }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

template <typename T>
std::vector<size_t> SortedOrder(const std::vector<T>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  return idx;
}

void EncodeProgram(Encoder& e, const Plan& plan, const ExprProgram& p) {
  e.Tag("program");
  e.I64(p.root);
  e.U64(p.nodes.size());
  for (const ExprNode& n : p.nodes) {
    e.U64(static_cast<uint64_t>(n.op));
    e.U64(static_cast<uint64_t>(n.type));
    e.U64(static_cast<uint64_t>(n.arg_type));
    e.I64(n.left);
    e.I64(n.right);
    e.Str(n.field >= 0 ? std::string_view(plan.schema.field(n.field).name) : std::string_view());
    // ref names the reference object it points to (indices follow declaration order).
    std::string_view ref;
    if (n.op == ExprOp::kInSet || n.op == ExprOp::kNotInSet) ref = plan.sets[static_cast<size_t>(n.ref)].name;
    else if (n.op == ExprOp::kLookup) ref = plan.tables[static_cast<size_t>(n.ref)].name;
    else e.I64(n.ref);
    e.Str(ref);
    e.U64(n.is_null);
    e.I64(n.int_value);
    e.Str(n.str_value);
  }
}

template <typename Objects>
std::vector<size_t> ByName(const Objects& objects) {
  std::vector<size_t> idx(objects.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return objects[a].name < objects[b].name; });
  return idx;
}

// A dated object's entries (LANGUAGE.md §2.1), each with its period, as
// sorted canonical byte strings (the loader refuses duplicates). Undated
// objects keep the encoding they had before dated data existed, so their
// fingerprints did not change.
template <typename EncodeEntry>
void EncodeDated(Encoder& e, size_t n, const std::vector<Validity>& validity, EncodeEntry encode) {
  e.Tag("dated");
  std::vector<std::string> entries(n);
  for (size_t i = 0; i < n; ++i) {
    Encoder x;
    encode(x, i);
    x.I64(validity[i].from);
    x.I64(validity[i].to);
    entries[i] = x.bytes();
  }
  std::sort(entries.begin(), entries.end());
  e.U64(entries.size());
  for (const std::string& x : entries) e.Str(x);
}

// Reference objects by name, entries sorted: their order carries no meaning.
void EncodeReferenceData(Encoder& e, const Plan& plan) {
  e.Tag("sets");
  for (size_t k : ByName(plan.sets)) {
    const PlanSet& s = plan.sets[k];
    e.Str(s.name);
    e.U64(s.external);
    e.U64(s.bound);
    e.U64(static_cast<uint64_t>(s.type));
    if (s.dated) {
      EncodeDated(e, s.type == ValueType::kString ? s.strings.size() : s.ints.size(), s.validity, [&](Encoder& x, size_t i) {
        if (s.type == ValueType::kString) x.Str(s.strings[i]); else x.I64(s.ints[i]);
      });
    } else if (s.type == ValueType::kString) {
      std::vector<std::string> m = s.strings;
      std::sort(m.begin(), m.end());
      m.erase(std::unique(m.begin(), m.end()), m.end());
      e.U64(m.size());
      for (const std::string& x : m) e.Str(x);
    } else {
      std::vector<int64_t> m = s.ints;
      std::sort(m.begin(), m.end());
      m.erase(std::unique(m.begin(), m.end()), m.end());
      e.U64(m.size());
      for (int64_t x : m) e.I64(x);
    }
  }
  e.Tag("tables");
  for (size_t k : ByName(plan.tables)) {
    const PlanTable& t = plan.tables[k];
    e.Str(t.name);
    e.U64(t.external);
    e.U64(t.bound);
    e.U64(static_cast<uint64_t>(t.key_type));
    e.U64(static_cast<uint64_t>(t.value_type));
    const bool skey = t.key_type == ValueType::kString, sval = t.value_type == ValueType::kString;
    if (t.dated) {
      EncodeDated(e, t.size(), t.validity, [&](Encoder& x, size_t i) {
        if (skey) x.Str(t.key_strings[i]); else x.I64(t.key_ints[i]);
        if (sval) x.Str(t.value_strings[i]); else x.I64(t.value_ints[i]);
      });
      continue;
    }
    const std::vector<size_t> order = skey ? SortedOrder(t.key_strings) : SortedOrder(t.key_ints);
    e.U64(order.size());
    for (size_t i : order) {
      if (skey) e.Str(t.key_strings[i]); else e.I64(t.key_ints[i]);
      if (sval) e.Str(t.value_strings[i]); else e.I64(t.value_ints[i]);
    }
  }
  e.Tag("pairs");
  for (size_t k : ByName(plan.pairs)) {
    const PlanPairs& p = plan.pairs[k];
    e.Str(p.name);
    e.U64(p.external);
    e.U64(p.bound);
    if (p.dated) {
      EncodeDated(e, p.pairs.size(), p.validity, [&](Encoder& x, size_t i) {
        x.Str(p.pairs[i].first);
        x.Str(p.pairs[i].second);
        x.U64(p.bypass[i]);
      });
      continue;
    }
    std::vector<std::pair<std::string, std::string>> m = p.pairs;
    std::sort(m.begin(), m.end());
    m.erase(std::unique(m.begin(), m.end()), m.end());
    e.U64(m.size());
    for (const auto& [a, b] : m) {
      e.Str(a);
      e.Str(b);
    }
  }
}

// Rules in declaration order (it decides ties).
void EncodeRules(Encoder& e, const Plan& plan) {
  e.Tag("rules");
  e.U64(plan.rules.size());
  for (const RulePlan& r : plan.rules) {
    e.Str(r.name);
    e.Str(r.title);
    e.Str(r.code);
    e.I64(r.stage);
    EncodeProgram(e, plan, r.when);
    e.U64(static_cast<uint64_t>(r.check));
    e.U64(r.keys.size());
    for (int f : r.keys) e.Str(plan.schema.field(f).name);
    e.U64(r.is_sum);
    e.Str(r.sum_field >= 0 ? std::string_view(plan.schema.field(r.sum_field).name) : std::string_view());
    e.U64(static_cast<uint64_t>(r.period));
    e.I64(r.days);
    EncodeProgram(e, plan, r.cap);
    EncodeProgram(e, plan, r.conflict);
    e.Str(r.pairs >= 0 ? std::string_view(plan.pairs[static_cast<size_t>(r.pairs)].name) : std::string_view());
    e.U64(r.reject);
    e.U64(static_cast<uint64_t>(r.deduct));
    e.I64(r.percent_hundredths);
    EncodeProgram(e, plan, r.deduct_expr);
    if (!r.unless.empty()) {  // `unless` is a keyword, so no rule name reads like this tag
      e.Tag("unless");
      EncodeProgram(e, plan, r.unless);
    }
  }
}

// Payers in declaration order (it is payment order). Only when there are
// any, so rule sets without settlement keep their fingerprints.
void EncodePayers(Encoder& e, const Plan& plan) {
  if (plan.payers.empty()) return;
  e.Tag("payers");
  e.U64(plan.payers.size());
  for (const PayerPlan& p : plan.payers) {
    e.Str(p.name);
    e.Str(p.title);
    EncodeProgram(e, plan, p.when);
    e.U64(p.on_remaining);
    e.U64(p.has_per);
    e.U64(p.keys.size());
    for (int f : p.keys) e.Str(plan.schema.field(f).name);
    e.U64(static_cast<uint64_t>(p.period));
    EncodeProgram(e, plan, p.deductible);
    e.U64(static_cast<uint64_t>(p.cover));
    e.U64(p.band_hundredths.size());
    for (int64_t h : p.band_hundredths) e.I64(h);
    e.U64(p.band_limits.size());
    for (const ExprProgram& l : p.band_limits) EncodeProgram(e, plan, l);
    EncodeProgram(e, plan, p.ratio);
    EncodeProgram(e, plan, p.ceiling);
    EncodeProgram(e, plan, p.line_ceiling);
  }
}

}  // namespace

std::string Fingerprint::ToString() const {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(high),
                static_cast<unsigned long long>(low));
  return buf;
}

Fingerprint PlanFingerprint(const Plan& plan) {
  Encoder e;
  e.Tag("sanad-plan-v1");
  e.Str(plan.ruleset_name);
  e.U64(static_cast<uint64_t>(plan.calendar));
  // patient_paid (a standard field added with settlement) is left out of
  // this list so rule sets keep the fingerprints they had before it; a use
  // of it is named in the programs.
  e.U64(static_cast<uint64_t>(plan.schema.size() - 1));
  for (int f = 0; f < plan.schema.size(); ++f) {
    if (f == kPatientPaid) continue;
    e.Str(plan.schema.field(f).name);
    e.U64(static_cast<uint64_t>(plan.schema.field(f).type));
  }
  EncodeReferenceData(e, plan);
  EncodeRules(e, plan);
  EncodePayers(e, plan);
  const XXH128_hash_t h = XXH3_128bits(e.bytes().data(), e.bytes().size());
  return Fingerprint{h.high64, h.low64};
}

}  // namespace sanad
