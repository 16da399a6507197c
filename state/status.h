// Status: the outcome of an operation that can fail, as a cheap value.
//
// A Status is either OK or carries a code and a message. Functions across
// module boundaries return a Status instead of throwing.
//
// Thread safety: a Status is an immutable value; distinct objects may be used
// from any thread. Intentionally copyable.
#ifndef LEADFLOW_STATE_STATUS_H_
#define LEADFLOW_STATE_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace leadflow {

// [[nodiscard]]: a Status dropped on the floor is a failure nobody handles;
// the compiler says so (warnings are errors in CI).
class [[nodiscard]] Status {
 public:
  enum class Code { kOk, kNotFound, kInvalidArgument, kIoError, kCorruption, kUnavailable };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // The same code with "context: " before the message (OK stays OK).
  Status WithContext(std::string_view context) const {
    if (ok()) return *this;
    return Status(code_, std::string(context) + ": " + message_);
  }

  // "OK" or "<code name>: <message>", for logs and test failures.
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace leadflow

#endif  // LEADFLOW_STATE_STATUS_H_
