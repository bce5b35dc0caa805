#include <gtest/gtest.h>

#include <random>
#include <string>

#include "sanad/core/calendar.h"
#include "sanad/core/ingest/claims_reader.h"
#include "sanad/core/ingest/chunk_builder.h"
#include "sanad/core/ingest/csv_tokenizer.h"
#include "tests/support/load_equality.h"

namespace sanad {
namespace {

const char* kLine =
    R"({"claim_id":"C1","insured_id":"I1","fund":"rural","provider_id":"P1","provider_sector":"private","service_code":"970000","service_date":"2024-03-20","amount":1000})";

// A flat line; `extra` adds fields or replaces the standard ones it names
// (a key repeated in one object is an error, so it is not appended twice).
std::string Flat(const std::string& claim, const std::string& extra = "") {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"claim_id", "\"" + claim + "\""}, {"insured_id", "\"I1\""},          {"fund", "\"rural\""},
      {"provider_id", "\"P1\""},        {"provider_sector", "\"private\""}, {"service_code", "\"970000\""},
      {"service_date", "\"2024-03-20\""}, {"amount", "1000"}};
  std::string s = "{";
  for (const auto& [k, v] : fields)
    if (extra.find("\"" + k + "\":") == std::string::npos) s += "\"" + k + "\":" + v + ",";
  if (!extra.empty()) s += extra + ",";
  s.back() = '}';
  return s;
}

LoadOptions Skip(int threads = 1) {
  LoadOptions o;
  o.on_error = OnError::kSkip;
  o.threads = threads;
  return o;
}

LoadedClaims MustRead(const std::string& data, const LoadOptions& o = Skip(), bool csv = false,
                      const Schema& schema = Schema::Standard()) {
  Result<LoadedClaims> r = csv ? ReadCsv(data, schema, o) : ReadNdjson(data, schema, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(r).value();
}

void ExpectAccounted(const LoadedClaims& c) {
  EXPECT_EQ(c.records_read, c.records_loaded + static_cast<int64_t>(c.errors.size()));
}

TEST(NdjsonReaderTest, ReadsFlatLineWithDefaults) {
  LoadedClaims c = MustRead(std::string(kLine) + "\n");
  ASSERT_EQ(c.batch.size(), 1u);
  EXPECT_EQ(c.batch.String(kClaimId, 0), "C1");
  EXPECT_EQ(c.batch.Int(kLineNo, 0), 1);
  EXPECT_EQ(c.batch.Int(kSeq, 0), 1);
  EXPECT_EQ(c.batch.Int(kQuantity, 0), 1);
  EXPECT_FALSE(c.batch.Bool(kReferral, 0));
  EXPECT_FALSE(c.batch.IsValid(kAge, 0));
  EXPECT_FALSE(c.batch.IsValid(kDiagnosis, 0));
  Days d;
  ASSERT_TRUE(ParseIsoDate("2024-03-20", &d));
  EXPECT_EQ(c.batch.Date(kServiceDate, 0), d);
  EXPECT_EQ(c.batch.Int(kAmount, 0), 1000);
  EXPECT_EQ(c.records_read, 1);
  EXPECT_TRUE(c.errors.empty());
}

TEST(NdjsonReaderTest, NestedClaimItemsOverrideClaimFieldsIncludingExplicitNull) {
  const std::string data =
      R"({"claim_id":"C9","insured_id":"I1","fund":"rural","provider_id":"P1","provider_sector":"private","service_date":"2024-03-20","age":40,"diagnosis":"J10",)"
      R"("lines":[{"service_code":"A","amount":5},{"service_code":"B","amount":7,"age":null,"fund":"iranian"}]})"
      "\n" +
      Flat("C9") + "\n";
  LoadedClaims c = MustRead(data);
  ASSERT_EQ(c.batch.size(), 3u);
  EXPECT_EQ(c.batch.String(kServiceCode, 0), "A");
  EXPECT_EQ(c.batch.Int(kAge, 0), 40);
  EXPECT_FALSE(c.batch.IsValid(kAge, 1));  // the item's explicit null overrides the claim's 40
  EXPECT_EQ(c.batch.String(kFund, 1), "iranian");
  EXPECT_EQ(c.batch.String(kDiagnosis, 1), "J10");
  EXPECT_EQ(c.batch.Int(kLineNo, 0), 1);
  EXPECT_EQ(c.batch.Int(kLineNo, 1), 2);
  EXPECT_EQ(c.batch.Int(kLineNo, 2), 3);  // third line of C9 in input order
  EXPECT_EQ(c.batch.Int(kSeq, 2), 3);
  EXPECT_EQ(c.input_lines[2], 2);
  EXPECT_EQ(c.records_read, 2);
}

TEST(NdjsonReaderTest, ExplicitSeqAndLineNoAreKept) {
  LoadedClaims c = MustRead(Flat("C1", R"("seq":17,"line_no":4)") + "\n" + Flat("C1") + "\n");
  ASSERT_EQ(c.batch.size(), 2u);
  EXPECT_EQ(c.batch.Int(kSeq, 0), 17);
  EXPECT_EQ(c.batch.Int(kLineNo, 0), 4);
  EXPECT_EQ(c.batch.Int(kSeq, 1), 2);
  EXPECT_EQ(c.batch.Int(kLineNo, 1), 2);
}

struct BadCase {
  const char* name;
  std::string record;
  std::string field;
  std::string message_part;
};

TEST(NdjsonReaderTest, EveryKindOfBadRecordIsReportedWithLineAndField) {
  const std::vector<BadCase> cases = {
      {"malformed", R"({"claim_id": "C1", )", "", "malformed JSON"},
      {"not object", R"([1,2])", "", "not a JSON object"},
      {"wrong type", Flat("C2", R"("age":"forty")"), "age", "expected an integer, got a string"},
      {"fraction", Flat("C2b", R"("quantity":1.5)"), "quantity", "fraction"},
      {"missing", R"({"claim_id":"C3","fund":"rural","provider_id":"P1","provider_sector":"private","service_code":"X","service_date":"2024-03-20","amount":1})",
       "insured_id", "required field is missing"},
      {"null required", Flat("C4", R"("fund":null)"), "fund", "required field is null"},
      {"invalid date", Flat("C5", R"("service_date":"2023-02-30")"), "service_date", "invalid date '2023-02-30'"},
      {"negative amount", Flat("C6", R"("amount":-5)"), "amount", "negative amount -5"},
      {"trailing", Flat("C7") + " {}", "", "unexpected content"},
      {"bad item", R"({"claim_id":"C8","insured_id":"I","fund":"f","provider_id":"P","provider_sector":"s","service_date":"2024-01-01","lines":[{"service_code":"A","amount":1},{"service_code":"B","amount":"x"}]})",
       "lines[1].amount", "expected an integer"},
      {"empty lines", R"({"claim_id":"C10","lines":[]})", "lines", "no items"},
      {"overflow", Flat("C11", R"("quantity":99999999999999999999)"), "quantity", "64-bit"},
      {"negative patient_paid", Flat("C12", R"("patient_paid":-1)"), "patient_paid", "negative patient_paid -1"},
      // SETTLEMENT.md §3: what the patient paid belongs to a line, not to a claim's header.
      {"patient_paid on a header", R"({"claim_id":"C13","insured_id":"I","fund":"f","provider_id":"P","provider_sector":"s","service_date":"2024-01-01","patient_paid":5,"lines":[{"service_code":"A","amount":1}]})",
       "patient_paid", "belongs to a line"},
  };
  std::string data;
  for (const BadCase& bc : cases) data += bc.record + "\n";
  data += std::string(kLine) + "\n";  // one good line at the end
  LoadedClaims c = MustRead(data);
  ASSERT_EQ(c.errors.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    EXPECT_EQ(c.errors[i].line, static_cast<int64_t>(i + 1));
    EXPECT_EQ(c.errors[i].field, cases[i].field);
    EXPECT_NE(c.errors[i].message.find(cases[i].message_part), std::string::npos) << c.errors[i].message;
  }
  EXPECT_EQ(c.batch.size(), 1u);  // the nested claim with a bad item is refused whole
  ExpectAccounted(c);
}

TEST(NdjsonReaderTest, TruncatedLastRecordIsAnError) {
  std::string data = std::string(kLine) + "\n" + std::string(kLine).substr(0, 40);
  LoadedClaims c = MustRead(data);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].line, 2);
  EXPECT_EQ(c.batch.size(), 1u);
  ExpectAccounted(c);
}

TEST(NdjsonReaderTest, DuplicateLineIdRefusesTheLaterRecord) {
  std::string data = Flat("C1", R"("line_no":1)") + "\n" + Flat("C2") + "\n" + Flat("C1", R"("line_no":1)") + "\n" +
                     Flat("C1") + "\n";
  LoadedClaims c = MustRead(data);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].line, 3);
  EXPECT_EQ(c.errors[0].field, "line_no");
  EXPECT_NE(c.errors[0].message.find("first seen at input line 1"), std::string::npos);
  ASSERT_EQ(c.batch.size(), 3u);
  EXPECT_EQ(c.batch.Int(kLineNo, 2), 2);  // second loaded line of C1
  EXPECT_EQ(c.batch.Int(kSeq, 2), 3);     // positions among loaded lines
  EXPECT_EQ(c.input_lines[2], 4);
  ExpectAccounted(c);
}

TEST(NdjsonReaderTest, StopAtFirstErrorFailsWithTheEarliestError) {
  std::string data = std::string(kLine) + "\n" + Flat("C2", R"("amount":-1)") + "\n" + "{bad\n";
  LoadOptions o;
  o.on_error = OnError::kFail;
  Result<LoadedClaims> r = ReadNdjson(data, Schema::Standard(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 2: field 'amount': negative amount -1");
}

TEST(NdjsonReaderTest, KeepsUtf8StringsAndRefusesOverlongOnes) {
  const std::string fa = "\xD8\xAA\xD9\x87\xD8\xB1\xD8\xA7\xD9\x86";
  const std::string zh = "\xE5\x8C\x97\xE4\xBA\xAC";
  std::string data = Flat("C1", R"("diagnosis":")" + fa + R"(")") + "\n" + Flat("C2", R"("diagnosis":")" + zh + R"(")") +
                     "\n" + Flat("C3", R"("diagnosis":")" + std::string(70000, 'x') + R"(")") + "\n" +
                     Flat("C4", R"("diagnosis":"\u0627")") + "\n";
  LoadedClaims c = MustRead(data);
  ASSERT_EQ(c.batch.size(), 3u);
  EXPECT_EQ(c.batch.String(kDiagnosis, 0), fa);
  EXPECT_EQ(c.batch.String(kDiagnosis, 1), zh);
  EXPECT_EQ(c.batch.String(kDiagnosis, 2), "\xD8\xA7");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].field, "diagnosis");
  EXPECT_NE(c.errors[0].message.find("exceeds the limit"), std::string::npos);
}

TEST(NdjsonReaderTest, InvalidUtf8IsMalformed) {
  std::string data = Flat("C1", "\"diagnosis\":\"\xC3\x28\"") + "\n";
  LoadedClaims c = MustRead(data);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.batch.size(), 0u);
}

TEST(NdjsonReaderTest, EmptyAndBlankInputHasNoRecords) {
  for (std::string data : {std::string(""), std::string("\n\n  \n")}) {
    LoadedClaims c = MustRead(data);
    EXPECT_EQ(c.batch.size(), 0u);
    EXPECT_EQ(c.records_read, 0);
    EXPECT_TRUE(c.errors.empty());
  }
}

TEST(NdjsonReaderTest, ExtraDeclaredFieldsAreReadAndOthersIgnored) {
  Schema s = Schema::Standard();
  ASSERT_TRUE(s.AddExtra("referral_code", ValueType::kString).ok());
  ASSERT_TRUE(s.AddExtra("chronic", ValueType::kBool).ok());
  LoadedClaims c = MustRead(Flat("C1", R"("referral_code":"R-1","chronic":true,"whatever":[1,{"a":2}])") + "\n", Skip(),
                            false, s);
  ASSERT_EQ(c.batch.size(), 1u);
  EXPECT_EQ(c.batch.String(s.Find("referral_code"), 0), "R-1");
  EXPECT_TRUE(c.batch.Bool(s.Find("chronic"), 0));
}

// Found by an adversarial run: malformed values inside undeclared fields
// loaded as valid records, and a repeated key was resolved silently (for
// nested `lines`, by merging the arrays).
TEST(NdjsonReaderTest, UndeclaredValuesMustBeValidJson) {
  const std::vector<std::string> bad = {R"("x":tru)", R"("x":01)", R"("x":[1,2})", R"("x":{"a":[1,{"b":nul}]})",
                                        R"("x":-)", R"("x":"\q")"};
  std::string data;
  for (const std::string& b : bad) data += Flat("C" + std::to_string(data.size()), b) + "\n";
  data += Flat("OK", R"("x":{"a":[1,{"b":null}],"c":-0.5e3},"y":"\u00e9","z":[true,false,null])") + "\n";
  LoadedClaims c = MustRead(data);
  ASSERT_EQ(c.errors.size(), bad.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(c.errors[i].line, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(c.errors[i].field, "x") << bad[i];
    EXPECT_NE(c.errors[i].message.find("malformed JSON"), std::string::npos) << bad[i] << ": " << c.errors[i].message;
  }
  EXPECT_EQ(c.batch.size(), 1u);
  ExpectAccounted(c);
}

TEST(NdjsonReaderTest, RepeatedKeyIsAnErrorNamingIt) {
  const std::string item = R"({"service_code":"A","amount":1})";
  std::string data = Flat("C1", R"("age":5,"age":6)") + "\n" +               // a declared field twice
                     Flat("C2", R"("note":1,"note":2)") + "\n" +             // an undeclared one
                     Flat("C3", R"("lines":[)" + item + R"(],"lines":[)" + item + "]") + "\n" +
                     Flat("C4", R"("lines":[{"age":1,"age":2}])") + "\n" +
                     Flat("C5", R"("lines":[{"age":1},{"age":2}])") + "\n";  // fine: one key per object
  LoadedClaims c = MustRead(data);
  ASSERT_EQ(c.errors.size(), 4u);
  EXPECT_EQ(c.errors[0].field, "age");
  EXPECT_EQ(c.errors[1].field, "note");
  EXPECT_EQ(c.errors[2].field, "lines");
  EXPECT_EQ(c.errors[3].field, "lines[0].age");
  for (const LoadError& e : c.errors) EXPECT_EQ(e.message, "key appears twice in one object");
  EXPECT_EQ(c.batch.size(), 2u);
}

// Codes, order and errors must not depend on how the input is split.
TEST(NdjsonReaderTest, ResultIsIndependentOfThreadCount) {
  std::string data;
  for (int i = 0; i < 60000; ++i) {
    if (i % 997 == 0) { data += "{broken\n"; continue; }
    data += Flat("C" + std::to_string(i % 7919), R"("diagnosis":"D)" + std::to_string(i % 13) + "\"") + "\n";
  }
  LoadedClaims one = MustRead(data, Skip(1));
  for (int t : {2, 4, 8}) {
    LoadedClaims many = MustRead(data, Skip(t));
    ASSERT_EQ(many.batch.size(), one.batch.size());
    EXPECT_EQ(many.batch.column(kClaimId).codes, one.batch.column(kClaimId).codes);
    EXPECT_EQ(many.batch.column(kDiagnosis).codes, one.batch.column(kDiagnosis).codes);
    EXPECT_EQ(many.batch.column(kLineNo).ints, one.batch.column(kLineNo).ints);
    EXPECT_EQ(many.errors, one.errors);
    EXPECT_EQ(many.input_lines, one.input_lines);
  }
  ExpectAccounted(one);
}

const char* kCsvHeader =
    "claim_id,insured_id,fund,provider_id,provider_sector,service_code,service_date,amount,age,diagnosis,referral\n";

TEST(CsvReaderTest, ReadsQuotedCellsEmbeddedNewlinesAndCrlf) {
  std::string data = std::string(kCsvHeader) +
                     "C1,I1,rural,P1,private,970000,2024-03-20,1000,,,\r\n"
                     "\"C,2\",I1,rural,P1,private,970000,2024-03-21,5,33,\"multi\nline \"\"x\"\"\",true\n";
  LoadedClaims c = MustRead(data, Skip(), true);
  ASSERT_EQ(c.batch.size(), 2u) << (c.errors.empty() ? "" : c.errors[0].message);
  EXPECT_FALSE(c.batch.IsValid(kAge, 0));
  EXPECT_FALSE(c.batch.Bool(kReferral, 0));
  EXPECT_EQ(c.batch.String(kClaimId, 1), "C,2");
  EXPECT_EQ(c.batch.String(kDiagnosis, 1), "multi\nline \"x\"");
  EXPECT_TRUE(c.batch.Bool(kReferral, 1));
  EXPECT_EQ(c.input_lines[1], 3);
}

TEST(CsvReaderTest, BadRowsNameLineAndField) {
  std::string data = std::string(kCsvHeader) +
                     "C1,I1,rural,P1,private,970000,2024-02-30,1000,,,\n"   // line 2: date
                     "C2,I1,rural,P1,private,970000,2024-03-20,-3,,,\n"     // line 3: amount
                     "C3,I1,rural,P1,private,970000,2024-03-20,10,x,,\n"    // line 4: age
                     "C4,I1,rural,P1,private,970000,2024-03-20,10\n"         // line 5: cells
                     "C5,,rural,P1,private,970000,2024-03-20,10,,,\n"       // line 6: missing
                     "C6,I1,rural,P1,private,970000,2024-03-20,10,,,maybe\n" // line 7: bool
                     "C7,I1,rural,P1,private,970000,2024-03-20,10,,\"open\n"; // line 8: unterminated
  LoadedClaims c = MustRead(data, Skip(), true);
  ASSERT_EQ(c.errors.size(), 7u);
  const std::vector<std::pair<int64_t, std::string>> want = {
      {2, "service_date"}, {3, "amount"}, {4, "age"}, {5, ""}, {6, "insured_id"}, {7, "referral"}, {8, ""}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(c.errors[i].line, want[i].first) << c.errors[i].message;
    EXPECT_EQ(c.errors[i].field, want[i].second) << c.errors[i].message;
  }
  EXPECT_EQ(c.batch.size(), 0u);
  ExpectAccounted(c);
}

TEST(CsvReaderTest, MissingRequiredColumnFailsTheFile) {
  Result<LoadedClaims> r = ReadCsv("claim_id,insured_id\nC1,I1\n", Schema::Standard(), Skip());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing required column 'fund'"), std::string::npos);
}

// Found by fuzz_csv: a header row that is not valid CSV refuses the whole
// file in both error modes, naming the header.
TEST(CsvReaderTest, UnterminatedQuoteInHeaderFailsTheFileInBothModes) {
  const std::string data = "claim_id,insured_id,\"fund\nC1,I1,f\n";
  for (const LoadOptions& o : {Skip(), LoadOptions{}}) {
    Result<LoadedClaims> r = ReadCsv(data, Schema::Standard(), o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "line 1: unterminated quoted cell in the header");
  }
}

TEST(CsvReaderTest, ResultIsIndependentOfThreadCount) {
  std::string data = kCsvHeader;
  for (int i = 0; i < 50000; ++i) {
    data += "C" + std::to_string(i % 5003) + ",I" + std::to_string(i % 101) +
            ",rural,P1,private,\"97,000\",2024-03-20," + std::to_string(i) + ",,\"d\n" + std::to_string(i % 5) +
            "\",\n";
  }
  LoadedClaims one = MustRead(data, Skip(1), true);
  ASSERT_EQ(one.batch.size(), 50000u);
  for (int t : {2, 8}) {
    LoadedClaims many = MustRead(data, Skip(t), true);
    ASSERT_EQ(many.batch.size(), one.batch.size());
    EXPECT_EQ(many.batch.column(kClaimId).codes, one.batch.column(kClaimId).codes);
    EXPECT_EQ(many.batch.column(kDiagnosis).codes, one.batch.column(kDiagnosis).codes);
    EXPECT_EQ(many.input_lines, one.input_lines);
  }
  EXPECT_EQ(one.input_lines.back(), 2 + 2 * 49999);
}

// RFC 4180 record splitting, written out byte by byte as the reference for
// SplitCsvRecord (which reads records without quotes 64 bytes at a time).
struct RefRecord {
  std::vector<CsvCell> cells;
  size_t next = 0;
  int64_t newlines = 0;
  bool unterminated = false;
};
RefRecord ReferenceSplit(std::string_view d, size_t pos) {
  RefRecord r;
  const size_t end = d.size();
  while (true) {
    const size_t begin = pos;
    bool quoted = false;
    if (pos < end && d[pos] == '"') {
      quoted = true;
      ++pos;
      bool closed = false;
      while (pos < end) {
        if (d[pos] == '"') {
          if (pos + 1 < end && d[pos + 1] == '"') { pos += 2; continue; }
          ++pos;
          closed = true;
          break;
        }
        r.newlines += d[pos] == '\n';
        ++pos;
      }
      if (!closed) {
        r.unterminated = true;
        r.cells.push_back({begin, end, true});
        r.next = end;
        return r;
      }
    }
    while (pos < end && d[pos] != ',' && d[pos] != '\n') ++pos;
    size_t cell_end = pos;
    if (cell_end > begin && d[cell_end - 1] == '\r' && (pos == end || d[pos] == '\n')) --cell_end;
    r.cells.push_back({begin, cell_end, quoted});
    if (pos == end) { r.next = end; return r; }
    if (d[pos] == '\n') { ++r.newlines; r.next = pos + 1; return r; }
    ++pos;
  }
}

// Records of every length around the 64-byte blocks, with and without
// quotes (before and after the newline), CRLF, empty cells, no final
// newline: the same cells, end and newline count as the reference.
TEST(CsvTokenizerTest, SplitsRecordsLikeTheByteByByteReference) {
  std::mt19937_64 rng(64);
  const char alphabet[] = {'a', 'b', ',', ',', ',', '\r', '"', '\n', 'x', ' '};
  for (int i = 0; i < 20000; ++i) {
    std::string d;
    const size_t n = rng() % 300;
    const bool quotes = rng() % 3 == 0;
    for (size_t k = 0; k < n; ++k) {
      char c = alphabet[rng() % sizeof alphabet];
      if (c == '"' && !quotes) c = 'q';
      if (c == '\n' && rng() % 4 != 0) c = 'n';  // long records are common
      d += c;
    }
    std::vector<CsvCell> cells;
    int64_t newlines = 0;
    bool unterminated = false;
    for (size_t pos = 0; pos < d.size();) {
      const RefRecord want = ReferenceSplit(d, pos);
      const size_t next = SplitCsvRecord(d, pos, d.size(), &cells, &newlines, &unterminated);
      ASSERT_EQ(next, want.next) << "case " << i << " at " << pos;
      ASSERT_EQ(newlines, want.newlines) << "case " << i << " at " << pos;
      ASSERT_EQ(unterminated, want.unterminated) << "case " << i << " at " << pos;
      ASSERT_EQ(cells.size(), want.cells.size()) << "case " << i << " at " << pos;
      for (size_t k = 0; k < cells.size(); ++k) {
        ASSERT_EQ(cells[k].begin, want.cells[k].begin) << "case " << i << " cell " << k;
        ASSERT_EQ(cells[k].end, want.cells[k].end) << "case " << i << " cell " << k;
        ASSERT_EQ(cells[k].quoted, want.cells[k].quoted) << "case " << i << " cell " << k;
      }
      pos = next;
    }
  }
}

// Strings are interned in queued batches (ChunkBuilder): every kept row's
// strings decode to what the row held, through long runs of one value,
// absent cells, values repeated a row apart and bad rows refused in the
// middle of a batch; for 1 and 2 threads.
TEST(CsvReaderTest, EveryRowDecodesToItsOwnStringsThroughBatchedInterning) {
  std::mt19937_64 rng(11);
  struct Row { std::string claim, insured, diagnosis; bool bad; };
  std::vector<Row> rows;
  std::string data = kCsvHeader;
  std::string insured = "I0";
  for (int i = 0; i < 30000; ++i) {
    Row r;
    r.claim = "C" + std::to_string(i / (1 + static_cast<int>(rng() % 3)));  // repeats a row apart
    if (i % 1000 < 400) {
      // a long run of one insured (more than a batch holds)
    } else if (rng() % 3 == 0) {
      insured = "I" + std::to_string(rng() % (i % 2 ? 20 : 50000));
    }
    r.insured = insured;
    r.diagnosis = rng() % 4 == 0 ? "" : "D" + std::to_string(rng() % 7);
    r.bad = rng() % 37 == 0;
    rows.push_back(r);
    data += r.claim + "," + r.insured + ",rural,P1,private,970000," + (r.bad ? "2024-02-30" : "2024-03-20") + ",1,," +
            r.diagnosis + ",\n";
  }
  for (int threads : {1, 2}) {
    LoadOptions o = Skip(threads);
    o.min_chunk_bytes = 4096;
    LoadedClaims c = MustRead(data, o, true);
    ExpectAccounted(c);
    const ClaimBatch& b = c.batch;
    RowIndex k = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].bad) continue;
      ASSERT_LT(k, b.size());
      // Duplicate (claim_id, line_no) cannot occur: line_no defaults per claim.
      ASSERT_EQ(b.String(kClaimId, k), rows[i].claim) << "row " << i << ", " << threads << " threads";
      ASSERT_EQ(b.String(kInsuredId, k), rows[i].insured) << "row " << i;
      if (rows[i].diagnosis.empty()) {
        ASSERT_FALSE(b.IsValid(kDiagnosis, k)) << "row " << i;
      } else {
        ASSERT_EQ(b.String(kDiagnosis, k), rows[i].diagnosis) << "row " << i;
      }
      ++k;
    }
    EXPECT_EQ(k, b.size());
  }
}

// The same for nested NDJSON claims, where a bad item refuses its whole
// claim after the claim's earlier items were appended (and queued).
TEST(NdjsonReaderTest, EveryLineDecodesToItsOwnStringsWhenClaimsAreRefusedMidway) {
  std::mt19937_64 rng(12);
  struct Line { std::string claim, code, diagnosis; };
  std::vector<Line> kept;
  std::string data;
  for (int i = 0; i < 8000; ++i) {
    const std::string claim = "C" + std::to_string(i);
    const int items = 1 + static_cast<int>(rng() % 4);
    const int bad = rng() % 5 == 0 ? static_cast<int>(rng() % items) : -1;
    data += R"({"claim_id":")" + claim +
            R"(","insured_id":"I1","fund":"rural","provider_id":"P1","provider_sector":"private","service_date":"2024-03-20","lines":[)";
    std::vector<Line> lines;
    for (int k = 0; k < items; ++k) {
      const std::string code = "S" + std::to_string(rng() % (i % 2 ? 5 : 100000));
      const std::string diagnosis = rng() % 2 ? "" : "D" + std::to_string(rng() % 3);
      data += std::string(k ? "," : "") + R"({"service_code":")" + code + R"(","amount":)" + (k == bad ? "-1" : "5") +
              (diagnosis.empty() ? "" : R"(,"diagnosis":")" + diagnosis + "\"") + "}";
      lines.push_back({claim, code, diagnosis});
    }
    data += "]}\n";
    if (bad < 0) kept.insert(kept.end(), lines.begin(), lines.end());
  }
  for (int threads : {1, 2}) {
    LoadOptions o = Skip(threads);
    o.min_chunk_bytes = 4096;
    LoadedClaims c = MustRead(data, o);
    ExpectAccounted(c);
    ASSERT_EQ(c.batch.size(), kept.size());
    for (RowIndex r = 0; r < c.batch.size(); ++r) {
      ASSERT_EQ(c.batch.String(kClaimId, r), kept[r].claim) << "line " << r << ", " << threads << " threads";
      ASSERT_EQ(c.batch.String(kServiceCode, r), kept[r].code) << "line " << r;
      if (kept[r].diagnosis.empty()) {
        ASSERT_FALSE(c.batch.IsValid(kDiagnosis, r)) << "line " << r;
      } else {
        ASSERT_EQ(c.batch.String(kDiagnosis, r), kept[r].diagnosis) << "line " << r;
      }
    }
  }
}

// Chunks that write their values in place: one that outgrows its rows
// moves to columns of its own, and the batch is the same as with chunks
// that never wrote in place (values, codes, dictionaries, gaps closed).
TEST(ChunkBuilderTest, InPlaceChunksAndOneThatOutgrowsItsRowsAssembleLikeCopiedOnes) {
  const Schema schema = Schema::Standard();
  const LoadOptions options = Skip(1);
  auto fill = [&](ChunkBuilder& b, int from, int count) {
    for (int i = from; i < from + count; ++i) {
      std::vector<RawValue> v(static_cast<size_t>(schema.size()));
      const std::string claim = "C" + std::to_string(i), code = "S" + std::to_string(i % 3);
      auto set = [&](int f, std::string_view s) { v[static_cast<size_t>(f)].state = RawValue::kValue; v[static_cast<size_t>(f)].s = s; };
      set(kClaimId, claim);
      set(kInsuredId, "I1");
      set(kFund, "rural");
      set(kProviderId, "P1");
      set(kProviderSector, "private");
      set(kServiceCode, code);
      v[kServiceDate].state = RawValue::kValue;
      v[kServiceDate].i = 19800 + i;
      v[kAmount].state = RawValue::kValue;
      v[kAmount].i = 1000 + i;
      b.BeginRecord(i - from + 1);
      LoadError err;
      ASSERT_TRUE(b.AppendLine(v.data(), &err)) << err.message;
      b.CommitRecord();
    }
    b.line_count = count;
  };
  // Copied: two chunks of their own.
  std::vector<ChunkBuilder> copied(2, ChunkBuilder(schema, options));
  fill(copied[0], 0, 5);
  fill(copied[1], 5, 3);
  Result<LoadedClaims> want = AssembleChunks(copied, schema, options);
  ASSERT_TRUE(want.ok());
  for (int outgrow : {0, 1}) {
    std::vector<Column> in_place(static_cast<size_t>(schema.size()));
    for (int f = 0; f < schema.size(); ++f) {
      Column& c = in_place[static_cast<size_t>(f)];
      c.type = schema.field(f).type;
      if (c.type == ValueType::kInt) c.ints.assign(20, -7);
      else if (c.type != ValueType::kBool) c.codes.assign(20, -7);
    }
    std::vector<ChunkBuilder> chunks(2, ChunkBuilder(schema, options));
    chunks[0].WriteInPlace(in_place, 0, outgrow ? 2 : 9);  // 5 lines: outgrows 2 rows
    chunks[1].WriteInPlace(in_place, outgrow ? 2 : 9, 11);
    fill(chunks[0], 0, 5);
    fill(chunks[1], 5, 3);
    EXPECT_EQ(chunks[0].in_place(), !outgrow);
    Result<LoadedClaims> got = AssembleChunks(chunks, schema, options, 0, &in_place);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(testing::DescribeLoadDifference(*want, *got), "") << "outgrow " << outgrow;
    ASSERT_EQ(got->batch.size(), 8u);
    for (RowIndex r = 0; r < 8; ++r) {
      EXPECT_EQ(got->batch.String(kClaimId, r), "C" + std::to_string(r));
      EXPECT_EQ(got->batch.Int(kAmount, r), 1000 + static_cast<int64_t>(r));
      EXPECT_EQ(got->batch.Date(kServiceDate, r), 19800 + static_cast<Days>(r));
    }
  }
}

// Dictionaries of over 65,536 strings are merged in parallel
// (StringDictionary::MergeInOrder): the codes are those of one chunk read
// from the top, for CSV (columns in place) and NDJSON (copied).
TEST(CsvReaderTest, LargeDictionariesGetFirstAppearanceCodesForAnyChunking) {
  std::mt19937_64 rng(5);
  std::string csv = kCsvHeader, ndjson;
  for (int i = 0; i < 150000; ++i) {
    const std::string claim = "C" + std::to_string(rng() % 120000), insured = "I" + std::to_string(rng() % 90000);
    csv += claim + "," + insured + ",rural,P1,private,970000,2024-03-20,1,,,\n";
    ndjson += Flat(claim, R"("insured_id":")" + insured + R"(","line_no":)" + std::to_string(i + 1)) + "\n";
  }
  for (bool is_csv : {true, false}) {
    const std::string& data = is_csv ? csv : ndjson;
    LoadOptions one = Skip(1);
    one.min_chunk_bytes = data.size() + 1;  // one chunk: no merge at all
    LoadedClaims serial = MustRead(data, one, is_csv);
    ASSERT_GT(serial.batch.column(kClaimId).dict.size(), 65536);
    for (int t : {2, 4}) {
      LoadOptions o = Skip(t);
      o.min_chunk_bytes = 4096;
      LoadedClaims split = MustRead(data, o, is_csv);
      EXPECT_EQ(testing::DescribeLoadDifference(serial, split), "") << (is_csv ? "csv" : "ndjson") << " " << t;
      EXPECT_EQ(split.batch.column(kClaimId).codes, serial.batch.column(kClaimId).codes);
      EXPECT_EQ(split.batch.column(kInsuredId).codes, serial.batch.column(kInsuredId).codes);
    }
  }
}

// Values longer than the string queue holds (1 MiB, allowed by a raised
// max_string_bytes) are interned at once, between queued short ones.
TEST(CsvReaderTest, LongStringsBetweenShortOnesDecodeToThemselves) {
  std::string data = kCsvHeader;
  std::vector<std::string> diagnosis;
  for (int i = 0; i < 40; ++i) {
    diagnosis.push_back(i % 7 == 3 ? std::string((size_t{3} << 19) + static_cast<size_t>(i), static_cast<char>('a' + i % 26))
                                   : "D" + std::to_string(i % 5));
    data += "C" + std::to_string(i) + ",I1,rural,P1,private,970000,2024-03-20,1,," + diagnosis.back() + ",\n";
  }
  LoadOptions o = Skip(1);
  o.max_string_bytes = size_t{4} << 20;
  o.max_record_bytes = size_t{8} << 20;
  LoadedClaims c = MustRead(data, o, true);
  ASSERT_EQ(c.batch.size(), 40u);
  for (RowIndex r = 0; r < 40; ++r) ASSERT_EQ(c.batch.String(kDiagnosis, r), diagnosis[r]) << "row " << r;
}

// Random CSV text with every tokenizer corner: quoted cells with embedded
// newlines and "" escapes, a '"' inside an unquoted cell (a literal), junk
// after a closing quote, blank lines, CRLF, a last row without a newline and
// an unterminated quote. Found by an adversarial run: chunk boundaries chosen
// by quote parity disagreed with the tokenizer and lost rows.
std::string RandomCsv(std::mt19937_64& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto cell = [&](std::string plain) -> std::string {
    switch (pick(10)) {
      case 0: return "\"" + plain + "\nx\"\"y\"";            // quoted, embedded newline, escape
      case 1: return plain + "\"q";                           // literal quote in an unquoted cell
      case 2: return "\"" + plain + "\"";                     // plain quoted
      case 3: return "\"a\nb\n\"\"\n" + plain + "\"";          // several newlines
      case 4: return pick(4) == 0 ? "\"x\"junk" : plain;     // junk after the closing quote
      case 5: return pick(3) == 0 ? "\"\"\"\"" : plain + "\"\"";
      default: return plain;
    }
  };
  std::string out = kCsvHeader;
  const int rows = 1 + pick(60);
  for (int r = 0; r < rows; ++r) {
    if (pick(12) == 0) { out += pick(2) ? "\n" : "\r\n"; continue; }
    const std::string id = std::to_string(r);
    out += cell("C" + id) + "," + cell("I" + std::to_string(r % 5)) + ",rural," + cell("P1") + ",private," +
           cell("970000") + "," + (pick(15) == 0 ? "2024-02-30" : "2024-03-2" + std::to_string(pick(10))) + "," +
           std::to_string(pick(1000)) + ",," + cell("D" + id) + ",";
    if (r + 1 == rows && pick(5) == 0) {
      out += pick(2) ? "\"open\nrow" : "";  // unterminated quote, or no final newline
      break;
    }
    out += pick(4) == 0 ? "\r\n" : "\n";
  }
  return out;
}

// Loading gives identical records, errors and lines for any thread count and
// any chunk size, on random CSV text.
TEST(CsvReaderTest, RandomCsvLoadsTheSameForAnyChunkingAndThreadCount) {
  std::mt19937_64 rng(20261201);
  const int cases = 3000;
  for (int i = 0; i < cases; ++i) {
    const std::string data = RandomCsv(rng);
    LoadedClaims serial = MustRead(data, Skip(1), true);
    ExpectAccounted(serial);
    for (int t : {2, 4, 7}) {
      LoadOptions o = Skip(t);
      o.min_chunk_bytes = 1 + rng() % 97;  // boundaries everywhere
      LoadedClaims split = MustRead(data, o, true);
      std::string diff = testing::DescribeLoadDifference(serial, split);
      ASSERT_EQ(diff, "") << "case " << i << ", " << t << " threads, chunk " << o.min_chunk_bytes << ":\n" << data;
    }
  }
}

// The adversarial instance: a '"' inside an unquoted cell, then quoted
// multi-line cells. Quote parity is off by one from there on.
TEST(CsvReaderTest, LiteralQuoteInUnquotedCellDoesNotShiftChunkBoundaries) {
  std::string data = kCsvHeader;
  data += "C0,I1,rural,P1,private,970000,2024-03-20,1,,5\" tall,\n";
  for (int i = 1; i < 2000; ++i)
    data += "C" + std::to_string(i) + ",I1,rural,P1,private,970000,2024-03-20,1,,\"a\nb\",\n";
  LoadedClaims serial = MustRead(data, Skip(1), true);
  EXPECT_TRUE(serial.errors.empty());
  EXPECT_EQ(serial.batch.size(), 2000u);
  LoadOptions o = Skip(2);
  o.min_chunk_bytes = 512;
  EXPECT_EQ(testing::DescribeLoadDifference(serial, MustRead(data, o, true)), "");
}

}  // namespace
}  // namespace sanad

namespace sanad {
namespace {

// AppendRows (core/claim_batch.h) copies rows with their strings re-interned
// in the destination: a few rows of a large dictionary (one claim out of a
// file) go row by row, many rows through a remap table; both give the same
// strings and nulls, and a string seen twice gets one code.
TEST(AppendRowsTest, FewRowsOfALargeDictionaryAndManyRowsCopyTheSameStrings) {
  std::string data;
  for (int i = 0; i < 400; ++i)
    data += R"({"claim_id":"C)" + std::to_string(i) + R"(","insured_id":"I)" + std::to_string(i % 50) +
            R"(","fund":"f","provider_id":"P","provider_sector":"s","service_code":"S","service_date":"2024-01-02","seq":1,"amount":)" +
            std::to_string(i) + (i % 7 ? R"(,"diagnosis":"D)" + std::to_string(i % 3) + "\"" : "") + "}\n";
  Result<LoadedClaims> r = ReadNdjson(data, Schema::Standard(), LoadOptions{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  const ClaimBatch& src = r->batch;
  for (auto [from, to] : {std::pair<RowIndex, RowIndex>{100, 103}, {0, 400}}) {
    ClaimBatch dst(Schema::Standard());
    AppendRows(src, from, to, dst);
    AppendRows(src, from, to, dst);  // twice: the second copy reuses the codes
    ASSERT_EQ(dst.size(), 2 * (to - from));
    for (RowIndex k = 0; k < dst.size(); ++k) {
      const RowIndex row = from + k % (to - from);
      for (int f : {kClaimId, kInsuredId, kDiagnosis}) {
        ASSERT_EQ(dst.column(f).IsValid(k), src.column(f).IsValid(row)) << "field " << f << " row " << row;
        if (src.column(f).IsValid(row)) {
          EXPECT_EQ(dst.String(f, k), src.String(f, row)) << "field " << f << " row " << row;
        }
      }
      EXPECT_EQ(dst.column(kInsuredId).codes[k], dst.column(kInsuredId).codes[k % (to - from)]);
      EXPECT_EQ(dst.column(kAmount).ints[k], src.column(kAmount).ints[row]);
    }
  }
}

}  // namespace
}  // namespace sanad
