#pragma once
/// SourceFile: the text of one rules file plus a line index, so byte offsets
/// (which every token and node carries) become line:column only when printed.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sanad::dsl {

/// A byte range [begin, end) in the source.
struct Span {
  uint32_t begin = 0;
  uint32_t end = 0;
  bool operator==(const Span&) const = default;
};

inline Span Join(Span a, Span b) { return {std::min(a.begin, b.begin), std::max(a.end, b.end)}; }

class SourceFile {
 public:
  SourceFile(std::string name, std::string text) : name_(std::move(name)), text_(std::move(text)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < text_.size(); ++i)
      if (text_[i] == '\n') line_starts_.push_back(static_cast<uint32_t>(i + 1));
  }
  const std::string& name() const { return name_; }
  std::string_view text() const { return text_; }

  /// 1-based line of a byte offset.
  int Line(uint32_t offset) const {
    return static_cast<int>(std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - line_starts_.begin());
  }
  /// 1-based column in characters (UTF-8 code points) of a byte offset.
  int Column(uint32_t offset) const {
    uint32_t start = line_starts_[static_cast<size_t>(Line(offset) - 1)];
    int col = 1;
    for (uint32_t i = start; i < offset && i < text_.size(); ++i)
      if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++col;
    return col;
  }
  /// The text of a 1-based line, without its newline.
  std::string_view LineText(int line) const {
    uint32_t b = line_starts_[static_cast<size_t>(line - 1)];
    uint32_t e = static_cast<size_t>(line) < line_starts_.size() ? line_starts_[static_cast<size_t>(line)] - 1
                                                                  : static_cast<uint32_t>(text_.size());
    std::string_view s(text_.data() + b, e - b);
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    return s;
  }

 private:
  std::string name_;
  std::string text_;
  std::vector<uint32_t> line_starts_;
};

}  // namespace sanad::dsl
