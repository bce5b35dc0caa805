#pragma once
/// OutputFile: an output that appears whole or not at all. Bytes go to a
/// temporary file beside the final path (same directory, so the rename is
/// atomic); Finish() flushes, syncs and closes it, checking every step;
/// Commit() renames it over the final path. A file destroyed before Commit
/// (an error, a write that failed) removes its temporary and leaves the
/// final path as it was; a process killed mid-write leaves only a
/// `.NAME.sanad-tmp-XXXXXX` file beside it, never a truncated NAME.
/// Not thread-safe; one writer per file.

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sanad/core/status.h"

namespace sanad {

class OutputFile {
 public:
  /// `path` "-" is standard output: the bytes are held until Commit and
  /// written then (checked), so stdout too gets all of an output or nothing.
  static Result<std::unique_ptr<OutputFile>> Create(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  /// Appends bytes; after the first failure every call fails with it.
  Status Write(std::string_view bytes);
  /// Flushes, syncs and closes the temporary file (checked).
  Status Finish();
  /// Finish() if not yet done, then renames over the final path.
  Status Commit();
  const std::string& path() const { return path_; }

 private:
  OutputFile(std::string path, std::string temp, std::FILE* f) : path_(std::move(path)), temp_(std::move(temp)), f_(f) {}
  Status Error(const std::string& what, int err);
  bool is_stdout() const { return path_ == "-"; }
  std::string path_, temp_;
  std::FILE* f_;
  std::string held_;  // stdout: everything written, until Commit
  int live_slot_ = -1;  // where the signal handler finds temp_ (RemoveTemporaryOutputsOnInterrupt)
  Status status_ = Status::Ok();
  bool committed_ = false;
};

/// Ctrl-C (SIGINT) and SIGTERM stop the process at once and remove the
/// temporary files of outputs not yet committed, so an interrupted run
/// leaves every output as it was and nothing beside it. The CLI calls this
/// once at start; the signal is then re-raised with its default action.
/// Call it before any other thread starts: it blocks SIGINT and SIGTERM
/// in them and waits for both on a thread of its own, which removes the
/// temporaries under the lock that creating one holds. SIGBUS (a
/// memory-mapped claims file truncated while read) is handled in the
/// faulting thread, with a message saying so.
void RemoveTemporaryOutputsOnInterrupt();

/// Commits every file, in order, after all were written: a run's outputs
/// appear together (a failure before this point leaves all as they were).
Status CommitAll(std::vector<std::unique_ptr<OutputFile>>& files);

/// Checks that everything written to stdout reached it (e.g. not /dev/full):
/// flushes and tests the stream's error flag. The message names stdout.
Status CheckStdout();

}  // namespace sanad
