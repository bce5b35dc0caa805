#include "sanad/compiler/reference_data.h"

#include <charconv>
#include <algorithm>
#include <utility>

#include <absl/container/flat_hash_map.h>

#include "sanad/core/calendar.h"
#include "sanad/core/read_file.h"
#include "sanad/core/string_dictionary.h"
#include "sanad/core/ingest/csv_tokenizer.h"

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

  /// Room for about `rows` entries (a CSV's line count), so big national
  /// tables do not grow their arrays row by row.
  void Reserve(size_t rows) {
    if (pairs_) pairs_->pairs.reserve(rows);
    if (dated_) {
      periods_.reserve(rows);
      lines_.reserve(rows);
      hashes_.reserve(rows);
      if (pairs_) pairs_->bypass.reserve(rows);
    }
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
      if (dated_) Keep(line, period, set_->type == ValueType::kString ? StringDictionary::Hash(cells[0]) : IntHash(v));
      return Status::Ok();
    }
    if (pairs_) {
      pairs_->pairs.emplace_back(std::string(cells[0]), std::string(cells[1]));
      if (dated_) {
        pairs_->bypass.push_back(bypass);
        Keep(line, period, PairHash(cells[0], cells[1]));
      }
      return Status::Ok();
    }
    int64_t k = 0, v = 0;
    if (!ParseValue(cells[0], table_->key_type, &k, &msg).ok()) return fail("key: " + msg);
    if (!ParseValue(cells[1], table_->value_type, &v, &msg).ok()) return fail("value: " + msg);
    if (!dated_) {
      // Undated: a key again with the same value is harmless, with another value an error.
      const Entry here{line, table_->size()};
      const Entry first = table_->key_type == ValueType::kString ? first_of_string_.emplace(std::string(cells[0]), here).first->second
                                                                 : first_of_int_.emplace(k, here).first->second;
      if (first.index != here.index) {
        const size_t e = first.index;
        const bool same = table_->value_type == ValueType::kString ? table_->value_strings[e] == cells[1] : table_->value_ints[e] == v;
        if (same) return Status::Ok();
        return fail("key '" + std::string(cells[0]) + "' appears again with another value (first at line " + std::to_string(first.line) + ")");
      }
    }
    if (table_->key_type == ValueType::kString) table_->key_strings.emplace_back(cells[0]);
    else table_->key_ints.push_back(k);
    if (table_->value_type == ValueType::kString) table_->value_strings.emplace_back(cells[1]);
    else table_->value_ints.push_back(v);
    if (dated_) Keep(line, period, table_->key_type == ValueType::kString ? StringDictionary::Hash(cells[0]) : IntHash(k));
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

  static uint64_t IntHash(int64_t v) {
    uint64_t x = static_cast<uint64_t>(v) * 0x9e3779b97f4a7c15ULL;
    return x ^ (x >> 29);
  }
  static uint64_t PairHash(std::string_view a, std::string_view b) {
    const uint64_t h = StringDictionary::Hash(a);
    return (h ^ (h >> 31)) * 0xff51afd7ed558ccdULL + StringDictionary::Hash(b);
  }
  void Keep(int64_t line, const Validity& v, uint64_t key_hash) {
    periods_.push_back(v);
    lines_.push_back(line);
    hashes_.push_back(key_hash);
  }
  std::string KeyText(size_t e) const {
    if (set_) return set_->type == ValueType::kString ? "member '" + set_->strings[e] + "'" : "member " + std::to_string(set_->ints[e]);
    if (pairs_) return "pair (" + pairs_->pairs[e].first + ", " + pairs_->pairs[e].second + ")";
    return table_->key_type == ValueType::kString ? "key '" + table_->key_strings[e] + "'" : "key " + std::to_string(table_->key_ints[e]);
  }

  // Exact key order and equality of two entries (hashes only group them).
  int CompareKeys(size_t a, size_t b) const {
    auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : y < x ? 1 : 0; };
    if (set_) return set_->type == ValueType::kString ? cmp(set_->strings[a], set_->strings[b]) : cmp(set_->ints[a], set_->ints[b]);
    if (pairs_) return cmp(pairs_->pairs[a], pairs_->pairs[b]);
    return table_->key_type == ValueType::kString ? cmp(table_->key_strings[a], table_->key_strings[b])
                                                  : cmp(table_->key_ints[a], table_->key_ints[b]);
  }

  // Entries grouped by key hash (one radix pass on the top 16 bits, then a
  // sort of each bucket, which holds few entries and fits in cache); within
  // a group of two or more, sorted by exact key and valid_from: two entries
  // of one key overlap iff some neighbours in that order do.
  Status CheckOverlaps() const {
    const size_t n = hashes_.size();
    struct Keyed {
      uint64_t hash;
      uint32_t entry;
    };
    std::vector<uint32_t> count((size_t{1} << 16) + 1, 0);
    for (uint64_t h : hashes_) ++count[(h >> 48) + 1];
    for (size_t b = 1; b < count.size(); ++b) count[b] += count[b - 1];
    std::vector<Keyed> sorted(n);
    {
      std::vector<uint32_t> fill(count.begin(), count.end() - 1);
      for (size_t e = 0; e < n; ++e) sorted[fill[hashes_[e] >> 48]++] = Keyed{hashes_[e], static_cast<uint32_t>(e)};
    }
    for (size_t b = 0; b + 1 < count.size(); ++b)
      std::sort(sorted.begin() + count[b], sorted.begin() + count[b + 1],
                [](const Keyed& x, const Keyed& y) { return x.hash != y.hash ? x.hash < y.hash : x.entry < y.entry; });
    // A group is one key unless hashes collide. Sorted by valid_from, its
    // periods are disjoint iff neighbours are; only then (rarely) are the
    // keys compared, and on a collision the group is re-sorted by exact key.
    std::vector<uint32_t> group;
    auto by_from = [&](uint32_t a, uint32_t b) {
      return periods_[a].from != periods_[b].from ? periods_[a].from < periods_[b].from : a < b;
    };
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && sorted[j].hash == sorted[i].hash) ++j;
      if (j - i > 1) {
        group.clear();
        for (size_t k = i; k < j; ++k) group.push_back(sorted[k].entry);
        std::sort(group.begin(), group.end(), by_from);
        bool exact = false;
        for (size_t k = 1; k < group.size(); ++k) {
          const uint32_t a = group[k - 1], b = group[k];
          if (periods_[a].to < periods_[b].from) continue;
          if (!exact && CompareKeys(a, b) != 0) {  // a collision: order by exact key, then start over
            std::sort(group.begin(), group.end(), [&](uint32_t x, uint32_t y) {
              const int c = CompareKeys(x, y);
              return c != 0 ? c < 0 : by_from(x, y);
            });
            exact = true;
            k = 0;
            continue;
          }
          if (exact && CompareKeys(a, b) != 0) continue;
          const uint32_t later = std::max(a, b), earlier = std::min(a, b);
          return Status::Invalid(origin_ + ":" + std::to_string(lines_[later]) + ": reference data '" + name_ + "': " +
                                 KeyText(later) + " is in force " + PeriodText(periods_[later]) + " here and " +
                                 PeriodText(periods_[earlier]) + " at line " + std::to_string(lines_[earlier]) +
                                 ": the periods overlap");
        }
      }
      i = j;
    }
    return Status::Ok();
  }

  Plan& plan_;
  std::string name_, origin_;
  PlanSet* set_ = nullptr;
  PlanTable* table_ = nullptr;
  PlanPairs* pairs_ = nullptr;
  bool dated_ = false;
  absl::flat_hash_map<std::string, Entry> first_of_string_;  // undated tables: a key's first entry
  absl::flat_hash_map<int64_t, Entry> first_of_int_;
  std::vector<Validity> periods_;  // dated: per entry
  std::vector<int64_t> lines_;
  std::vector<uint64_t> hashes_;   // dated: the entry's key hash
};

}  // namespace

Status BindReferenceCsv(Plan& plan, const std::string& name, std::string_view csv, const std::string& origin) {
  Sink sink(plan, name, origin);
  SANAD_RETURN_IF_ERROR(sink.Find());
  sink.Reserve(static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')) + 1);
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

}  // namespace sanad::compiler
