// NDJSON ingestion with simdjson On-Demand: one record per line, flat claim
// lines or nested claims with a `lines` array whose items override claim fields.

#include <cstring>
#include <string>

#include <absl/container/flat_hash_set.h>
#include <simdjson.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "sanad/core/calendar.h"
#include "sanad/core/ingest/chunk_builder.h"
#include "sanad/core/ingest/chunking.h"
#include "sanad/core/ingest/claims_reader.h"
#include "sanad/core/ingest/field_lookup.h"

namespace sanad {
namespace {

namespace od = simdjson::ondemand;

std::string_view JsonTypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array: return "an array";
    case od::json_type::object: return "an object";
    case od::json_type::number: return "a number";
    case od::json_type::string: return "a string";
    case od::json_type::boolean: return "a boolean";
    case od::json_type::null: return "null";
  }
  return "a value";
}

std::string Malformed(simdjson::error_code e) {
  return std::string("malformed JSON: ") + simdjson::error_message(e);
}

class NdjsonChunkParser {
 public:
  NdjsonChunkParser(const Schema& schema, ChunkBuilder& out)
      : schema_(schema), lookup_(schema), out_(out), nfields_(static_cast<size_t>(schema.size())) {}

  void ParseChunk(std::string_view data, size_t begin, size_t end, size_t capacity_end) {
    int64_t line = 0;
    size_t pos = begin;
    while (pos < end) {
      const char* nl = static_cast<const char*>(std::memchr(data.data() + pos, '\n', end - pos));
      size_t line_end = nl ? static_cast<size_t>(nl - data.data()) : end;
      ++line;
      size_t b = pos, e = line_end;
      while (b < e && (data[b] == ' ' || data[b] == '\t' || data[b] == '\r')) ++b;
      while (e > b && (data[e - 1] == ' ' || data[e - 1] == '\t' || data[e - 1] == '\r')) --e;
      if (b < e) ParseRecord(data.data() + b, e - b, capacity_end - b, line);
      pos = line_end + 1;
      out_.NoteProgress(pos - begin, end - begin);
    }
    out_.line_count = line;
  }

 private:
  void ParseRecord(const char* p, size_t len, size_t capacity, int64_t line) {
    out_.BeginRecord(line);
    LoadError err;
    if (len > out_.options().max_record_bytes) {
      err.message = "record of " + std::to_string(len) + " bytes exceeds the limit of " +
                    std::to_string(out_.options().max_record_bytes);
      out_.FailRecord(std::move(err));
      return;
    }
    if (!ParseClaim(p, len, capacity, &err)) {
      out_.FailRecord(std::move(err));
      return;
    }
    // Lines: one flat line, or each item merged over the claim's fields.
    if (items_.empty() && !has_lines_) {
      if (!out_.AppendLine(claim_.data(), &err)) { out_.FailRecord(std::move(err)); return; }
    } else {
      if (items_.empty()) {
        err.field = "lines";
        err.message = "claim has no items";
        out_.FailRecord(std::move(err));
        return;
      }
      if (claim_[kPatientPaid].state != RawValue::kAbsent) {  // SETTLEMENT.md §3: it belongs to a line
        err.field = "patient_paid";
        err.message = "patient_paid belongs to a line: give it on the claim's items, not on the claim";
        out_.FailRecord(std::move(err));
        return;
      }
      merged_.resize(nfields_);
      for (size_t k = 0; k < items_.size() / nfields_; ++k) {
        const RawValue* item = items_.data() + k * nfields_;
        for (size_t f = 0; f < nfields_; ++f) merged_[f] = item[f].state != RawValue::kAbsent ? item[f] : claim_[f];
        if (!out_.AppendLine(merged_.data(), &err)) {
          err.field = "lines[" + std::to_string(k) + "]." + err.field;
          out_.FailRecord(std::move(err));
          return;
        }
      }
    }
    out_.CommitRecord();
  }

  // Parses the object into claim_ (and items_ for a nested claim).
  bool ParseClaim(const char* p, size_t len, size_t capacity, LoadError* err) {
    claim_.assign(nfields_, RawValue{});
    items_.clear();
    has_lines_ = false;
    od::document doc;
    if (auto e = parser_.iterate(p, len, capacity).get(doc)) { err->message = Malformed(e); return false; }
    od::object obj;
    if (auto e = doc.get_object().get(obj)) {
      err->message = e == simdjson::INCORRECT_TYPE ? "record is not a JSON object" : Malformed(e);
      return false;
    }
    if (!ParseFields(obj, claim_.data(), /*allow_lines=*/true, err)) return false;
    const char* loc = nullptr;
    if (doc.current_location().get(loc) == simdjson::SUCCESS) {
      err->message = "malformed JSON: unexpected content after the object";
      return false;
    }
    return true;
  }

  // A key repeated in one object is an error naming it (JSON leaves its
  // meaning open; guessing which value counts would be silent data change).
  bool KeySeenBefore(std::string_view key) {
    if (keys_.size() < 32) {
      for (std::string_view k : keys_)
        if (k == key) return true;
      keys_.emplace_back(key);
      if (keys_.size() == 32) key_set_.insert(keys_.begin(), keys_.end());
      return false;
    }
    return !key_set_.emplace(key).second;
  }

  bool ParseFields(od::object& obj, RawValue* vals, bool allow_lines, LoadError* err) {
    keys_.clear();
    key_set_.clear();
    for (auto field_result : obj) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) { err->message = Malformed(e); return false; }
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) { err->message = Malformed(e); return false; }
      if (KeySeenBefore(key)) {
        err->field = std::string(key.substr(0, 128));
        err->message = "key appears twice in one object";
        return false;
      }
      od::value v = field.value();
      if (allow_lines && key == "lines") {
        std::vector<std::string_view> keys = std::move(keys_);  // the items' objects reuse the key list
        absl::flat_hash_set<std::string_view> key_set = std::move(key_set_);
        if (!ParseItems(v, err)) return false;
        keys_ = std::move(keys);
        key_set_ = std::move(key_set);
        continue;
      }
      const int f = lookup_.Find(key);
      if (f < 0) {
        // Undeclared fields are ignored, but must still be valid JSON.
        if (!ValidateJson(v, 0, err)) {
          err->field = std::string(key.substr(0, 128));
          return false;
        }
        continue;
      }
      if (!ParseValue(v, f, &vals[f], err)) {
        if (err->field.empty()) err->field = schema_.field(f).name;
        return false;
      }
    }
    return true;
  }

  // Walks a value the reader does not use, so that every byte of a record is
  // checked as JSON (On-Demand would skip it unchecked). Depth is bounded by
  // simdjson's own nesting limit.
  bool ValidateJson(od::value v, int depth, LoadError* err) {
    od::json_type t;
    if (auto e = v.type().get(t)) { err->message = Malformed(e); return false; }
    simdjson::error_code e = simdjson::SUCCESS;
    switch (t) {
      case od::json_type::object: {
        od::object o;
        if ((e = v.get_object().get(o))) break;
        for (auto fr : o) {
          od::field fl;
          if ((e = std::move(fr).get(fl))) break;
          std::string_view k;
          if ((e = fl.unescaped_key().get(k))) break;
          if (!ValidateJson(fl.value(), depth + 1, err)) return false;
        }
        break;
      }
      case od::json_type::array: {
        od::array a;
        if ((e = v.get_array().get(a))) break;
        for (auto ir : a) {
          od::value item;
          if ((e = std::move(ir).get(item))) break;
          if (!ValidateJson(item, depth + 1, err)) return false;
        }
        break;
      }
      case od::json_type::number: {
        od::number n;
        e = v.get_number().get(n);
        break;
      }
      case od::json_type::string: {
        std::string_view sv;
        e = v.get_string().get(sv);
        break;
      }
      case od::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b)) e = simdjson::T_ATOM_ERROR;
        break;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (v.is_null().get(is_null) || !is_null) e = simdjson::N_ATOM_ERROR;
        break;
      }
    }
    if (e) {
      err->message = Malformed(e);
      return false;
    }
    return true;
  }

  bool ParseItems(od::value& v, LoadError* err) {
    has_lines_ = true;
    od::array arr;
    if (auto e = v.get_array().get(arr)) {
      err->field = "lines";
      err->message = e == simdjson::INCORRECT_TYPE ? "expected an array of claim items" : Malformed(e);
      return false;
    }
    size_t k = 0;
    for (auto item_result : arr) {
      od::value item;
      if (auto e = std::move(item_result).get(item)) { err->message = Malformed(e); return false; }
      od::object obj;
      if (auto e = item.get_object().get(obj)) {
        err->field = "lines[" + std::to_string(k) + "]";
        err->message = e == simdjson::INCORRECT_TYPE ? "claim item is not a JSON object" : Malformed(e);
        return false;
      }
      if (k >= out_.options().max_items_per_claim) {
        err->field = "lines";
        err->message = "claim has more than " + std::to_string(out_.options().max_items_per_claim) + " items";
        return false;
      }
      items_.resize((k + 1) * nfields_);
      if (!ParseFields(obj, items_.data() + k * nfields_, false, err)) {
        if (!err->field.empty()) err->field = "lines[" + std::to_string(k) + "]." + err->field;
        return false;
      }
      ++k;
    }
    return true;
  }

  bool ParseValue(od::value& v, int f, RawValue* out, LoadError* err) {
    od::json_type t;
    if (auto e = v.type().get(t)) { err->message = Malformed(e); return false; }
    if (t == od::json_type::null) {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null); e || !is_null) { err->message = "malformed JSON: invalid literal"; return false; }
      out->state = RawValue::kNull;
      return true;
    }
    const ValueType want = schema_.field(f).type;
    auto wrong = [&](std::string_view expected) {
      err->message = "expected " + std::string(expected) + ", got " + std::string(JsonTypeName(t));
      return false;
    };
    switch (want) {
      case ValueType::kString: {
        if (t != od::json_type::string) return wrong("a string");
        if (auto e = v.get_string().get(out->s)) { err->message = Malformed(e); return false; }
        break;
      }
      case ValueType::kInt: {
        if (t != od::json_type::number) return wrong("an integer");
        auto e = v.get_int64().get(out->i);
        if (e == simdjson::NUMBER_OUT_OF_RANGE) {
          err->message = "integer out of the 64-bit range";
          return false;
        }
        if (e == simdjson::INCORRECT_TYPE) {
          std::string_view raw;
          raw = v.raw_json_token();
          bool digits = !raw.empty();
          while (digits && !raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r')) raw.remove_suffix(1);
          for (size_t i = (!raw.empty() && raw[0] == '-') ? 1 : 0; digits && i < raw.size(); ++i)
            digits = raw[i] >= '0' && raw[i] <= '9';
          err->message = digits ? "integer out of the 64-bit range"
                                : "expected an integer, got a number with a fraction or exponent";
          return false;
        }
        if (e) { err->message = Malformed(e); return false; }
        break;
      }
      case ValueType::kBool: {
        if (t != od::json_type::boolean) return wrong("true or false");
        bool b = false;
        if (auto e = v.get_bool().get(b)) { err->message = Malformed(e); return false; }
        out->i = b ? 1 : 0;
        break;
      }
      case ValueType::kDate: {
        if (t != od::json_type::string) return wrong("a date string YYYY-MM-DD");
        std::string_view s;
        if (auto e = v.get_string().get(s)) { err->message = Malformed(e); return false; }
        Days d;
        if (!ParseIsoDate(s, &d)) {
          err->message = "invalid date '" + std::string(s.substr(0, 64)) + "' (expected YYYY-MM-DD)";
          return false;
        }
        out->i = d;
        break;
      }
    }
    out->state = RawValue::kValue;
    return true;
  }

  const Schema& schema_;
  internal::FieldLookup lookup_;
  ChunkBuilder& out_;
  size_t nfields_;
  od::parser parser_;
  std::vector<RawValue> claim_, items_, merged_;
  // Keys of the object being read. Unescaped keys live in the parser's
  // string buffer until the next record, so views stay valid.
  std::vector<std::string_view> keys_;
  absl::flat_hash_set<std::string_view> key_set_;  // the same, once there are many
  bool has_lines_ = false;
};

}  // namespace

Result<LoadedClaims> ReadNdjson(std::string_view input, const Schema& schema, const LoadOptions& options) {
  // simdjson needs SIMDJSON_PADDING readable bytes after each document.
  simdjson::padded_string padded(input);
  return internal::ReadNdjsonPadded(std::string_view(padded.data(), padded.size()), schema, options);
}

namespace internal {

Result<LoadedClaims> ReadNdjsonPadded(std::string_view data, const Schema& schema, const LoadOptions& options) {
  size_t begin = 0;
  if (data.size() >= 3 && std::memcmp(data.data(), "\xEF\xBB\xBF", 3) == 0) begin = 3;  // UTF-8 BOM
  const int threads = internal::ResolveThreads(options.threads);
  std::vector<size_t> bounds =
      internal::SplitAtNewlines(data, begin, internal::ChunkCount(data.size() - begin, threads, options.min_chunk_bytes), false);
  const size_t n = bounds.size() - 1;
  std::vector<ChunkBuilder> chunks(n, ChunkBuilder(schema, options));
  const size_t capacity_end = data.size() + simdjson::SIMDJSON_PADDING;
  auto parse = [&](size_t c) {
    if (StopRequested(options.stop)) return;
    NdjsonChunkParser parser(schema, chunks[c]);
    parser.ParseChunk(data, bounds[c], bounds[c + 1], capacity_end);
  };
  if (n == 1) {  // one chunk (small inputs, online claims): no task scheduling
    parse(0);
    return AssembleChunks(chunks, schema, options);
  }
  Result<LoadedClaims> out = Status::Invalid("");
  tbb::task_arena arena(internal::ArenaThreads(options.threads));
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, n, parse);
    out = StopRequested(options.stop) ? Result<LoadedClaims>(Status::Cancelled("interrupted while reading claims"))
                                      : AssembleChunks(chunks, schema, options);
  });
  return out;
}

}  // namespace internal

}  // namespace sanad
