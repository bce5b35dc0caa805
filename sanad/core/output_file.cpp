#include "sanad/core/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace sanad {
namespace {

// Temporary paths of live OutputFiles, readable from a signal handler
// (fixed storage, atomic flags: no allocation or locks there).
constexpr int kMaxLive = 32;
struct LiveTemp {
  std::atomic<bool> used{false};   // slot taken
  std::atomic<bool> ready{false};  // path written: the handler may unlink it
  char path[4096];
};
LiveTemp g_live[kMaxLive];

int Register(const std::string& temp) {
  if (temp.size() >= sizeof(g_live[0].path)) return -1;
  for (int i = 0; i < kMaxLive; ++i) {
    bool expected = false;
    if (g_live[i].used.load() || !g_live[i].used.compare_exchange_strong(expected, true)) continue;
    std::memcpy(g_live[i].path, temp.c_str(), temp.size() + 1);
    g_live[i].ready.store(true);
    return i;
  }
  return -1;  // more than kMaxLive at once: still correct, only not cleaned on a signal
}
void Unregister(int slot) {
  if (slot < 0) return;
  g_live[slot].ready.store(false);
  g_live[slot].used.store(false);
}

// Held while a temporary file is created and registered, and by the
// interrupt thread from the moment it removes the temporaries until the
// process is gone: so no temporary can appear after the removal (a Ctrl-C
// between creating a file and registering it left one behind).
std::mutex g_create_mu;

void RemoveLive() {
  for (LiveTemp& t : g_live)
    if (t.ready.load()) ::unlink(t.path);
}

extern "C" void OnBusError(int sig) {
  RemoveLive();  // no lock in a signal handler; claims are mapped only while loading, before any output exists
  if (sig == SIGBUS) {
    // Claims files are memory-mapped (read_file.h): SIGBUS means one shrank
    // while it was read. Say so (write(2) is async-signal-safe).
    static const char kMessage[] =
        "sanad: bus error: an input file was truncated while it was read (claims files are memory-mapped); "
        "no output was written\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

void RemoveTemporaryOutputsOnInterrupt() {
  // SIGINT and SIGTERM go to one thread that waits for them (blocked here,
  // so in every thread started after this); it takes the create lock,
  // removes the temporaries and ends the process by the signal.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    while (::sigwait(&set, &sig) != 0) {
    }
    g_create_mu.lock();  // held until the process ends
    RemoveLive();
    std::signal(sig, SIG_DFL);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(sig);
  }).detach();
  // SIGBUS is synchronous (the thread that touched a truncated mapping).
  struct sigaction sa {};
  sa.sa_handler = OnBusError;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, nullptr);
}

Result<std::unique_ptr<OutputFile>> OutputFile::Create(const std::string& path) {
  if (path.empty()) return Status::Invalid("empty output path");
  if (path == "-") return std::unique_ptr<OutputFile>(new OutputFile(path, "", nullptr));
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::lock_guard<std::mutex> lock(g_create_mu);  // created and registered before an interrupt looks
  std::string temp = dir + "." + base + ".sanad-tmp-XXXXXX";
  std::vector<char> buf(temp.begin(), temp.end());
  buf.push_back('\0');
  const int fd = ::mkstemp(buf.data());
  if (fd < 0) return Status::Io(path + ": cannot create a file beside it: " + std::strerror(errno));
  temp.assign(buf.data());
  ::fchmod(fd, 0644);  // mkstemp makes it 0600; outputs are ordinary readable files
  std::FILE* f = ::fdopen(fd, "wb");
  if (f == nullptr) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return Status::Io(path + ": " + std::strerror(err));
  }
  auto out = std::unique_ptr<OutputFile>(new OutputFile(path, std::move(temp), f));
  out->live_slot_ = Register(out->temp_);
  return out;
}

OutputFile::~OutputFile() {
  if (f_ != nullptr) std::fclose(f_);
  if (!committed_ && !is_stdout()) ::unlink(temp_.c_str());
  Unregister(live_slot_);
}

Status OutputFile::Error(const std::string& what, int err) {
  if (status_.ok()) status_ = Status::Io(path_ + ": " + what + ": " + std::strerror(err));
  return status_;
}

Status OutputFile::Write(std::string_view bytes) {
  if (!status_.ok()) return status_;
  if (is_stdout()) {
    if (committed_) return Status::Invalid("stdout: write after commit");
    held_.append(bytes);
    return status_;
  }
  if (f_ == nullptr) return Status::Invalid(path_ + ": write after finish");
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size()) return Error("write failed", errno);
  return status_;
}

Status OutputFile::Finish() {
  if (!status_.ok() || f_ == nullptr) return status_;
  std::FILE* f = f_;
  f_ = nullptr;
  if (std::fflush(f) != 0) {
    const int err = errno;
    std::fclose(f);
    return Error("write failed", err);
  }
  if (::fsync(::fileno(f)) != 0 && errno != EINVAL && errno != EROFS) {
    const int err = errno;
    std::fclose(f);
    return Error("sync failed", err);
  }
  if (std::fclose(f) != 0) return Error("close failed", errno);
  return status_;
}

Status OutputFile::Commit() {
  if (Status s = Finish(); !s.ok()) return s;
  if (committed_) return Status::Ok();
  if (is_stdout()) {
    committed_ = true;
    if (!held_.empty() && std::fwrite(held_.data(), 1, held_.size(), stdout) != held_.size())
      return Status::Io(std::string("stdout: write failed: ") + std::strerror(errno));
    std::string().swap(held_);
    return CheckStdout();
  }
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) return Error("cannot replace it", errno);
  committed_ = true;
  Unregister(live_slot_);
  live_slot_ = -1;
  return Status::Ok();
}

Status CommitAll(std::vector<std::unique_ptr<OutputFile>>& files) {
  for (auto& f : files)
    if (Status s = f->Finish(); !s.ok()) return s;
  for (auto& f : files)
    if (Status s = f->Commit(); !s.ok()) return s;
  return Status::Ok();
}

Status CheckStdout() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) return Status::Io(std::string("stdout: write failed: ") + std::strerror(errno ? errno : EIO));
  return Status::Ok();
}

}  // namespace sanad
