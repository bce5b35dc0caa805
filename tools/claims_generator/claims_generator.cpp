#include "tools/claims_generator/claims_generator.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <vector>

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "sanad/core/calendar.h"

namespace sanad {
namespace {

constexpr int64_t kBlockLines = 1 << 16;

struct Code {
  const char* code;
  int64_t tariff;
};
// Visits, injections, imaging, labs, hospital stays; drugs are generated.
const Code kGpVisits[] = {{"970000", 200000}, {"970005", 250000}};
const Code kSpecialistVisits[] = {{"970010", 400000}, {"970015", 450000}, {"970020", 380000}};
const Code kInjections[] = {{"901905", 50000}, {"901910", 60000}, {"901915", 70000}};
const Code kImaging[] = {{"981000", 3000000}, {"981005", 3500000}, {"981010", 4000000}, {"982000", 900000}};
const Code kLabs[] = {{"300100", 120000}, {"300105", 90000}, {"300110", 60000}, {"300115", 150000},
                      {"300120", 80000},  {"300125", 70000}, {"300130", 200000}};
const Code kHospital[] = {{"H10010", 60000000}, {"H10020", 120000000}, {"H10030", 250000000}};
constexpr int kDrugs = 3000;
constexpr int64_t kDrugTariffBase = 20000;

const char* kFunds[] = {"civil_servants", "iranian", "rural", "other"};
const char* kSpecialists[] = {"cardiology", "pediatrics", "dermatology", "neurology"};
// Provinces, for the month-end shape's `zone` column (Persian text).
const char* kZones[] = {"تهران", "اصفهان", "خراسان رضوی", "فارس", "خوزستان", "آذربایجان شرقی", "مازندران",
                        "کرمان", "سیستان و بلوچستان", "گیلان", "البرز", "کردستان"};
constexpr int kZoneCount = sizeof(kZones) / sizeof(kZones[0]);
constexpr Days kMaxLag = 40;  // month-end shape: a claim arrives up to 40 days after service

enum ProviderKind { kGp, kSpecialist, kImagingCenter, kLab, kPharmacy, kHospitalKind };

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::string DrugCode(int i) { return fmt::format("D{:05d}", i); }
int64_t DrugTariff(int i) { return kDrugTariffBase + (Mix(static_cast<uint64_t>(i)) % 40) * 5000; }

class BlockWriter {
 public:
  BlockWriter(const GeneratorOptions& o, int64_t block) : o_(o), rng_(Mix(o.seed * 1000003 + static_cast<uint64_t>(block))), block_(block) {
    insured_ = std::max<int64_t>(1000, o.lines / 12);
    providers_ = std::max<int64_t>(200, o.lines / (o.month_end ? 120 : 250));
  }

  // Appends whole claims until at least `lines` lines are written.
  void Write(int64_t lines, std::string& out) {
    int64_t written = 0;
    int64_t claim_no = 0;
    while (written < lines) written += Claim(claim_no++, block_ * kBlockLines + written, out);
  }

 private:
  double U() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  int64_t Below(int64_t n) { return static_cast<int64_t>(rng_() % static_cast<uint64_t>(n)); }
  // Skewed pick: 60% uniform, 40% log-uniform over ranks (a Zipf-like head).
  int64_t Skewed(int64_t n) {
    if (U() < 0.6) return Below(n);
    return std::min<int64_t>(n - 1, static_cast<int64_t>(std::exp(U() * std::log(static_cast<double>(n) + 1.0))) - 1);
  }

  ProviderKind KindOf(int64_t p) const {
    if (p < 8) return kGp;  // the busiest providers are GP practices, so daily caps bite
    const uint64_t h = Mix(static_cast<uint64_t>(p) * 31 + 7) % 100;
    if (h < 36) return kGp;
    if (h < 56) return kSpecialist;
    if (h < 63) return kImagingCenter;
    if (h < 78) return kLab;
    if (h < 97) return kPharmacy;
    return kHospitalKind;
  }

  // One synthetic claim (110 lines, a tool's): the insured, provider and
  // date drawn, then its lines' codes, amounts and the NDJSON or CSV text,
  // in the order the generator's documented distribution is described.
  // `line_index` (the claim's first line in the whole file) sets the
  // month-end shape's arrival day.
  int Claim(int64_t claim_no, int64_t line_index, std::string& out) {
    const int64_t insured = Skewed(insured_);
    const uint64_t ih = Mix(static_cast<uint64_t>(insured));
    // One claim in a hundred goes to the busiest GP practice (a city clinic),
    // so the example's daily cap of 40 visits bites on about 0.5-2% of lines.
    const int64_t provider = U() < 0.01 ? 0 : Skewed(providers_);
    const uint64_t ph = Mix(static_cast<uint64_t>(provider) + 99);
    const ProviderKind kind = KindOf(provider);
    const char* fund = kFunds[(ih % 10) < 4 ? 0 : (ih % 10) < 7 ? 1 : (ih % 10) < 9 ? 2 : 3];
    const char* sector = (ph % 100) < 60 ? "public" : (ph % 100) < 95 ? "private" : "charity";
    const int age = static_cast<int>((ih >> 8) % 90);
    const char* sex = ((ih >> 20) & 1) ? "F" : "M";
    // Dates 2024-03-01 .. 2025-05-31: across 2025-01-01 and Farvardin 1, 1404 (2025-03-21).
    static const Days kStart = DaysFromCivil(2024, 3, 1);
    static const Days kEnd = DaysFromCivil(2025, 5, 31);
    Days day;
    if (o_.month_end) {  // arrival days rise through the file; service = arrival - lag
      const Days arrival_span = kEnd - kStart - kMaxLag + 1;
      const Days arrival = kStart + kMaxLag +
                           static_cast<Days>(std::min<int64_t>(arrival_span - 1, line_index * arrival_span / std::max<int64_t>(1, o_.lines)));
      const Days lag = U() < 0.5 ? static_cast<Days>(Below(4)) : static_cast<Days>(Below(kMaxLag + 1));
      day = arrival - lag;
    } else {
      day = kStart + static_cast<Days>(Below(kEnd - kStart + 1));
    }
    char date[10];
    FormatIsoDate(day, date);
    const bool referral = U() < 0.7;

    struct Item { std::string code; int64_t amount; int quantity; bool has_quantity; };
    std::vector<Item> items;
    auto add = [&](const std::string& code, int64_t tariff, int quantity, bool has_q) {
      int64_t amount = tariff * quantity;
      const double r = U();
      if (r < 0.06) amount = amount * (105 + Below(30)) / 100;  // above tariff
      items.push_back({code, amount, quantity, has_q});
    };
    switch (kind) {
      case kGp: {
        const Code& v = kGpVisits[Below(2)];
        add(v.code, v.tariff, 1, false);
        if (U() < (o_.month_end ? 0.45 : 0.12)) { const Code& c = kInjections[Below(3)]; add(c.code, c.tariff, 1, false); }
        break;
      }
      case kSpecialist: {
        const Code& v = kSpecialistVisits[Below(3)];
        add(v.code, v.tariff, 1, false);
        if (U() < 0.05) { const Code& c = kInjections[Below(3)]; add(c.code, c.tariff, 1, false); }
        break;
      }
      case kImagingCenter: { const Code& c = kImaging[Below(4)]; add(c.code, c.tariff, 1, false); break; }
      case kLab: {
        const int n = 1 + static_cast<int>(Below(o_.month_end ? 5 : 4));
        for (int i = 0; i < n; ++i) { const Code& c = kLabs[Below(7)]; add(c.code, c.tariff, 1, false); }
        break;
      }
      case kPharmacy: {
        const int n = 1 + static_cast<int>(Below(o_.month_end ? 7 : 5));
        for (int i = 0; i < n; ++i) {
          const int d = static_cast<int>(Skewed(kDrugs));
          const int q = U() < 0.9 ? 1 + static_cast<int>(Below(3)) : 3 + static_cast<int>(Below(4));
          add(DrugCode(d), DrugTariff(d), q, true);
        }
        break;
      }
      case kHospitalKind: { const Code& c = kHospital[Below(3)]; add(c.code, c.tariff, 1, false); break; }
    }
    // Month-end shape: the rural fund's paper-booklet claims and charity
    // providers carry Persian prefixes.
    const bool booklet = o_.month_end && fund == kFunds[2] && U() < 0.5;
    const bool charity = o_.month_end && sector[0] == 'c';
    const std::string claim_id = fmt::format("{}C{:03d}{:07d}", booklet ? "دفترچه-" : "", block_, claim_no);
    const std::string insured_id = fmt::format("I{:08d}", insured);
    const std::string provider_id = fmt::format("{}P{:06d}", charity ? "خیریه-" : "", provider);
    const char* zone = kZones[(ph >> 24) % kZoneCount];
    const char* specialty = kind == kGp ? "GP" : kind == kSpecialist ? kSpecialists[ph % 4] : nullptr;
    const bool has_age = U() < 0.97;
    const bool has_diag = U() < 0.6;
    const std::string diag = fmt::format("{}{:02d}.{}", static_cast<char>('A' + ih % 20), (ih >> 12) % 99, (ih >> 16) % 9);
    if (o_.csv) {
      for (const Item& it : items) {
        fmt::format_to(std::back_inserter(out), "{},{},{},", claim_id, insured_id, fund);
        if (has_age) fmt::format_to(std::back_inserter(out), "{}", age);
        fmt::format_to(std::back_inserter(out), ",{},{},{},{},{},{},", sex, provider_id, sector, specialty ? specialty : "",
                       it.code, std::string_view(date, 10));
        if (it.has_quantity) fmt::format_to(std::back_inserter(out), "{}", it.quantity);
        fmt::format_to(std::back_inserter(out), ",{},{},{}", it.amount, has_diag ? diag : "", referral ? "true" : "false");
        if (o_.month_end) fmt::format_to(std::back_inserter(out), ",{}", zone);
        out += '\n';
      }
      return static_cast<int>(items.size());
    }
    auto common = [&](std::string& o) {
      fmt::format_to(std::back_inserter(o), R"("claim_id":"{}","insured_id":"{}","fund":"{}",)", claim_id, insured_id, fund);
      if (has_age) fmt::format_to(std::back_inserter(o), R"("age":{},)", age);
      fmt::format_to(std::back_inserter(o), R"("sex":"{}","provider_id":"{}","provider_sector":"{}",)", sex, provider_id, sector);
      if (specialty) fmt::format_to(std::back_inserter(o), R"("provider_specialty":"{}",)", specialty);
      fmt::format_to(std::back_inserter(o), R"("service_date":"{}","referral":{})", std::string_view(date, 10),
                     referral ? "true" : "false");
      if (has_diag) fmt::format_to(std::back_inserter(o), R"(,"diagnosis":"{}")", diag);
      if (o_.month_end) fmt::format_to(std::back_inserter(o), R"(,"zone":"{}")", zone);
    };
    auto item_fields = [&](std::string& o, const Item& it) {
      fmt::format_to(std::back_inserter(o), R"("service_code":"{}","amount":{})", it.code, it.amount);
      if (it.has_quantity) fmt::format_to(std::back_inserter(o), R"(,"quantity":{})", it.quantity);
    };
    if (items.size() == 1 || U() < 0.3) {  // flat lines
      for (const Item& it : items) {
        out += '{';
        common(out);
        out += ',';
        item_fields(out, it);
        out += "}\n";
      }
    } else {  // one nested claim
      out += '{';
      common(out);
      out += ",\"lines\":[";
      for (size_t i = 0; i < items.size(); ++i) {
        out += i ? ",{" : "{";
        item_fields(out, items[i]);
        out += '}';
      }
      out += "]}\n";
    }
    return static_cast<int>(items.size());
  }

  const GeneratorOptions& o_;
  std::mt19937_64 rng_;
  int64_t block_;
  int64_t insured_, providers_;
};

}  // namespace

std::string GenerateClaimsText(const GeneratorOptions& o) {
  const int64_t blocks = std::max<int64_t>(1, (o.lines + kBlockLines - 1) / kBlockLines);
  std::vector<std::string> parts(static_cast<size_t>(blocks));
  tbb::task_arena arena(o.threads > 0 ? o.threads : tbb::task_arena::automatic);
  arena.execute([&] {
    tbb::parallel_for(int64_t{0}, blocks, [&](int64_t b) {
      const int64_t lines = std::min(kBlockLines, o.lines - b * kBlockLines);
      std::string& s = parts[static_cast<size_t>(b)];
      s.reserve(static_cast<size_t>(lines) * (o.csv ? 120 : 260));
      BlockWriter(o, b).Write(std::max<int64_t>(lines, 1), s);
    });
  });
  std::string out = o.csv ? "claim_id,insured_id,fund,age,sex,provider_id,provider_sector,provider_specialty,service_code,"
                            "service_date,quantity,amount,diagnosis,referral"
                          : "";
  if (o.csv) out += o.month_end ? ",zone\n" : "\n";
  size_t total = out.size();
  for (const auto& p : parts) total += p.size();
  out.reserve(total);
  for (auto& p : parts) {
    out += p;
    std::string().swap(p);
  }
  return out;
}

Status GenerateClaimsFiles(const GeneratorOptions& o, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Io(dir + ": " + ec.message());
  auto write = [&](const std::string& name, const std::string& text) -> Status {
    const std::string path = dir + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return Status::Io(path + ": cannot open for writing");
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok) return Status::Io(path + ": write error");
    return Status::Ok();
  };
  SANAD_RETURN_IF_ERROR(write(o.csv ? "claims.csv" : "claims.ndjson", GenerateClaimsText(o)));
  std::string mri;
  for (const Code& c : kImaging)
    if (std::string_view(c.code).substr(0, 3) == "981") mri += std::string(c.code) + "\n";
  SANAD_RETURN_IF_ERROR(write("mri.csv", mri));
  std::string tariff;
  for (const Code& c : kGpVisits) tariff += fmt::format("{},{}\n", c.code, c.tariff);
  for (const Code& c : kSpecialistVisits) tariff += fmt::format("{},{}\n", c.code, c.tariff);
  for (const Code& c : kInjections) tariff += fmt::format("{},{}\n", c.code, c.tariff);
  for (const Code& c : kImaging) tariff += fmt::format("{},{}\n", c.code, c.tariff);
  for (const Code& c : kLabs) tariff += fmt::format("{},{}\n", c.code, c.tariff);
  for (const Code& c : kHospital) tariff += fmt::format("{},{}\n", c.code, c.tariff);
  for (int d = 0; d < kDrugs; ++d) tariff += fmt::format("{},{}\n", DrugCode(d), DrugTariff(d));
  SANAD_RETURN_IF_ERROR(write("tariff.csv", tariff));
  // National-edit-like pairs: lab unbundling and visit+injection pairs, then
  // generated pairs over a large code space (most codes never billed here).
  std::string ptp;
  ptp.reserve(static_cast<size_t>(o.ptp_pairs) * 16);
  int64_t n = 0;
  auto pair = [&](std::string_view a, std::string_view b) {
    if (n >= o.ptp_pairs) return;
    fmt::format_to(std::back_inserter(ptp), "{},{}\n", a, b);
    ++n;
  };
  pair("300100", "300105");
  pair("300105", "300100");
  pair("300110", "300115");
  pair("300130", "300120");
  pair("970000", "901905");
  pair("970005", "901910");
  for (int d = 0; d + 1 < kDrugs && n < o.ptp_pairs; d += 97) pair(DrugCode(d), DrugCode(d + 1));
  std::mt19937_64 rng(o.seed ^ 0x5eed);
  while (n < o.ptp_pairs) {
    const uint64_t a = rng() % 200000, b = rng() % 200000;
    fmt::format_to(std::back_inserter(ptp), "N{:06d},N{:06d}\n", a, b);
    ++n;
  }
  return write("ptp.csv", ptp);
}

}  // namespace sanad
