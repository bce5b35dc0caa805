#include "compiler/reference_data.h"

#include <charconv>
#include <unordered_map>

#include "core/calendar.h"
#include "core/read_file.h"
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

// Receives rows (cells as text) for one external object.
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
    if (set_) { set_->strings.clear(); set_->ints.clear(); }
    if (table_) { *table_ = PlanTable{table_->name, true, false, table_->key_type, table_->value_type, {}, {}, {}, {}}; }
    if (pairs_) pairs_->pairs.clear();
    return Status::Ok();
  }

  size_t Columns() const { return set_ ? 1 : 2; }

  Status Row(int64_t line, const std::vector<std::string_view>& cells) {
    auto fail = [&](const std::string& m) {
      return Status::Invalid(origin_ + ":" + std::to_string(line) + ": reference data '" + name_ + "': " + m);
    };
    if (cells.size() != Columns())
      return fail("expected " + std::to_string(Columns()) + (Columns() == 1 ? " column" : " columns") + ", got " +
                  std::to_string(cells.size()));
    std::string msg;
    if (set_) {
      int64_t v = 0;
      if (!ParseValue(cells[0], set_->type, &v, &msg).ok()) return fail(msg);
      if (set_->type == ValueType::kString) set_->strings.emplace_back(cells[0]);
      else set_->ints.push_back(v);
      return Status::Ok();
    }
    if (pairs_) {
      pairs_->pairs.emplace_back(std::string(cells[0]), std::string(cells[1]));
      return Status::Ok();
    }
    int64_t k = 0, v = 0;
    if (!ParseValue(cells[0], table_->key_type, &k, &msg).ok()) return fail("key: " + msg);
    if (!ParseValue(cells[1], table_->value_type, &v, &msg).ok()) return fail("value: " + msg);
    const std::string key_text(cells[0]);
    Entry first{line, table_->size()};
    bool fresh;
    if (table_->key_type == ValueType::kString) {
      auto [it, f] = seen_str_.emplace(key_text, first);
      fresh = f;
      first = it->second;
    } else {
      auto [it, f] = seen_int_.emplace(k, first);
      fresh = f;
      first = it->second;
    }
    if (!fresh) {
      const size_t e = first.index;
      const bool same = table_->value_type == ValueType::kString ? table_->value_strings[e] == cells[1] : table_->value_ints[e] == v;
      if (same) return Status::Ok();
      return fail("key '" + key_text + "' appears again with another value (first at line " + std::to_string(first.line) + ")");
    }
    if (table_->key_type == ValueType::kString) table_->key_strings.push_back(key_text);
    else table_->key_ints.push_back(k);
    if (table_->value_type == ValueType::kString) table_->value_strings.emplace_back(cells[1]);
    else table_->value_ints.push_back(v);
    return Status::Ok();
  }

  void Done() {
    if (set_) set_->bound = true;
    if (table_) table_->bound = true;
    if (pairs_) pairs_->bound = true;
  }

 private:
  struct Entry {
    int64_t line;
    size_t index;
  };
  Plan& plan_;
  std::string name_, origin_;
  PlanSet* set_ = nullptr;
  PlanTable* table_ = nullptr;
  PlanPairs* pairs_ = nullptr;
  std::unordered_map<std::string, Entry> seen_str_;
  std::unordered_map<int64_t, Entry> seen_int_;
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
  sink.Done();
  return Status::Ok();
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
  sink.Done();
  return Status::Ok();
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
