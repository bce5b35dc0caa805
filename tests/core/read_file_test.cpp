#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "sanad/core/read_file.h"

namespace sanad {
namespace {

std::string TempFile(const std::string& name, const std::string& bytes) {
  const std::string path = (std::filesystem::temp_directory_path() / ("sanad_read_file_" + name)).string();
  FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return path;
}

void ExpectPaddedWithZeros(const FileBytes& b, size_t padding) {
  const char* p = b.view().data();
  for (size_t i = 0; i < padding; ++i) ASSERT_EQ(p[b.view().size() + i], '\0') << "padding byte " << i;
}

TEST(FileBytesTest, RegularFileIsMappedAndFollowedByZeroPadding) {
  // Sizes around a page boundary: the padding may fall in the file's last
  // page or in the zero pages after it.
  const long page = ::sysconf(_SC_PAGESIZE);
  for (size_t size : {size_t{1}, size_t{100}, static_cast<size_t>(page) - 1, static_cast<size_t>(page),
                      static_cast<size_t>(page) + 7, static_cast<size_t>(3 * page)}) {
    std::string bytes(size, 'x');
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + i % 26);
    const std::string path = TempFile("map", bytes);
    Result<FileBytes> b = FileBytes::Open(path, 64);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_TRUE(b->mapped());
    EXPECT_EQ(b->view(), bytes);
    ExpectPaddedWithZeros(*b, 64);
    // Moving keeps the bytes (the mapping moves with it).
    FileBytes moved = std::move(b).value();
    EXPECT_EQ(moved.view(), bytes);
    std::filesystem::remove(path);
  }
}

TEST(FileBytesTest, EmptyFileAndPipeAreReadWithPadding) {
  const std::string path = TempFile("empty", "");
  Result<FileBytes> e = FileBytes::Open(path, 64);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->view().size(), 0u);
  ExpectPaddedWithZeros(*e, 64);
  std::filesystem::remove(path);

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string text = "claim_id\nC1\n";
  ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  Result<FileBytes> p = FileBytes::Open("/dev/fd/" + std::to_string(fds[0]), 64);
  ::close(fds[0]);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->mapped());
  EXPECT_EQ(p->view(), text);
  ExpectPaddedWithZeros(*p, 64);
  // A short (SSO-sized) buffer survives a move too.
  FileBytes moved = std::move(p).value();
  EXPECT_EQ(moved.view(), text);
  ExpectPaddedWithZeros(moved, 64);
}

TEST(FileBytesTest, MissingFileAndDirectoryAreErrorsNamingThePath) {
  Result<FileBytes> m = FileBytes::Open("/nonexistent/claims.csv");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("/nonexistent/claims.csv"), std::string::npos);
  Result<FileBytes> d = FileBytes::Open(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(std::filesystem::temp_directory_path().string()), std::string::npos);
}

}  // namespace
}  // namespace sanad
