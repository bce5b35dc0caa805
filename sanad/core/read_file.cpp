#include "sanad/core/read_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sanad {

Result<std::string> ReadFileToString(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status::Io(path + ": " + std::strerror(errno));
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) return Status::Io(path + ": read error");
  return out;
}

}  // namespace sanad
