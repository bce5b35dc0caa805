#include "sanad/core/read_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sanad {

Result<std::string> ReadFileToString(const std::string& path) {
  Result<FileBytes> bytes = FileBytes::Open(path);  // one reader: mapped or read, errors naming the path
  if (!bytes.ok()) return bytes.status();
  return std::string(bytes->view());
}

FileBytes& FileBytes::operator=(FileBytes&& o) noexcept {
  if (this == &o) return *this;
  if (map_ != nullptr) ::munmap(map_, map_bytes_);
  map_ = o.map_;
  map_bytes_ = o.map_bytes_;
  size_ = o.size_;
  owned_ = std::move(o.owned_);
  data_ = map_ != nullptr ? static_cast<const char*>(map_) : owned_.data();
  o.map_ = nullptr;
  o.map_bytes_ = 0;
  o.size_ = 0;
  o.data_ = "";
  return *this;
}

FileBytes::~FileBytes() {
  if (map_ != nullptr) ::munmap(map_, map_bytes_);
}

Result<FileBytes> FileBytes::Open(const std::string& path, size_t padding) {
  FileBytes out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Io(path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    const size_t size = static_cast<size_t>(st.st_size);
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t reserve = (size + padding + page - 1) / page * page;
    // Reserve zero pages for file + padding, then map the file over the start:
    // the bytes past the end of the file read as zeros.
    void* base = ::mmap(nullptr, reserve, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base != MAP_FAILED) {
      void* file = ::mmap(base, size, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0);
      if (file != MAP_FAILED) {
        ::close(fd);
        out.map_ = base;
        out.map_bytes_ = reserve;
        out.data_ = static_cast<const char*>(base);
        out.size_ = size;
        return out;
      }
      ::munmap(base, reserve);
    }
    // Not mappable (some file systems): read it below.
  }
  std::string bytes;
  if (S_ISREG(st.st_mode)) bytes.reserve(static_cast<size_t>(st.st_size) + padding);
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return Status::Io(path + ": " + std::strerror(e));
    }
    bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  out.size_ = bytes.size();
  bytes.append(padding, '\0');
  out.owned_ = std::move(bytes);
  out.data_ = out.owned_.data();
  return out;
}

}  // namespace sanad
