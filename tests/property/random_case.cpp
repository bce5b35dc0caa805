#include "tests/property/random_case.h"

#include <cstdio>

namespace sanad::testing {
namespace {

const std::vector<std::string> kCodes = {"970000", "970005", "901905", "981000", "300100", "300105", "X1", "X2"};
const std::vector<std::string> kFunds = {"rural", "iranian", "civil_servants", "other"};

class Gen {
 public:
  Gen(uint64_t seed, const RandomCaseOptions& o) : rng_(seed), o_(o) {}

  RandomCase Run() {
    RandomCase c;
    jalali_ = Chance(0.5);
    std::string& r = c.rules;
    r += "ruleset \"random\"\n";
    if (jalali_ || Chance(0.5)) r += jalali_ ? "calendar jalali\n" : "calendar gregorian\n";
    r += "field tag : string\nfield score : int\nfield flag : bool\nfield admit : date\n";
    r += "set codes_a = { " + Quoted(Pick(kCodes)) + ", " + Quoted(Pick(kCodes)) + ", \"970000\" }\n";
    r += "set funds = { \"rural\", \"iranian\" }\n";
    r += "set ages = { 10, 20, 30, 40, 50 }\n";
    r += "set ext_codes = external\n";
    r += "table tariff : string -> int = { \"970000\": 200000, \"970005\": 250000, \"901905\": 50000, \"981000\": 3000000, \"X1\": 1 }\n";
    r += "table fund_cap : string -> int = { \"rural\": 1, \"iranian\": 2, \"civil_servants\": 3 }\n";
    r += "table code_group : string -> string = { \"970000\": \"visit\", \"970005\": \"visit\", \"901905\": \"inj\" }\n";
    r += "table ext_tariff : string -> int = external\n";
    r += "pairs pp = { (\"300100\", \"300105\"), (\"970000\", \"901905\"), (\"X1\", \"X1\") }\n";
    r += "pairs ext_pairs = external\n";
    c.externals["ext_codes"] = {{Pick(kCodes)}, {Pick(kCodes)}};
    c.externals["ext_tariff"] = {{"970000", "150000"}, {"X2", "7"}, {"300100", "100000"}};
    c.externals["ext_pairs"] = {{Pick(kCodes), Pick(kCodes)}, {Pick(kCodes), Pick(kCodes)}, {"981000", "981000"}};
    // Dated reference data (LANGUAGE.md §2.1) over the claims' date range:
    // a few disjoint periods per key, adjacent or with gaps, some open-ended.
    around_jalali_ = Chance(0.5);
    r += "set enrolled dated = external\n";
    r += "table dtariff : string -> int dated = external\n";
    r += "table dfund : string -> string dated = external\n";
    r += "table dfundcap : string -> int dated = external\n";
    r += "table dage : int -> int dated = external\n";
    r += "pairs dpairs dated = external\n";
    for (const char* name : {"enrolled", "dtariff", "dfund", "dfundcap", "dage", "dpairs"}) c.externals[name] = {};  // may stay empty
    for (int k = 0; k < 4; ++k) AddDated(c.externals["enrolled"], {"I" + std::to_string(k)}, [] { return std::vector<std::string>{}; });
    for (const std::string& code : kCodes)
      if (Chance(0.7)) AddDated(c.externals["dtariff"], {code}, [&] { return std::vector<std::string>{std::to_string(Uniform(0, 6) * 50000)}; });
    for (int k = 0; k < 4; ++k)
      AddDated(c.externals["dfund"], {"I" + std::to_string(k)}, [&] { return std::vector<std::string>{Pick(kFunds)}; });
    for (const std::string& f : kFunds)
      if (Chance(0.7)) AddDated(c.externals["dfundcap"], {f}, [&] { return std::vector<std::string>{std::to_string(Uniform(0, 3))}; });
    for (int age = 0; age <= 60; age += 10)
      if (Chance(0.5)) AddDated(c.externals["dage"], {std::to_string(age)}, [&] { return std::vector<std::string>{std::to_string(Uniform(0, 2))}; });
    for (int k = 0; k < 6; ++k) {
      const std::string a = Pick(kCodes), b = Pick(kCodes);
      bool taken = false;
      for (const auto& row : c.externals["dpairs"]) taken |= row[0] == a && row[1] == b;
      if (taken) continue;  // one key's periods come from one AddDated call, so they never overlap
      AddDated(c.externals["dpairs"], {a, b}, [] { return std::vector<std::string>{}; }, /*bypass=*/true);
    }
    const int rules = 1 + Uniform(0, o_.max_rules - 1);
    for (int i = 0; i < rules; ++i) r += Rule(i);
    // Settlement (SETTLEMENT.md): none in a third of the cases, else 1-3 payers.
    const int payers = Chance(0.33) ? 0 : Uniform(1, 3);
    for (int i = 0; i < payers; ++i) r += Payer(i);
    c.claims_ndjson = Claims();
    return c;
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[static_cast<size_t>(Uniform(0, static_cast<int>(v.size()) - 1))]; }
  static std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

  std::string Date() {
    static const std::vector<std::string> kDates = {"2024-12-31", "2025-01-01", "2025-03-20", "2025-03-21", "2025-02-15"};
    return Pick(kDates);
  }

  static std::string DateText(int d) {
    int z = d + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = static_cast<unsigned>(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = static_cast<int>(yoe) + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned dd = doy - (153 * mp + 2) / 5 + 1, mm = mp < 10 ? mp + 3 : mp - 9;
    char date[48];  // room for any int, so the compiler sees no truncation
    std::snprintf(date, sizeof date, "%04d-%02u-%02u", y + (mm <= 2), mm, dd);
    return date;
  }

  // Rows for one key: `key` cells, then value cells, valid_from, valid_to
  // (empty: open-ended) and, for pairs, a bypass cell (0, 1 or empty).
  template <typename Values>
  void AddDated(std::vector<std::vector<std::string>>& rows, const std::vector<std::string>& key, Values values,
                bool bypass = false) {
    const int base_day = around_jalali_ ? 20168 : 20089;  // the claims' dates are base_day +- 45
    int day = base_day + Uniform(-60, 20);
    const int periods = Uniform(1, 3);
    for (int p = 0; p < periods; ++p) {
      const int len = Uniform(0, 40);
      std::vector<std::string> row = key;
      for (const std::string& v : values()) row.push_back(v);
      row.push_back(DateText(day));
      const bool open = p + 1 == periods && Chance(0.4);
      row.push_back(open ? "" : DateText(day + len));
      if (bypass) {
        const int b = Uniform(0, 2);
        if (b < 2 || Chance(0.5)) row.push_back(b == 2 ? "" : std::to_string(b));
      }
      rows.push_back(row);
      day += len + 1 + (Chance(0.5) ? 0 : Uniform(1, 10));  // adjacent, or a gap
    }
  }

  std::string Keys() {
    static const std::vector<std::string> kKeys = {"insured_id", "provider_id", "service_code", "fund", "claim_id", "tag",
                                                   "age", "service_date", "flag"};
    std::string k = Pick(kKeys);
    if (Chance(0.35)) {
      std::string k2 = Pick(kKeys);
      if (k2 != k) k += ", " + k2;
    }
    return k;
  }

  std::string IntExpr(int depth) {
    int choice = Uniform(0, depth > 0 ? 11 : 5);
    switch (choice) {
      case 0: return Pick(std::vector<std::string>{"age", "quantity", "amount", "score", "line_no"});
      case 1: return std::to_string(Uniform(0, 5));
      case 2: return "tariff[service_code]";
      case 3: return "fund_cap[fund]";
      case 4:
        if (Chance(0.4)) return Pick(std::vector<std::string>{"dtariff[service_code]", "dage[age]", "dfundcap[dfund[insured_id]]",
                                                               "dfundcap[fund]"});
        return Chance(0.5) ? "ext_tariff[service_code]" : std::to_string(Uniform(-3, 400000));
      case 5: return Chance(0.2) ? "9223372036854775807" : std::to_string(Uniform(0, 3));
      case 6: return "(" + IntExpr(depth - 1) + " + " + IntExpr(depth - 1) + ")";
      case 7: return "(" + IntExpr(depth - 1) + " - " + IntExpr(depth - 1) + ")";
      case 8: return "(" + IntExpr(depth - 1) + " * " + IntExpr(depth - 1) + ")";
      case 9: return "(" + IntExpr(depth - 1) + (Chance(0.5) ? " / " : " % ") + IntExpr(depth - 1) + ")";
      case 10: return Pick(std::vector<std::string>{"year(service_date)", "month(service_date)", "days_between(admit, service_date)",
                                                    "month(admit)"});
      default: return "-" + IntExpr(depth - 1);
    }
  }

  std::string BoolExpr(int depth) {
    int choice = Uniform(0, depth > 0 ? 13 : 9);
    static const std::vector<std::string> kCmp = {"==", "!=", "<", "<=", ">", ">="};
    switch (choice) {
      case 0: return IntExpr(std::max(0, depth - 1)) + " " + Pick(kCmp) + " " + IntExpr(std::max(0, depth - 1));
      case 1: return "service_code " + Pick(std::vector<std::string>{"==", "!="}) + " " + Quoted(Pick(kCodes));
      case 2: return "service_code" + std::string(Chance(0.3) ? " not" : "") + " in " +
                     Pick(std::vector<std::string>{"codes_a", "ext_codes", "{ \"X1\", \"981000\" }"});
      case 3: return "fund" + std::string(Chance(0.3) ? " not in " : " in ") + "funds";
      case 4: return Pick(std::vector<std::string>{"age", "score", "tag", "flag", "admit", "provider_specialty",
                                                   "tariff[service_code]", "code_group[service_code]"}) +
                     (Chance(0.5) ? " is null" : " is not null");
      case 5: return Pick(std::vector<std::string>{"referral", "flag", "not referral", "not flag"});
      case 6: return "starts_with(service_code, " + Quoted(Pick(std::vector<std::string>{"9", "97", "X", ""})) + ")";
      case 7: return "service_date " + Pick(kCmp) + " " + Date();
      case 8:
        if (Chance(0.5))
          return Pick(std::vector<std::string>{"insured_id in enrolled", "not (insured_id in enrolled)", "insured_id not in enrolled",
                                               "dfund[insured_id] == fund", "dfund[insured_id] in funds", "dtariff[service_code] is null",
                                               "dtariff[service_code] > 100000 and service_code in codes_a"});
        return "age in ages";
      case 9: return "code_group[service_code] " + Pick(std::vector<std::string>{"==", "!=", "<"}) + " " +
                     Quoted(Pick(std::vector<std::string>{"visit", "inj"}));
      case 10: return "(" + BoolExpr(depth - 1) + " and " + BoolExpr(depth - 1) + ")";
      case 11: return "(" + BoolExpr(depth - 1) + " or " + BoolExpr(depth - 1) + ")";
      case 12: return "not (" + BoolExpr(depth - 1) + ")";
      default: return "tag " + Pick(kCmp) + " " + Quoted(Pick(std::vector<std::string>{"a", "b", ""}));
    }
  }

  std::string Rule(int i) {
    std::string r = "\nrule r" + std::to_string(i);
    if (Chance(0.3)) r += " \"title " + std::to_string(i) + "\"";
    // Reason codes, some shared by two rules (no random draw: the cases stay as they were).
    if (i % 3 == 1) r += " code \"K-" + std::to_string(i % 2) + "\"";
    if (Chance(0.7)) r += " stage " + std::to_string(Uniform(1, 3));
    r += "\n";
    if (Chance(0.7)) r += "  when " + BoolExpr(Uniform(0, o_.max_depth)) + "\n";
    int check = Uniform(0, 5);
    const bool limit = check == 1 || check == 2;
    switch (check) {
      case 0: break;
      case 1:
      case 2: {
        r += "  limit " + std::string(check == 1 ? "count" : Pick(std::vector<std::string>{"sum(amount)", "sum(quantity)", "sum(score)"})) +
             " per " + Keys();
        int period = Uniform(0, 4);
        if (period == 1) r += " per day";
        if (period == 2) r += " per month";
        if (period == 3) r += " per year";
        if (period == 4) r += " per rolling " + std::to_string(Uniform(1, 40)) + " days";
        std::string cap = Chance(0.6) ? std::to_string(Uniform(0, 4) * (check == 2 ? 150000 : 1)) : IntExpr(1);
        r += " <= " + cap + "\n";
        break;
      }
      case 3: r += "  repeat per " + Keys() + " within " + std::to_string(Uniform(1, 40)) + " days\n"; break;
      case 4:
        r += "  conflict with " + BoolExpr(Uniform(0, 2)) + " per " + Keys() +
             (Chance(0.5) ? " same day\n" : " within " + std::to_string(Uniform(1, 30)) + " days\n");
        break;
      default:
      {
        const int which = Uniform(0, 3);
        r += "  conflict pairs " + std::string(which == 0 ? "pp" : which == 1 ? "ext_pairs" : "dpairs") + " per " + Keys() +
             (Chance(0.5) ? " same day" : " within " + std::to_string(Uniform(1, 30)) + " days");
        if (which >= 2 && Chance(0.7)) r += " unless " + BoolExpr(Uniform(0, 1));
        r += "\n";
      }
    }
    r += Chance(0.65) ? "  reject" : "  warn";
    int deduct = Uniform(0, limit ? 4 : 3);
    if (deduct == 1) r += " deduct " + std::to_string(Uniform(0, 150)) + (Chance(0.3) ? "." + std::to_string(Uniform(0, 99)) : "") + "%";
    if (deduct == 2) r += " deduct " + IntExpr(2);
    if (deduct == 4) r += " deduct excess";
    return r + "\n";
  }

  // A random payer: every clause form, with constants near the claims'
  // amounts (so deductibles, bands and ceilings are reached) and
  // expressions that may be null or negative.
  std::string Payer(int i) {
    std::string r = "\npayer pay" + std::to_string(i);
    if (Chance(0.3)) r += " \"payer " + std::to_string(i) + "\"";
    r += "\n";
    if (Chance(0.4)) r += "  when " + BoolExpr(Uniform(0, 2)) + "\n";
    if (i > 0 && Chance(0.6)) r += "  on remaining\n";
    else if (Chance(0.1)) r += "  on payable\n";
    // Payers in a row with the same keys (or none) share one settlement
    // pass: half the time a payer takes the previous one's keys.
    const bool per = i > 0 && Chance(0.5) ? !last_payer_keys_.empty() : Chance(0.75);
    if (per) {
      if (i == 0 || last_payer_keys_.empty() || Chance(0.5)) last_payer_keys_ = Keys();
      r += "  per " + last_payer_keys_;
      const int period = Uniform(0, 3);
      if (period == 1) r += " per day";
      if (period == 2) r += " per month";
      if (period == 3) r += " per year";
      r += "\n";
    }
    if (!per) last_payer_keys_.clear();
    auto amount = [&](int scale) {
      if (Chance(0.25)) return IntExpr(1);
      return std::to_string(Uniform(-1, 8) * scale);
    };
    if (per && Chance(0.6)) r += "  deductible " + amount(100000) + "\n";
    const int cover = Uniform(0, per ? 2 : 1);
    auto pct = [&] { return std::to_string(Uniform(0, 100)) + (Chance(0.3) ? "." + std::to_string(Uniform(0, 99)) : "") + "%"; };
    auto capped = [&] { const std::string p = pct(); return p.rfind("100.", 0) == 0 ? std::string("100%") : p; };
    if (cover == 0) r += "  covers " + capped() + "\n";
    if (cover == 1) r += "  covers " + (Chance(0.5) ? IntExpr(1) : "fund_cap[fund] * " + std::to_string(Uniform(10, 60))) + " percent\n";
    if (cover == 2) {
      r += "  covers";
      const int bands = Uniform(2, 4);
      for (int b = 0; b + 1 < bands; ++b) r += (b ? ", " : " ") + capped() + " up to " + amount(250000);
      r += ", " + capped() + "\n";
    }
    if (Chance(0.4)) r += "  ceiling " + amount(200000) + "\n";
    if (Chance(0.3)) r += "  line ceiling " + amount(150000) + "\n";
    return r;
  }

  std::string Claims() {
    const int n = Uniform(1, o_.max_lines);
    const bool around_jalali = around_jalali_;
    std::string out;
    int claim = 0;
    int lines = 0;
    while (lines < n) {
      const int items = Chance(0.3) ? Uniform(1, 3) : 0;
      std::string base = "{\"claim_id\":\"C" + std::to_string(Chance(0.2) ? Uniform(0, claim) : claim) + "\"";
      ++claim;
      auto line_fields = [&](bool top) {
        std::string f;
        auto add = [&](const std::string& k, const std::string& v) { f += ",\"" + k + "\":" + v; };
        if (!top || Chance(0.5)) {
          // 2025-03-21 is the Jalali new year; 2025-01-01 the Gregorian one.
          const int base_day = around_jalali ? 20168 : 20089;  // days since 1970
          const int d = base_day + Uniform(-45, 45);
          add("service_date", "\"" + DateText(d) + "\"");
          if (Chance(0.6)) add("admit", "\"" + DateText(d - Uniform(-5, 60)) + "\"");
        }
        if (!top || Chance(0.5)) {
          add("service_code", Quoted(Pick(kCodes)));
          add("amount", Chance(0.05) ? "4000000000000000000" : std::to_string(Uniform(0, 10) * 50000 + Uniform(0, 3)));
          if (Chance(0.7)) add("quantity", std::to_string(Uniform(-1, 4)));
          if (Chance(0.3)) add("seq", std::to_string(Uniform(1, 25)));
          if (Chance(0.7)) add("score", std::to_string(Uniform(-2, 300000)));
          if (Chance(0.6)) add("flag", Chance(0.5) ? "true" : "false");
          if (Chance(0.6)) add("tag", Quoted(Pick(std::vector<std::string>{"a", "b", ""})));
        }
        if (!top && Chance(0.25)) add("patient_paid", std::to_string(Uniform(0, 400000)));  // a line's own, never a header's
        return f;
      };
      std::string common = ",\"insured_id\":\"I" + std::to_string(Uniform(0, 3)) + "\",\"fund\":" + Quoted(Pick(kFunds)) +
                           ",\"provider_id\":\"P" + std::to_string(Uniform(0, 2)) + "\",\"provider_sector\":" +
                           Quoted(Chance(0.5) ? "public" : "private");
      if (Chance(0.7)) common += ",\"age\":" + std::to_string(Uniform(0, 6) * 10);
      if (Chance(0.6)) common += ",\"provider_specialty\":" + Quoted(Chance(0.5) ? "GP" : "cardiology");
      if (Chance(0.5)) common += ",\"referral\":" + std::string(Chance(0.5) ? "true" : "false");
      if (items == 0) {
        out += base + common + line_fields(false) + "}\n";
        ++lines;
      } else {
        std::string rec = base + common;
        std::string top = line_fields(true);
        // Items must carry what the top level lacks.
        rec += top + ",\"lines\":[";
        for (int k = 0; k < items; ++k) {
          std::string item = line_fields(false);
          rec += (k ? ",{" : "{") + item.substr(1) + "}";
        }
        out += rec + "]}\n";
        lines += items;
      }
    }
    return out;
  }

  std::mt19937_64 rng_;
  RandomCaseOptions o_;
  std::string last_payer_keys_;  // the previous payer's `per` keys (empty: none)
  bool jalali_ = false;
  bool around_jalali_ = false;
};

}  // namespace

RandomCase MakeRandomCase(uint64_t seed, const RandomCaseOptions& options) { return Gen(seed, options).Run(); }

}  // namespace sanad::testing
