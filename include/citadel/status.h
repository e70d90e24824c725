// Status and Result<T>: how every Citadel module reports failure.
//
// Modules never let exceptions cross their public boundary. A function that
// can fail returns Status (no value) or Result<T> (a value or a Status).
// Messages are meant for the person operating or calling the system: they say
// what was wrong and where, and never contain payload bytes or secrets.
#ifndef CITADEL_STATUS_H_
#define CITADEL_STATUS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace citadel {

// Stable error codes. Their names (CodeName) appear in HTTP error bodies and
// CLI output, so never renumber or rename; only append.
enum class Code {
  kOk = 0,
  kInvalidArgument,     // malformed input from the caller
  kNotFound,            // named thing does not exist
  kAlreadyExists,
  kPermissionDenied,    // authenticated but not allowed
  kUnauthenticated,     // no or bad credentials
  kFailedPrecondition,  // system not in a state to do this
  kUnsupported,         // valid input we do not implement (e.g. an ONNX op)
  kResourceExhausted,   // a configured limit was hit
  kDataLoss,            // stored data is corrupt or was tampered with
  kAttestationFailed,   // evidence did not verify
  kPolicyRejected,      // evidence verified but the policy refuses it
  kUnavailable,         // peer unreachable, try again
  kInternal,            // a bug: an invariant did not hold
};

// "invalid_argument", "not_found", ... (snake case, stable).
std::string_view CodeName(Code code);

class Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
  static Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
  static Status AttestationFailed(std::string m) { return {Code::kAttestationFailed, std::move(m)}; }
  static Status PolicyRejected(std::string m) { return {Code::kPolicyRejected, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: <message>", or "ok".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value of type T, or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {          // NOLINT
    if (std::get<Status>(v_).ok()) v_ = Status::Internal("Result constructed from OK status");
  }

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
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace citadel

#define CITADEL_CONCAT_INNER_(a, b) a##b
#define CITADEL_CONCAT_(a, b) CITADEL_CONCAT_INNER_(a, b)

#define CITADEL_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::citadel::Status _citadel_st = (expr);      \
    if (!_citadel_st.ok()) return _citadel_st;   \
  } while (0)

#define CITADEL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()

// CITADEL_ASSIGN_OR_RETURN(auto x, MaybeX());
#define CITADEL_ASSIGN_OR_RETURN(lhs, expr) \
  CITADEL_ASSIGN_OR_RETURN_IMPL_(CITADEL_CONCAT_(_citadel_r_, __LINE__), lhs, expr)

#endif  // CITADEL_STATUS_H_
