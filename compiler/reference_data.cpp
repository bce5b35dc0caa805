#include "compiler/reference_data.h"

#include <charconv>
#include <algorithm>

#include <absl/container/flat_hash_map.h>

#include "core/calendar.h"
#include "core/read_file.h"
#include "core/string_dictionary.h"
#include "core/ingest/csv_tokenizer.h"

namespace sanad::compiler {
namespace {

Status ParseValue(std::string_view text, ValueType type, int64_t* i, std::string* msg) {
  switch (type) {
    case ValueType::kString: return Status::Ok();
    case ValueType::kInt: {
      auto r = std::from_chars(text.data(), text.data() + text.size(), *i);
      if (r.ec != std::errc() || r.ptr != text.data() + text.size() || text.empty()) {
        *msg = "expected an integer, got '" + std::string(text.substr(0, 64)) + "'";
        return Status::Invalid(*msg);
      }
      return Status::Ok();
    }
    case ValueType::kDate: {
      Days d;
      if (!ParseIsoDate(text, &d)) {
        *msg = "invalid date '" + std::string(text.substr(0, 64)) + "' (expected YYYY-MM-DD)";
        return Status::Invalid(*msg);
      }
      *i = d;
      return Status::Ok();
    }
    case ValueType::kBool:
      if (text == "true" || text == "1") { *i = 1; return Status::Ok(); }
      if (text == "false" || text == "0") { *i = 0; return Status::Ok(); }
      *msg = "expected true or false, got '" + std::string(text.substr(0, 64)) + "'";
      return Status::Invalid(*msg);
  }
  return Status::Ok();
}

std::string DateText(Days d) {
  if (d == Validity::kOpenEnd) return "open";
  char buf[10];
  FormatIsoDate(d, buf);
  return std::string(buf, 10);
}

std::string PeriodText(const Validity& v) { return "[" + DateText(v.from) + ", " + DateText(v.to) + "]"; }

// Receives rows (cells as text) for one external object. A dated object's
// rows end in valid_from, valid_to (and, for pairs, an optional bypass);
// Done() then refuses two entries of one key whose periods overlap.
class Sink {
 public:
  Sink(Plan& plan, const std::string& name, const std::string& origin) : plan_(plan), name_(name), origin_(origin) {}

  Status Find() {
    for (size_t i = 0; i < plan_.sets.size(); ++i)
      if (plan_.sets[i].name == name_ && plan_.sets[i].external) { set_ = &plan_.sets[i]; break; }
    for (size_t i = 0; i < plan_.tables.size() && !set_; ++i)
      if (plan_.tables[i].name == name_ && plan_.tables[i].external) { table_ = &plan_.tables[i]; break; }
    for (size_t i = 0; i < plan_.pairs.size() && !set_ && !table_; ++i)
      if (plan_.pairs[i].name == name_ && plan_.pairs[i].external) { pairs_ = &plan_.pairs[i]; break; }
    if (!set_ && !table_ && !pairs_)
      return Status::NotFound("reference data '" + name_ + "': the rule set has no external set, table or pairs of that name");
    if (set_) { set_->strings.clear(); set_->ints.clear(); set_->validity.clear(); dated_ = set_->dated; }
    if (table_) {
      PlanTable fresh;
      fresh.name = table_->name;
      fresh.external = true;
      fresh.bound = false;
      fresh.dated = table_->dated;
      fresh.key_type = table_->key_type;
      fresh.value_type = table_->value_type;
      *table_ = std::move(fresh);
      dated_ = table_->dated;
    }
    if (pairs_) { pairs_->pairs.clear(); pairs_->validity.clear(); pairs_->bypass.clear(); dated_ = pairs_->dated; }
    return Status::Ok();
  }

  Status Row(int64_t line, const std::vector<std::string_view>& cells) {
    auto fail = [&](const std::string& m) {
      return Status::Invalid(origin_ + ":" + std::to_string(line) + ": reference data '" + name_ + "': " + m);
    };
    const size_t base = set_ ? 1 : 2;
    const size_t want = base + (dated_ ? 2 : 0);
    const bool may_bypass = pairs_ && dated_;
    if (cells.size() != want && !(may_bypass && cells.size() == want + 1)) {
      std::string expect = std::to_string(want) + (may_bypass ? " or " + std::to_string(want + 1) + " columns" : want == 1 ? " column" : " columns");
      if (dated_) expect += set_ ? " (member, valid_from, valid_to)" : table_ ? " (key, value, valid_from, valid_to)" : " (first, second, valid_from, valid_to[, bypass])";
      return fail("expected " + expect + ", got " + std::to_string(cells.size()));
    }
    std::string msg;
    Validity period;
    uint8_t bypass = 0;
    if (dated_) {
      if (cells[base].empty()) return fail("valid_from is empty (every entry needs the first day it is in force)");
      if (!ParseIsoDate(cells[base], &period.from))
        return fail("valid_from: invalid date '" + std::string(cells[base].substr(0, 64)) + "' (expected YYYY-MM-DD)");
      if (!cells[base + 1].empty() && !ParseIsoDate(cells[base + 1], &period.to))
        return fail("valid_to: invalid date '" + std::string(cells[base + 1].substr(0, 64)) + "' (expected YYYY-MM-DD or empty for open-ended)");
      if (period.from > period.to)
        return fail("valid_from " + DateText(period.from) + " is after valid_to " + DateText(period.to));
      if (cells.size() == want + 1 && !cells[want].empty()) {
        if (cells[want] == "1") bypass = 1;
        else if (cells[want] != "0") return fail("bypass must be 0 or 1 (or empty), got '" + std::string(cells[want].substr(0, 64)) + "'");
      }
    }
    if (set_) {
      int64_t v = 0;
      if (!ParseValue(cells[0], set_->type, &v, &msg).ok()) return fail(msg);
      if (set_->type == ValueType::kString) set_->strings.emplace_back(cells[0]);
      else set_->ints.push_back(v);
      if (dated_) Keep(line, period, set_->type == ValueType::kString ? StringKey(cells[0]) : IntKey(v));
      return Status::Ok();
    }
    if (pairs_) {
      pairs_->pairs.emplace_back(std::string(cells[0]), std::string(cells[1]));
      if (dated_) {
        pairs_->bypass.push_back(bypass);
        Keep(line, period, PairKey(cells[0], cells[1]));
      }
      return Status::Ok();
    }
    int64_t k = 0, v = 0;
    if (!ParseValue(cells[0], table_->key_type, &k, &msg).ok()) return fail("key: " + msg);
    if (!ParseValue(cells[1], table_->value_type, &v, &msg).ok()) return fail("value: " + msg);
    const int32_t key = table_->key_type == ValueType::kString ? StringKey(cells[0]) : IntKey(k);
    if (!dated_) {
      // Undated: a key again with the same value is harmless, with another value an error.
      auto [it, fresh] = first_of_key_.emplace(key, Entry{line, table_->size()});
      if (!fresh) {
        const size_t e = it->second.index;
        const bool same = table_->value_type == ValueType::kString ? table_->value_strings[e] == cells[1] : table_->value_ints[e] == v;
        if (same) return Status::Ok();
        return fail("key '" + std::string(cells[0]) + "' appears again with another value (first at line " + std::to_string(it->second.line) + ")");
      }
    }
    if (table_->key_type == ValueType::kString) table_->key_strings.emplace_back(cells[0]);
    else table_->key_ints.push_back(k);
    if (table_->value_type == ValueType::kString) table_->value_strings.emplace_back(cells[1]);
    else table_->value_ints.push_back(v);
    if (dated_) Keep(line, period, key);
    return Status::Ok();
  }

  Status Done() {
    if (dated_) {
      SANAD_RETURN_IF_ERROR(CheckOverlaps());
      if (set_) set_->validity = std::move(periods_);
      if (table_) table_->validity = std::move(periods_);
      if (pairs_) pairs_->validity = std::move(periods_);
    }
    if (set_) set_->bound = true;
    if (table_) table_->bound = true;
    if (pairs_) pairs_->bound = true;
    return Status::Ok();
  }

 private:
  struct Entry {
    int64_t line;
    size_t index;
  };

  int32_t StringKey(std::string_view s) { return strings_.Intern(s); }
  int32_t IntKey(int64_t v) { return ints_.emplace(v, static_cast<int32_t>(ints_.size())).first->second; }
  int32_t PairKey(std::string_view a, std::string_view b) {
    const uint64_t k = (static_cast<uint64_t>(static_cast<uint32_t>(strings_.Intern(a))) << 32) |
                       static_cast<uint32_t>(strings_.Intern(b));
    return pair_keys_.emplace(k, static_cast<int32_t>(pair_keys_.size())).first->second;
  }
  void Keep(int64_t line, const Validity& v, int32_t key) {
    periods_.push_back(v);
    lines_.push_back(line);
    keys_.push_back(key);
  }
  std::string KeyText(size_t e) const {
    if (set_) return set_->type == ValueType::kString ? "member '" + set_->strings[e] + "'" : "member " + std::to_string(set_->ints[e]);
    if (pairs_) return "pair (" + pairs_->pairs[e].first + ", " + pairs_->pairs[e].second + ")";
    return table_->key_type == ValueType::kString ? "key '" + table_->key_strings[e] + "'" : "key " + std::to_string(table_->key_ints[e]);
  }

  // Entries grouped by key (a counting sort), each key's by valid_from: two
  // neighbours overlap iff the first ends on or after the second begins.
  Status CheckOverlaps() const {
    int32_t keys = 0;
    for (int32_t k : keys_) keys = std::max(keys, k + 1);
    std::vector<uint32_t> begin(static_cast<size_t>(keys) + 1, 0);
    for (int32_t k : keys_) ++begin[static_cast<size_t>(k) + 1];
    for (size_t k = 1; k < begin.size(); ++k) begin[k] += begin[k - 1];
    std::vector<uint32_t> fill(begin.begin(), begin.end() - 1), order(keys_.size());
    for (size_t e = 0; e < keys_.size(); ++e) order[fill[static_cast<size_t>(keys_[e])]++] = static_cast<uint32_t>(e);
    for (size_t k = 0; k + 1 < begin.size(); ++k) {
      if (begin[k + 1] - begin[k] < 2) continue;
      auto first = order.begin() + begin[k], last = order.begin() + begin[k + 1];
      std::sort(first, last, [&](uint32_t a, uint32_t b) {
        return periods_[a].from != periods_[b].from ? periods_[a].from < periods_[b].from : a < b;
      });
      for (auto it = first + 1; it != last; ++it) {
        const uint32_t a = *(it - 1), b = *it;
        if (periods_[a].to < periods_[b].from) continue;
        const uint32_t later = std::max(a, b), earlier = std::min(a, b);
        return Status::Invalid(origin_ + ":" + std::to_string(lines_[later]) + ": reference data '" + name_ + "': " +
                               KeyText(later) + " is in force " + PeriodText(periods_[later]) + " here and " +
                               PeriodText(periods_[earlier]) + " at line " + std::to_string(lines_[earlier]) +
                               ": the periods overlap");
      }
    }
    return Status::Ok();
  }

  Plan& plan_;
  std::string name_, origin_;
  PlanSet* set_ = nullptr;
  PlanTable* table_ = nullptr;
  PlanPairs* pairs_ = nullptr;
  bool dated_ = false;
  StringDictionary strings_;
  absl::flat_hash_map<int64_t, int32_t> ints_;
  absl::flat_hash_map<uint64_t, int32_t> pair_keys_;
  absl::flat_hash_map<int32_t, Entry> first_of_key_;  // undated tables
  std::vector<Validity> periods_;                     // dated: per entry
  std::vector<int64_t> lines_;
  std::vector<int32_t> keys_;
};

}  // namespace

Status BindReferenceCsv(Plan& plan, const std::string& name, std::string_view csv, const std::string& origin) {
  Sink sink(plan, name, origin);
  SANAD_RETURN_IF_ERROR(sink.Find());
  size_t pos = 0;
  if (csv.size() >= 3 && csv.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  int64_t line = 1;
  std::vector<CsvCell> cells;
  std::vector<std::string_view> texts;
  std::string scratch;
  while (pos < csv.size()) {
    int64_t nl = 0;
    bool unterminated = false;
    const size_t next = SplitCsvRecord(csv, pos, csv.size(), &cells, &nl, &unterminated);
    if (unterminated)
      return Status::Invalid(origin + ":" + std::to_string(line) + ": reference data '" + name + "': unterminated quoted cell");
    const bool blank = cells.size() == 1 && cells[0].begin == cells[0].end && !cells[0].quoted;
    if (!blank) {
      scratch.clear();
      scratch.reserve(next - pos);
      texts.clear();
      for (const CsvCell& c : cells) {
        bool ok;
        texts.push_back(CsvCellText(csv, c, &scratch, &ok));
        if (!ok)
          return Status::Invalid(origin + ":" + std::to_string(line) + ": reference data '" + name + "': malformed quoted cell");
      }
      SANAD_RETURN_IF_ERROR(sink.Row(line, texts));
    }
    line += nl;
    pos = next;
  }
  return sink.Done();
}

Status BindReferenceFile(Plan& plan, const std::string& name, const std::string& path) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return Status::Io("reference data '" + name + "': " + text.status().message());
  return BindReferenceCsv(plan, name, *text, path);
}

Status BindReferenceRows(Plan& plan, const std::string& name, const std::vector<std::vector<std::string>>& rows,
                         const std::string& origin) {
  Sink sink(plan, name, origin);
  SANAD_RETURN_IF_ERROR(sink.Find());
  std::vector<std::string_view> texts;
  for (size_t i = 0; i < rows.size(); ++i) {
    texts.assign(rows[i].begin(), rows[i].end());
    SANAD_RETURN_IF_ERROR(sink.Row(static_cast<int64_t>(i + 1), texts));
  }
  return sink.Done();
}

Status CheckReferencesBound(const Plan& plan) {
  for (const PlanSet& s : plan.sets)
    if (!s.bound) return Status::NotFound("missing reference data for external set '" + s.name + "' (pass --ref " + s.name + "=PATH)");
  for (const PlanTable& t : plan.tables)
    if (!t.bound) return Status::NotFound("missing reference data for external table '" + t.name + "' (pass --ref " + t.name + "=PATH)");
  for (const PlanPairs& p : plan.pairs)
    if (!p.bound) return Status::NotFound("missing reference data for external pairs '" + p.name + "' (pass --ref " + p.name + "=PATH)");
  return Status::Ok();
}

}  // namespace sanad::compiler
