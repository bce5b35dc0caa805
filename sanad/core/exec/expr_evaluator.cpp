#include "sanad/core/exec/expr_evaluator.h"

#include "sanad/core/calendar.h"
#include "sanad/core/check.h"

namespace sanad {

void ExprEvaluator::Prepare(const BoundProgram& prog) {
  if (prepared_ == &prog) return;
  prepared_ = &prog;
  const size_t n = prog.nodes.size();
  // Every node writes rows [0, n) before its parents read them, so the
  // scratch is only grown, never cleared (programs switch often online).
  if (vals_.size() < n * kChunk) vals_.resize(n * kChunk);
  if (valid_.size() < n * kChunk) valid_.resize(n * kChunk);
  str_slot_.assign(n, -1);
  int slots = 0;
  for (size_t i = 0; i < n; ++i)
    if (prog.nodes[i].type == ValueType::kString) str_slot_[i] = slots++;
  if (strs_.size() < static_cast<size_t>(slots) * kChunk) strs_.resize(static_cast<size_t>(slots) * kChunk);
}

namespace {

inline RowIndex RowAt(RowIndex begin, const RowIndex* rows, int k) {
  return rows ? rows[k] : begin + static_cast<RowIndex>(k);
}

inline bool Bit(const uint64_t* words, RowIndex r) { return (words[r >> 6] >> (r & 63)) & 1; }

template <typename Cmp>
void CompareInts(const int64_t* a, const uint8_t* va, const int64_t* b, const uint8_t* vb, int n, int64_t* out,
                 uint8_t* ov, Cmp cmp) {
  for (int k = 0; k < n; ++k) {
    out[k] = (va[k] & vb[k]) & static_cast<uint8_t>(cmp(a[k], b[k]));
    ov[k] = 1;
  }
}

template <typename Cmp>
void CompareStrings(const std::string_view* a, const uint8_t* va, const std::string_view* b, const uint8_t* vb, int n,
                    int64_t* out, uint8_t* ov, Cmp cmp) {
  for (int k = 0; k < n; ++k) {
    out[k] = (va[k] && vb[k]) ? static_cast<int64_t>(cmp(a[k].compare(b[k]), 0)) : 0;
    ov[k] = 1;
  }
}

template <typename Cmp>
void Compare(ValueType t, const int64_t* a, const uint8_t* va, const std::string_view* sa, const int64_t* b,
             const uint8_t* vb, const std::string_view* sb, int n, int64_t* out, uint8_t* ov, Cmp cmp) {
  if (t == ValueType::kString) CompareStrings(sa, va, sb, vb, n, out, ov, cmp);
  else CompareInts(a, va, b, vb, n, out, ov, cmp);
}

}  // namespace

// One function by design (210 lines): a switch over node kinds whose cases
// are small kernels over the chunk, with the operand setup written once
// above it; each case reads top to bottom, and splitting them would only
// spread that setup over thirty functions.
void ExprEvaluator::Run(const BoundProgram& prog, const RowSource& src, RowIndex begin, const RowIndex* rows, int n) {
  SANAD_CHECK_LE(n, kChunk);
  Prepare(prog);
  const Calendar cal = bound_.plan->calendar;
  for (int32_t idx : prog.order) {
    const ExprNode& node = prog.nodes[static_cast<size_t>(idx)];
    int64_t* out = vals_.data() + static_cast<size_t>(idx) * kChunk;
    uint8_t* ov = valid_.data() + static_cast<size_t>(idx) * kChunk;
    std::string_view* os = str_slot_[static_cast<size_t>(idx)] >= 0
                               ? strs_.data() + static_cast<size_t>(str_slot_[static_cast<size_t>(idx)]) * kChunk
                               : nullptr;
    const int64_t* a = node.left >= 0 ? vals_.data() + static_cast<size_t>(node.left) * kChunk : nullptr;
    const uint8_t* va = node.left >= 0 ? valid_.data() + static_cast<size_t>(node.left) * kChunk : nullptr;
    const std::string_view* sa =
        node.left >= 0 && str_slot_[static_cast<size_t>(node.left)] >= 0
            ? strs_.data() + static_cast<size_t>(str_slot_[static_cast<size_t>(node.left)]) * kChunk
            : nullptr;
    const int64_t* b = node.right >= 0 ? vals_.data() + static_cast<size_t>(node.right) * kChunk : nullptr;
    const uint8_t* vb = node.right >= 0 ? valid_.data() + static_cast<size_t>(node.right) * kChunk : nullptr;
    const std::string_view* sb =
        node.right >= 0 && str_slot_[static_cast<size_t>(node.right)] >= 0
            ? strs_.data() + static_cast<size_t>(str_slot_[static_cast<size_t>(node.right)]) * kChunk
            : nullptr;

    switch (node.op) {
      case ExprOp::kConst:
        for (int k = 0; k < n; ++k) { out[k] = node.int_value; ov[k] = !node.is_null; }
        if (os) for (int k = 0; k < n; ++k) os[k] = node.str_value;
        break;
      case ExprOp::kField: {
        const FieldView& f = src.fields[static_cast<size_t>(node.field)];
        if (f.valid) {
          for (int k = 0; k < n; ++k) ov[k] = Bit(f.valid, RowAt(begin, rows, k));
        } else {
          for (int k = 0; k < n; ++k) ov[k] = 1;
        }
        switch (f.type) {
          case ValueType::kString:
            for (int k = 0; k < n; ++k) {
              const int32_t c = f.codes[RowAt(begin, rows, k)];
              out[k] = c;
              os[k] = c >= 0 ? f.dict->View(c) : std::string_view();
              ov[k] &= static_cast<uint8_t>(c >= 0);
            }
            break;
          case ValueType::kDate:
            if (!rows) for (int k = 0; k < n; ++k) out[k] = f.codes[begin + static_cast<RowIndex>(k)];
            else for (int k = 0; k < n; ++k) out[k] = f.codes[rows[k]];
            break;
          case ValueType::kInt:
            if (!rows) for (int k = 0; k < n; ++k) out[k] = f.ints[begin + static_cast<RowIndex>(k)];
            else for (int k = 0; k < n; ++k) out[k] = f.ints[rows[k]];
            break;
          case ValueType::kBool:
            for (int k = 0; k < n; ++k) out[k] = Bit(f.bits, RowAt(begin, rows, k));
            break;
        }
        break;
      }
      case ExprOp::kCodeTable: {
        const CodeTable& t = bound_.code_tables[static_cast<size_t>(node.ref)];
        const int32_t* codes = src.fields[static_cast<size_t>(t.field)].codes;
        const int64_t* tv = t.values.data();
        const uint8_t* tva = t.valid.data();
        if (!rows) {
          const int32_t* c = codes + begin;
          for (int k = 0; k < n; ++k) { out[k] = tv[c[k] + 1]; ov[k] = tva[c[k] + 1]; }
        } else {
          for (int k = 0; k < n; ++k) { const int32_t c = codes[rows[k]]; out[k] = tv[c + 1]; ov[k] = tva[c + 1]; }
        }
        break;
      }
      case ExprOp::kDatedCodeTable: {
        const CodeTable& t = bound_.code_tables[static_cast<size_t>(node.ref)];
        const int32_t* codes = src.fields[static_cast<size_t>(t.field)].codes;
        const int32_t* days = src.fields[static_cast<size_t>(kServiceDate)].codes;
        for (int k = 0; k < n; ++k) {
          const RowIndex r = RowAt(begin, rows, k);
          const uint32_t slot = t.Slot(codes[r], days[r]);
          out[k] = t.values[slot];
          ov[k] = t.valid[slot];
        }
        break;
      }
      case ExprOp::kNeg:
        for (int k = 0; k < n; ++k) {
          int64_t r;
          const bool of = __builtin_sub_overflow(int64_t{0}, a[k], &r);
          out[k] = r;
          ov[k] = va[k] & static_cast<uint8_t>(!of);
        }
        break;
      case ExprOp::kAdd:
        for (int k = 0; k < n; ++k) {
          int64_t r;
          const bool of = __builtin_add_overflow(a[k], b[k], &r);
          out[k] = r;
          ov[k] = va[k] & vb[k] & static_cast<uint8_t>(!of);
        }
        break;
      case ExprOp::kSub:
        for (int k = 0; k < n; ++k) {
          int64_t r;
          const bool of = __builtin_sub_overflow(a[k], b[k], &r);
          out[k] = r;
          ov[k] = va[k] & vb[k] & static_cast<uint8_t>(!of);
        }
        break;
      case ExprOp::kMul:
        for (int k = 0; k < n; ++k) {
          int64_t r;
          const bool of = __builtin_mul_overflow(a[k], b[k], &r);
          out[k] = r;
          ov[k] = va[k] & vb[k] & static_cast<uint8_t>(!of);
        }
        break;
      case ExprOp::kDiv:
        for (int k = 0; k < n; ++k) {
          const bool bad = b[k] == 0 || (a[k] == INT64_MIN && b[k] == -1);
          out[k] = bad ? 0 : a[k] / b[k];
          ov[k] = va[k] & vb[k] & static_cast<uint8_t>(!bad);
        }
        break;
      case ExprOp::kMod:
        for (int k = 0; k < n; ++k) {
          const bool zero = b[k] == 0;
          out[k] = (zero || b[k] == -1) ? 0 : a[k] % b[k];
          ov[k] = va[k] & vb[k] & static_cast<uint8_t>(!zero);
        }
        break;
      case ExprOp::kEq: Compare(node.arg_type, a, va, sa, b, vb, sb, n, out, ov, [](auto x, auto y) { return x == y; }); break;
      case ExprOp::kNe: Compare(node.arg_type, a, va, sa, b, vb, sb, n, out, ov, [](auto x, auto y) { return x != y; }); break;
      case ExprOp::kLt: Compare(node.arg_type, a, va, sa, b, vb, sb, n, out, ov, [](auto x, auto y) { return x < y; }); break;
      case ExprOp::kLe: Compare(node.arg_type, a, va, sa, b, vb, sb, n, out, ov, [](auto x, auto y) { return x <= y; }); break;
      case ExprOp::kGt: Compare(node.arg_type, a, va, sa, b, vb, sb, n, out, ov, [](auto x, auto y) { return x > y; }); break;
      case ExprOp::kGe: Compare(node.arg_type, a, va, sa, b, vb, sb, n, out, ov, [](auto x, auto y) { return x >= y; }); break;
      case ExprOp::kAnd:
        for (int k = 0; k < n; ++k) {
          out[k] = (va[k] & static_cast<uint8_t>(a[k] != 0)) & (vb[k] & static_cast<uint8_t>(b[k] != 0));
          ov[k] = 1;
        }
        break;
      case ExprOp::kOr:
        for (int k = 0; k < n; ++k) {
          out[k] = (va[k] & static_cast<uint8_t>(a[k] != 0)) | (vb[k] & static_cast<uint8_t>(b[k] != 0));
          ov[k] = 1;
        }
        break;
      case ExprOp::kNot:
        for (int k = 0; k < n; ++k) {
          out[k] = !(va[k] & static_cast<uint8_t>(a[k] != 0));
          ov[k] = 1;
        }
        break;
      case ExprOp::kIsNull:
        for (int k = 0; k < n; ++k) { out[k] = !va[k]; ov[k] = 1; }
        break;
      case ExprOp::kIsNotNull:
        for (int k = 0; k < n; ++k) { out[k] = va[k]; ov[k] = 1; }
        break;
      case ExprOp::kInSet:
      case ExprOp::kNotInSet: {
        // A dated set's membership is on the line's date (b: service_date).
        const BoundSet& set = bound_.sets[static_cast<size_t>(node.ref)];
        const bool neg = node.op == ExprOp::kNotInSet;
        for (int k = 0; k < n; ++k) {
          bool in = false;
          if (va[k]) {
            const int32_t id = set.type == ValueType::kString ? set.IdOf(sa[k]) : set.IdOf(a[k]);
            in = set.Holds(id, b ? static_cast<Days>(b[k]) : 0);
          }
          out[k] = va[k] && (in != neg);
          ov[k] = 1;
        }
        break;
      }
      case ExprOp::kLookup: {
        const BoundTable& t = bound_.tables[static_cast<size_t>(node.ref)];
        for (int k = 0; k < n; ++k) {
          int32_t e = -1;  // a dated table's entry is the one in force on the line's date (b)
          if (va[k]) e = t.EntryOf(t.key_type == ValueType::kString ? t.IdOf(sa[k]) : t.IdOf(a[k]), b ? static_cast<Days>(b[k]) : 0);
          ov[k] = e >= 0;
          if (t.value_type == ValueType::kString) {
            out[k] = 0;
            os[k] = e >= 0 ? std::string_view(t.value_strings[static_cast<size_t>(e)]) : std::string_view();
          } else {
            out[k] = e >= 0 ? t.value_ints[static_cast<size_t>(e)] : 0;
          }
        }
        break;
      }
      case ExprOp::kStartsWith:
        for (int k = 0; k < n; ++k) {
          out[k] = va[k] && vb[k] && sa[k].substr(0, sb[k].size()) == sb[k];
          ov[k] = 1;
        }
        break;
      case ExprOp::kYear:
      case ExprOp::kMonth: {
        const bool year = node.op == ExprOp::kYear;
        for (int k = 0; k < n; ++k) {
          if (va[k]) {
            YearMonthDay p = DateParts(cal, static_cast<Days>(a[k]));
            out[k] = year ? p.year : p.month;
          } else {
            out[k] = 0;
          }
          ov[k] = va[k];
        }
        break;
      }
      case ExprOp::kDaysBetween:
        for (int k = 0; k < n; ++k) { out[k] = b[k] - a[k]; ov[k] = va[k] & vb[k]; }
        break;
    }
  }
  root_vals_ = vals_.data() + static_cast<size_t>(prog.root) * kChunk;
  root_valid_ = valid_.data() + static_cast<size_t>(prog.root) * kChunk;
  root_strs_ = str_slot_[static_cast<size_t>(prog.root)] >= 0
                   ? strs_.data() + static_cast<size_t>(str_slot_[static_cast<size_t>(prog.root)]) * kChunk
                   : nullptr;
}

}  // namespace sanad
