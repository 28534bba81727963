// Result<T>: the value of an operation that can fail for a reason the caller
// should handle (environment, input), or the Error saying why.
//
// Exceptions are for the top of the program only (cli/main.cpp); library code
// returns Result. Error keeps errno captured right after the failing call,
// so it cannot be clobbered on the way up (cf. envoy's SysCallResult).
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace axon {

struct Error {
  std::string message;  // what failed: "load BPF object smoke"
  int sys_errno = 0;    // errno of the failing call, 0 when not a syscall failure

  // "load BPF object smoke: Operation not permitted"
  std::string str() const {
    if (sys_errno == 0) return message;
    return message + ": " + std::strerror(sys_errno);
  }
};

// An error carrying the current errno. Call right after the failing syscall.
inline Error sys_error(std::string message) {
  return Error{std::move(message), errno};
}
// An error from a libbpf call that returned a negative errno.
inline Error neg_errno_error(std::string message, int neg) {
  return Error{std::move(message), -neg};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace axon
