#pragma once
/// SANAD_CHECK macros for programmer errors (broken invariants). They print
/// both operands and abort. No user input may ever reach one.

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace sanad::internal {
template <typename A, typename B>
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const A& a, const B& b) {
  std::ostringstream os;
  os << a << " vs " << b;
  std::fprintf(stderr, "%s:%d: SANAD_CHECK failed: %s (%s)\n", file, line, expr, os.str().c_str());
  std::abort();
}
[[noreturn]] inline void CheckFailed(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "%s:%d: SANAD_CHECK failed: %s\n", file, line, expr);
  std::abort();
}
}  // namespace sanad::internal

#define SANAD_CHECK(c) \
  do { if (!(c)) ::sanad::internal::CheckFailed(__FILE__, __LINE__, #c); } while (0)
#define SANAD_CHECK_OP(a, b, op)                                                     \
  do {                                                                               \
    const auto& _a = (a);                                                            \
    const auto& _b = (b);                                                            \
    if (!(_a op _b)) ::sanad::internal::CheckFailed(__FILE__, __LINE__, #a " " #op " " #b, _a, _b); \
  } while (0)
#define SANAD_CHECK_EQ(a, b) SANAD_CHECK_OP(a, b, ==)
#define SANAD_CHECK_LT(a, b) SANAD_CHECK_OP(a, b, <)
#define SANAD_CHECK_LE(a, b) SANAD_CHECK_OP(a, b, <=)
