#pragma once
/// Whole-file reads for rules, reference data, claims and snapshots. I/O
/// errors name the path.
///
/// ReadFileToString copies a file (or pipe, FIFO, device) into a string
/// (through FileBytes).
/// FileBytes is for big inputs that are only parsed: a regular file is
/// mapped read-only instead of copied (a 545 MB month-end CSV took 1.3 s to
/// read into a growing string, and that string cost its size again in
/// memory; mapping it takes milliseconds and the page cache is shared), and
/// anything else (a pipe, stdin) is read into memory. Either way the bytes
/// are followed by `padding` readable zero bytes, as simdjson needs.
/// As with any memory-mapped reader, a file truncated by another process
/// while Sanad reads it ends the process with SIGBUS: write month-end files
/// completely (or to a temporary name, then rename) before reading them.

#include <cstddef>
#include <string>
#include <string_view>

#include "sanad/core/status.h"

namespace sanad {

Result<std::string> ReadFileToString(const std::string& path);

class FileBytes {
 public:
  static Result<FileBytes> Open(const std::string& path, size_t padding = 0);

  FileBytes() = default;
  FileBytes(FileBytes&& o) noexcept { *this = std::move(o); }
  FileBytes& operator=(FileBytes&& o) noexcept;
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  ~FileBytes();

  /// The file's bytes; data()[size() .. size() + padding) are readable zeros.
  std::string_view view() const { return {data_, size_}; }
  bool mapped() const { return map_bytes_ != 0; }

 private:
  const char* data_ = "";
  size_t size_ = 0;
  void* map_ = nullptr;   // the reservation (file pages, then zero pages)
  size_t map_bytes_ = 0;
  std::string owned_;     // a pipe's bytes plus padding
};

}  // namespace sanad
