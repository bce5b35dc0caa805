#pragma once
/// Status and Result<T>: the error channel for calls that can fail on bad
/// input, I/O or reference data. Exceptions never cross a library boundary.

#include <string>
#include <utility>
#include <variant>

namespace sanad {

enum class StatusCode { kOk, kInvalidInput, kIoError, kLimitExceeded, kNotFound, kInternal };

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status Invalid(std::string m) { return {StatusCode::kInvalidInput, std::move(m)}; }
  static Status Io(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Limit(std::string m) { return {StatusCode::kLimitExceeded, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
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
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sanad

#define SANAD_RETURN_IF_ERROR(expr)           \
  do {                                        \
    ::sanad::Status _st = (expr);             \
    if (!_st.ok()) return _st;                \
  } while (0)
