#include "sanad/rules_dsl/lexer.h"

#include <cstring>


namespace sanad::dsl {

std::string_view TokName(Tok t) {
  switch (t) {
    case Tok::kEof: return "end of file";
    case Tok::kError: return "invalid token";
    case Tok::kIdent: return "identifier";
    case Tok::kIntLit: return "integer";
    case Tok::kDecimalLit: return "decimal number";
    case Tok::kStringLit: return "string";
    case Tok::kDateLit: return "date";
    case Tok::kLParen: return "'('";
    case Tok::kRParen: return "')'";
    case Tok::kLBrace: return "'{'";
    case Tok::kRBrace: return "'}'";
    case Tok::kLBracket: return "'['";
    case Tok::kRBracket: return "']'";
    case Tok::kComma: return "','";
    case Tok::kColon: return "':'";
    case Tok::kAssign: return "'='";
    case Tok::kArrow: return "'->'";
    case Tok::kEq: return "'=='";
    case Tok::kNe: return "'!='";
    case Tok::kLt: return "'<'";
    case Tok::kLe: return "'<='";
    case Tok::kGt: return "'>'";
    case Tok::kGe: return "'>='";
    case Tok::kPlus: return "'+'";
    case Tok::kMinus: return "'-'";
    case Tok::kStar: return "'*'";
    case Tok::kSlash: return "'/'";
    case Tok::kPercent: return "'%'";
#define SANAD_KW_NAME(name, text) \
  case Tok::kKw##name: return "'" text "'";
      SANAD_KEYWORDS(SANAD_KW_NAME)
#undef SANAD_KW_NAME
    case Tok::kNumTokens: break;
  }
  return "?";
}

Tok KeywordFor(std::string_view w) {
#define SANAD_KW_MATCH(name, text) \
  if (w == text) return Tok::kKw##name;
  SANAD_KEYWORDS(SANAD_KW_MATCH)
#undef SANAD_KW_MATCH
  return Tok::kIdent;
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Validates an ISO date YYYY-MM-DD; returns yyyymmdd (the compiler turns it into days).
bool ValidIsoDate(std::string_view t, int64_t* yyyymmdd) {
  if (t.size() != 10) return false;
  int y = 0, m = 0, d = 0;
  for (int i = 0; i < 4; ++i) y = y * 10 + (t[static_cast<size_t>(i)] - '0');
  m = (t[5] - '0') * 10 + (t[6] - '0');
  d = (t[8] - '0') * 10 + (t[9] - '0');
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > ((m == 2 && leap) ? 29 : kDays[m - 1])) return false;
  *yyyymmdd = y * 10000 + m * 100 + d;
  return true;
}
bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

// Length of a valid UTF-8 sequence at p (0 if invalid).
size_t Utf8Len(const unsigned char* p, const unsigned char* end) {
  unsigned c = p[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
  else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
  else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
  else return 0;
  if (static_cast<size_t>(end - p) < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

void AppendUtf8(std::string& s, uint32_t cp) {
  if (cp < 0x80) s += static_cast<char>(cp);
  else if (cp < 0x800) { s += static_cast<char>(0xC0 | (cp >> 6)); s += static_cast<char>(0x80 | (cp & 0x3F)); }
  else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  Lexer(const SourceFile& src, DiagnosticBag& diags, const LexLimits& limits)
      : s_(src.text()), diags_(diags), limits_(limits) {
    // A UTF-8 byte order mark (editors on Windows write one) is not text.
    if (s_.size() >= 3 && s_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;
  }

  LexResult Run() {
    LexResult out;
    out.tokens.reserve(s_.size() / 4 + 16);
    while (true) {
      SkipSpaceAndComments(out.comments);
      Token t = Next();
      out.tokens.push_back(std::move(t));
      if (out.tokens.back().kind == Tok::kEof) break;
    }
    return out;
  }

 private:
  Span SpanFrom(size_t b) const { return {static_cast<uint32_t>(b), static_cast<uint32_t>(pos_)}; }

  void SkipSpaceAndComments(std::vector<Comment>& comments) {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { ++pos_; continue; }
      if (c == '#') {
        size_t b = pos_;
        while (pos_ < s_.size() && s_[pos_] != '\n') {
          size_t n = Utf8Len(reinterpret_cast<const unsigned char*>(s_.data() + pos_),
                             reinterpret_cast<const unsigned char*>(s_.data() + s_.size()));
          if (n == 0) {
            diags_.Error("E0108", {static_cast<uint32_t>(pos_), static_cast<uint32_t>(pos_ + 1)}, "invalid UTF-8 in comment");
            n = 1;
          }
          pos_ += n;
        }
        size_t e = pos_;
        // Trailing blanks (CR of CRLF, stray CRs, spaces) are not part of the comment.
        while (e > b && (s_[e - 1] == '\r' || s_[e - 1] == ' ' || s_[e - 1] == '\t')) --e;
        comments.push_back({{static_cast<uint32_t>(b), static_cast<uint32_t>(e)}});
        continue;
      }
      break;
    }
  }

  Token Make(Tok k, size_t b) {
    Token t;
    t.kind = k;
    t.span = SpanFrom(b);
    return t;
  }

  Token Next() {
    const size_t b = pos_;
    if (pos_ >= s_.size()) return Make(Tok::kEof, b);
    const char c = s_[pos_];
    if (IsIdentStart(c)) return Word();
    if (IsDigit(c)) return Number();
    if (c == '"') return String();
    ++pos_;
    auto two = [&](char next, Tok yes, Tok no) {
      if (pos_ < s_.size() && s_[pos_] == next) { ++pos_; return Make(yes, b); }
      return Make(no, b);
    };
    switch (c) {
      case '(': return Make(Tok::kLParen, b);
      case ')': return Make(Tok::kRParen, b);
      case '{': return Make(Tok::kLBrace, b);
      case '}': return Make(Tok::kRBrace, b);
      case '[': return Make(Tok::kLBracket, b);
      case ']': return Make(Tok::kRBracket, b);
      case ',': return Make(Tok::kComma, b);
      case ':': return Make(Tok::kColon, b);
      case '+': return Make(Tok::kPlus, b);
      case '*': return Make(Tok::kStar, b);
      case '/': return Make(Tok::kSlash, b);
      case '%': return Make(Tok::kPercent, b);
      case '-': return two('>', Tok::kArrow, Tok::kMinus);
      case '=': return two('=', Tok::kEq, Tok::kAssign);
      case '<': return two('=', Tok::kLe, Tok::kLt);
      case '>': return two('=', Tok::kGe, Tok::kGt);
      case '!':
        if (pos_ < s_.size() && s_[pos_] == '=') { ++pos_; return Make(Tok::kNe, b); }
        break;
      case '&':
      case '|':
        if (pos_ < s_.size() && s_[pos_] == c) ++pos_;  // one error for && or ||
        diags_.Error("E0101", SpanFrom(b), std::string("unexpected '") + std::string(s_.substr(b, pos_ - b)) + "' (use '" +
                                               (c == '&' ? "and" : "or") + "')");
        return Make(Tok::kError, b);
      case '\'': {
        // A single-quoted "string": one error covering it, with the fix.
        while (pos_ < s_.size() && s_[pos_] != '\'' && s_[pos_] != '\n') ++pos_;
        if (pos_ < s_.size() && s_[pos_] == '\'') ++pos_;
        diags_.Error("E0101", SpanFrom(b), "strings use double quotes: \"" +
                                               std::string(s_.substr(b + 1, pos_ - b - (s_[pos_ - 1] == '\'' && pos_ - b > 1 ? 2 : 1))) + "\"");
        return Make(Tok::kError, b);
      }
      default: break;
    }
    // Unexpected character: report the whole UTF-8 character.
    size_t n = Utf8Len(reinterpret_cast<const unsigned char*>(s_.data() + b),
                       reinterpret_cast<const unsigned char*>(s_.data() + s_.size()));
    if (n == 0) {
      pos_ = b + 1;
      diags_.Error("E0108", SpanFrom(b), "invalid UTF-8 byte in source");
    } else {
      pos_ = b + n;
      std::string ch(s_.substr(b, n));
      std::string hint = c == '!' ? " (use 'not' for negation, '!=' for inequality)" : "";
      diags_.Error("E0101", SpanFrom(b), "unexpected character '" + ch + "'" + hint);
    }
    return Make(Tok::kError, b);
  }

  Token Word() {
    const size_t b = pos_;
    while (pos_ < s_.size() && IsIdentChar(s_[pos_])) ++pos_;
    std::string_view w = s_.substr(b, pos_ - b);
    Token t = Make(KeywordFor(w), b);
    if (t.kind == Tok::kIdent) {
      if (w.size() > limits_.max_identifier_bytes) {
        diags_.Error("E0107", t.span, "identifier of " + std::to_string(w.size()) + " characters exceeds the limit of " +
                                          std::to_string(limits_.max_identifier_bytes));
        t.kind = Tok::kError;
      }
      t.text = std::string(w);
    }
    return t;
  }

  // Digits with optional underscores; returns false on a misplaced underscore.
  bool Digits(std::string* out) {
    bool ok = true;
    while (pos_ < s_.size() && (IsDigit(s_[pos_]) || s_[pos_] == '_')) {
      if (s_[pos_] == '_') {
        if (pos_ + 1 >= s_.size() || !IsDigit(s_[pos_ + 1])) ok = false;
      } else {
        *out += s_[pos_];
      }
      ++pos_;
    }
    return ok;
  }

  Token Number() {
    const size_t b = pos_;
    // Date literal: DDDD-D[D]-D[D] not followed by an identifier character.
    {
      size_t p = b;
      auto run = [&](size_t max) {
        size_t n = 0;
        while (p < s_.size() && IsDigit(s_[p]) && n <= max) { ++p; ++n; }
        return n;
      };
      size_t y = run(4);
      if (y == 4 && p < s_.size() && s_[p] == '-') {
        ++p;
        size_t m = run(2);
        if (m >= 1 && m <= 2 && p < s_.size() && s_[p] == '-') {
          ++p;
          size_t d = run(2);
          if (d >= 1 && d <= 2 && (p >= s_.size() || !IsIdentChar(s_[p]))) {
            pos_ = p;
            Token t = Make(Tok::kDateLit, b);
            int64_t days = 0;
            std::string_view text = s_.substr(b, p - b);
            if (m != 2 || d != 2 || !ValidIsoDate(text, &days)) {
              diags_.Error("E0105", t.span, "invalid date '" + std::string(text) + "' (dates are YYYY-MM-DD and must exist)");
              t.kind = Tok::kError;
            }
            t.i64 = days;
            return t;
          }
        }
      }
    }
    std::string digits;
    bool ok = Digits(&digits);
    if (pos_ + 1 < s_.size() && s_[pos_] == '.' && IsDigit(s_[pos_ + 1])) {
      ++pos_;
      std::string frac;
      ok &= Digits(&frac);
      Token t = Make(Tok::kDecimalLit, b);
      t.text = digits + "." + frac;
      if (!ok) {
        diags_.Error("E0104", t.span, "misplaced '_' in number");
        t.kind = Tok::kError;
      }
      return t;
    }
    Token t = Make(Tok::kIntLit, b);
    if (pos_ < s_.size() && IsIdentStart(s_[pos_])) {
      while (pos_ < s_.size() && IsIdentChar(s_[pos_])) ++pos_;
      t.span = SpanFrom(b);
      diags_.Error("E0104", t.span, "invalid number '" + std::string(s_.substr(b, pos_ - b)) + "'");
      t.kind = Tok::kError;
      return t;
    }
    if (!ok) {
      diags_.Error("E0104", t.span, "misplaced '_' in number '" + std::string(s_.substr(b, pos_ - b)) + "'");
      t.kind = Tok::kError;
      return t;
    }
    uint64_t v = 0;
    for (char d : digits) {
      uint64_t next = v * 10 + static_cast<uint64_t>(d - '0');
      if (v > (UINT64_MAX - 9) / 10 || next > (uint64_t{1} << 63)) {
        diags_.Error("E0104", t.span, "integer literal out of the 64-bit range");
        t.kind = Tok::kError;
        return t;
      }
      v = next;
    }
    t.u64 = v;
    if (s_.substr(b, pos_ - b).find('_') != std::string_view::npos)
      t.text = std::string(s_.substr(b, pos_ - b));  // digit groups as written: fmt keeps them
    return t;
  }

  Token String() {
    const size_t b = pos_;
    ++pos_;  // opening quote
    std::string out;
    bool bad = false;
    while (true) {
      if (pos_ >= s_.size() || s_[pos_] == '\n') {
        Token t = Make(Tok::kError, b);
        diags_.Error("E0102", t.span, "unterminated string");
        return t;
      }
      char c = s_[pos_];
      if (c == '"') { ++pos_; break; }
      if (c == '\\') {
        size_t eb = pos_;
        ++pos_;
        char e = pos_ < s_.size() ? s_[pos_] : '\0';
        ++pos_;
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'u': {
            uint32_t cp = 0;
            if (!Hex4(&cp)) { EscapeError(eb, "\\u needs four hex digits"); bad = true; break; }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              uint32_t lo = 0;
              if (pos_ + 1 < s_.size() && s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
                pos_ += 2;
                if (Hex4(&lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                  AppendUtf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
                  break;
                }
              }
              EscapeError(eb, "unpaired surrogate in \\u escape");
              bad = true;
              break;
            }
            if (cp >= 0xDC00 && cp <= 0xDFFF) { EscapeError(eb, "unpaired surrogate in \\u escape"); bad = true; break; }
            AppendUtf8(out, cp);
            break;
          }
          default:
            if (pos_ > s_.size()) pos_ = s_.size();
            EscapeError(eb, "invalid escape sequence (use \\\" \\\\ \\n \\t or \\uXXXX)");
            bad = true;
        }
        continue;
      }
      size_t n = Utf8Len(reinterpret_cast<const unsigned char*>(s_.data() + pos_),
                         reinterpret_cast<const unsigned char*>(s_.data() + s_.size()));
      if (n == 0) {
        diags_.Error("E0108", {static_cast<uint32_t>(pos_), static_cast<uint32_t>(pos_ + 1)}, "invalid UTF-8 in string");
        bad = true;
        n = 1;
      }
      out.append(s_.data() + pos_, n);
      pos_ += n;
    }
    Token t = Make(bad ? Tok::kError : Tok::kStringLit, b);
    if (!bad && out.size() > limits_.max_string_bytes) {
      diags_.Error("E0107", t.span, "string of " + std::to_string(out.size()) + " bytes exceeds the limit of " +
                                        std::to_string(limits_.max_string_bytes));
      t.kind = Tok::kError;
    }
    t.text = std::move(out);
    return t;
  }

  bool Hex4(uint32_t* cp) {
    if (pos_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char h = s_[pos_ + static_cast<size_t>(i)];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<uint32_t>(h - 'A' + 10);
      else return false;
    }
    pos_ += 4;
    *cp = v;
    return true;
  }

  void EscapeError(size_t b, const std::string& msg) {
    diags_.Error("E0103", {static_cast<uint32_t>(b), static_cast<uint32_t>(std::min(pos_, s_.size()))}, msg);
  }

  std::string_view s_;
  DiagnosticBag& diags_;
  const LexLimits& limits_;
  size_t pos_ = 0;
};

}  // namespace

LexResult Lex(const SourceFile& source, DiagnosticBag& diags, const LexLimits& limits) {
  return Lexer(source, diags, limits).Run();
}

}  // namespace sanad::dsl
