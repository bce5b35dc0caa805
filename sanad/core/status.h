#pragma once
/// Status and Result<T>: the error channel for calls that can fail on bad
/// input, I/O or reference data. Library calls return them and do not
/// throw; the one exception is BadResultAccess, for reading the value of a
/// failed Result (a bug in the caller, reported with the error's text).

#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace sanad {

enum class StatusCode { kOk, kInvalidInput, kIoError, kLimitExceeded, kNotFound, kInternal, kCancelled };

/// "ok", "invalid input", "I/O error", "limit exceeded", "not found", "internal error".
inline const char* StatusCodeName(StatusCode c) {
  switch (c) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidInput: return "invalid input";
    case StatusCode::kIoError: return "I/O error";
    case StatusCode::kLimitExceeded: return "limit exceeded";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kInternal: return "internal error";
    case StatusCode::kCancelled: return "cancelled";
  }
  return "unknown";
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status Invalid(std::string m) { return {StatusCode::kInvalidInput, std::move(m)}; }
  static Status Io(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Limit(std::string m) { return {StatusCode::kLimitExceeded, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  /// "ok", or the code's name and the message: "not found: missing reference data ...".
  std::string ToString() const { return ok() ? "ok" : std::string(StatusCodeName(code_)) + ": " + message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

/// Thrown by Result::value() on a Result that holds an error: a caller that
/// did not check ok() gets the error's text (what()), not bad_variant_access.
class BadResultAccess : public std::logic_error {
 public:
  explicit BadResultAccess(const Status& s) : std::logic_error("sanad: value() of a failed Result: " + s.ToString()), status_(s) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

/// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return Checked(), std::get<T>(v_); }
  const T& value() const& { return Checked(), std::get<T>(v_); }
  T&& value() && { return Checked(), std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  void Checked() const {
    if (!ok()) throw BadResultAccess(std::get<Status>(v_));
  }
  std::variant<T, Status> v_;
};

}  // namespace sanad

#define SANAD_RETURN_IF_ERROR(expr)           \
  do {                                        \
    ::sanad::Status _st = (expr);             \
    if (!_st.ok()) return _st;                \
  } while (0)
