// Snapshots of the online engine: a versioned, checksummed file of the
// history and per-line records, carrying the plan fingerprint; logs are
// rebuilt on restore. Written whole or not at all (core/output_file.h).
#include "sanad/core/read_file.h"
#include "sanad/online/engine_state.h"

namespace sanad {
namespace {

// ---- snapshot encoding -------------------------------------------------

constexpr char kMagic[8] = {'S', 'A', 'N', 'A', 'D', 'S', 'N', 'P'};
constexpr uint32_t kSnapshotVersion = 3;  // 2: 128-bit plan fingerprint with reference data; 3: patient_paid, settlement

class Writer {
 public:
  template <typename T>
  void Pod(const T& v) { Bytes(&v, sizeof v); }
  template <typename T, typename A>
  void Vec(const std::vector<T, A>& v) {
    Pod<uint64_t>(v.size());
    Bytes(v.data(), v.size() * sizeof(T));
  }
  void Str(std::string_view s) {
    Pod<uint64_t>(s.size());
    Bytes(s.data(), s.size());
  }
  void Bits(const Bitmap& b) {
    Pod<uint64_t>(b.size());
    Bytes(b.words(), b.word_count() * 8);
  }
  void Bytes(const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
  std::string out;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  bool Pod(T* v) { return Bytes(v, sizeof *v); }
  template <typename T, typename A>
  bool Vec(std::vector<T, A>* v) {
    uint64_t n;
    if (!Pod(&n) || n > (in_.size() - pos_) / sizeof(T)) return false;
    v->resize(n);
    return Bytes(v->data(), n * sizeof(T));
  }
  bool Str(std::string* s) {
    uint64_t n;
    if (!Pod(&n) || n > in_.size() - pos_) return false;
    s->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool Bits(Bitmap* b) {
    uint64_t n;
    if (!Pod(&n) || (n + 63) / 64 > (in_.size() - pos_) / 8) return false;
    b->Resize(n);
    return Bytes(b->words(), b->word_count() * 8);
  }
  bool Bytes(void* p, size_t n) {
    if (n > in_.size() - pos_) return false;
    if (n) std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

using namespace online_internal;  // EngineState and its records

Status OnlineEngine::Snapshot(const std::string& path) const {
  std::lock_guard<SpinMutex> lock(g_->mu);
  const EngineState& s = *g_->state;
  Writer w;
  const Fingerprint fp = PlanFingerprint(plan_);
  w.Pod(fp.high);
  w.Pod(fp.low);
  w.Pod<uint32_t>(s.store.size());
  w.Pod<int32_t>(s.store.schema().size());
  for (int f = 0; f < s.store.schema().size(); ++f) {
    const Column& c = s.store.column(f);
    w.Vec(c.codes);
    w.Vec(c.ints);
    w.Bits(c.bits);
    w.Bits(c.valid);
    w.Pod<int32_t>(c.dict.size());
    for (int32_t k = 0; k < c.dict.size(); ++k) w.Str(c.dict.View(k));
  }
  w.Vec(s.ord);
  w.Vec(s.retracted);
  w.Vec(s.rej_stage);
  w.Vec(s.status);
  w.Vec(s.deduction);
  w.Vec(s.primary);
  w.Vec(s.patient);
  for (const PayerState& ps : s.payers) {
    w.Vec(ps.pay);
    w.Vec(ps.deducted);
    w.Vec(ps.eligible);
    w.Vec(ps.in);
  }
  w.Pod(s.next_seq);
  w.Pod(s.next_ord);
  w.Pod<uint8_t>(s.has_horizon);
  w.Pod(s.horizon);
  std::string header(kMagic, sizeof kMagic);
  Writer h;
  h.Pod(kSnapshotVersion);
  h.Pod<uint64_t>(w.out.size());
  h.Pod<uint64_t>(XXH3_64bits(w.out.data(), w.out.size()));
  header += h.out;
  Result<std::unique_ptr<OutputFile>> out = OutputFile::Create(path);
  if (!out.ok()) return Status::Io("snapshot: " + out.status().message());
  if (Status st = (*out)->Write(header); !st.ok()) return Status::Io("snapshot: " + st.message());
  if (Status st = (*out)->Write(w.out); !st.ok()) return Status::Io("snapshot: " + st.message());
  if (Status st = (*out)->Commit(); !st.ok()) return Status::Io("snapshot: " + st.message());
  return Status::Ok();
}

Status OnlineEngine::Restore(const std::string& path) {
  SANAD_RETURN_IF_ERROR(ready_);
  Result<std::string> file = ReadFileToString(path);
  if (!file.ok()) return file.status();
  const std::string& data = file.value();
  const std::string bad = "restore: " + path + ": ";
  const size_t header = sizeof kMagic + 4 + 8 + 8;
  if (data.size() < header || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) return Status::Invalid(bad + "not a Sanad snapshot");
  Reader h(std::string_view(data).substr(sizeof kMagic, header - sizeof kMagic));
  uint32_t version;
  uint64_t length, checksum;
  (void)h.Pod(&version);
  (void)h.Pod(&length);
  (void)h.Pod(&checksum);
  if (version != kSnapshotVersion) return Status::Invalid(bad + "snapshot version " + std::to_string(version) + ", this build reads " + std::to_string(kSnapshotVersion));
  if (data.size() - header != length)
    return Status::Invalid(bad + "truncated or padded: " + std::to_string(data.size() - header) + " payload bytes, header says " + std::to_string(length));
  const std::string_view payload = std::string_view(data).substr(header);
  if (XXH3_64bits(payload.data(), payload.size()) != checksum) return Status::Invalid(bad + "checksum mismatch (corrupted)");

  auto fresh = std::make_unique<EngineState>(plan_);
  EngineState& s = *fresh;
  Reader r(payload);
  Fingerprint fp;
  uint32_t rows;
  int32_t fields;
  if (!r.Pod(&fp.high) || !r.Pod(&fp.low) || !(fp == PlanFingerprint(plan_)))
    return Status::Invalid(bad + "taken with different rules or reference data (fingerprint " + fp.ToString() +
                           ", these rules " + PlanFingerprint(plan_).ToString() + ")");
  if (!r.Pod(&rows) || !r.Pod(&fields) || fields != s.store.schema().size()) return Status::Invalid(bad + "field list differs");
  ClaimBatch store(plan_.schema);
  for (int f = 0; f < fields; ++f) {
    Column& c = store.column(f);
    int32_t dict_size;
    if (!r.Vec(&c.codes) || !r.Vec(&c.ints) || !r.Bits(&c.bits) || !r.Bits(&c.valid) || !r.Pod(&dict_size))
      return Status::Invalid(bad + "malformed column " + std::to_string(f));
    std::string str;
    for (int32_t k = 0; k < dict_size; ++k) {
      if (!r.Str(&str) || c.dict.Intern(str) != k) return Status::Invalid(bad + "malformed dictionary of column " + std::to_string(f));
    }
    const size_t want = rows;
    const bool sized = (c.type == ValueType::kInt ? c.ints.size() : c.type == ValueType::kBool ? c.bits.size() : c.codes.size()) == want &&
                       (!c.nullable || c.valid.size() == want);
    if (!sized) return Status::Invalid(bad + "column " + std::to_string(f) + " has the wrong length");
    if (c.type == ValueType::kString)
      for (int32_t code : c.codes)
        if (code < -1 || code >= dict_size) return Status::Invalid(bad + "column " + std::to_string(f) + " has an out-of-range code");
  }
  store.SetSize(rows);
  uint8_t has_horizon;
  bool ok = r.Vec(&s.ord) && r.Vec(&s.retracted) && r.Vec(&s.rej_stage) && r.Vec(&s.status) && r.Vec(&s.deduction) &&
            r.Vec(&s.primary) && r.Vec(&s.patient);
  for (PayerState& ps : s.payers) ok = ok && r.Vec(&ps.pay) && r.Vec(&ps.deducted) && r.Vec(&ps.eligible) && r.Vec(&ps.in);
  if (!ok || !r.Pod(&s.next_seq) || !r.Pod(&s.next_ord) || !r.Pod(&has_horizon) || !r.Pod(&s.horizon) || !r.done())
    return Status::Invalid(bad + "malformed line records");
  for (auto n : {s.ord.size(), s.retracted.size(), s.rej_stage.size(), s.status.size(), s.deduction.size(), s.primary.size()})
    if (n != rows) return Status::Invalid(bad + "line records do not match the line count");
  if (!plan_.payers.empty() && s.patient.size() != rows) return Status::Invalid(bad + "settlement records do not match the line count");
  for (const PayerState& ps : s.payers)
    for (auto n : {ps.pay.size(), ps.deducted.size(), ps.eligible.size(), ps.in.size()})
      if (n != rows) return Status::Invalid(bad + "settlement records do not match the line count");
  s.has_horizon = has_horizon != 0;
  s.store = std::move(store);
  for (RowIndex row = 0; row < rows; ++row)
    if (!s.retracted[row]) s.claims[s.store.column(kClaimId).codes[row]].push_back(row);
  s.Rebind();
  s.RebuildLogs(/*judge=*/false);
  std::lock_guard<SpinMutex> lock(g_->mu);
  fresh->key_budget = g_->state->key_budget;  // a setting of this engine, not part of the snapshot
  g_->state = std::move(fresh);
  return Status::Ok();
}

}  // namespace sanad
