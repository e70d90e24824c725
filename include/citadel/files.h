// Files in the server's state directory: clean-up of interrupted atomic
// writes and the one-server-per-directory lock.
#ifndef CITADEL_FILES_H_
#define CITADEL_FILES_H_

#include <cstddef>
#include <string>

#include "citadel/status.h"

namespace citadel {

// Deletes the temporary files that an interrupted WriteFileAtomic (a kill
// between mkstemp and rename) left directly in `dir`: only names of its exact
// pattern ".<target>.tmpXXXXXX" are touched, nothing else. Such a file is never
// read by anyone, but it holds sealed bytes and wastes disk. Call it only while
// no other writer can be active in `dir` (the server does so under its
// state-directory lock). Returns how many files were removed.
size_t RemoveAtomicWriteLeftovers(const std::string& dir);

// An exclusive advisory lock (flock) on `<dir>/lock`, held for the object's
// lifetime. One server per state directory: two would interleave the audit
// log and the receipt counter. Fails with FailedPrecondition when another
// process holds it.
class DirectoryLock {
 public:
  static Result<DirectoryLock> Acquire(const std::string& dir);
  DirectoryLock(DirectoryLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DirectoryLock& operator=(DirectoryLock&&) = delete;
  DirectoryLock(const DirectoryLock&) = delete;
  ~DirectoryLock();

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace citadel

#endif  // CITADEL_FILES_H_
