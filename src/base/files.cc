#include "citadel/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

namespace citadel {
namespace {
// True for WriteFileAtomic's temporary names: "." + target + ".tmp" + the six
// characters mkstemp chose.
bool IsAtomicWriteTemp(const std::string& name) {
  constexpr std::string_view kTag = ".tmp";
  if (name.size() < 1 + 1 + kTag.size() + 6 || name[0] != '.') return false;
  std::string_view tag(name.data() + name.size() - 6 - kTag.size(), kTag.size());
  if (tag != kTag) return false;
  for (size_t i = name.size() - 6; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum) return false;
  }
  return true;
}
}  // namespace

size_t RemoveAtomicWriteLeftovers(const std::string& dir) {
  namespace fs = std::filesystem;
  size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!IsAtomicWriteTemp(name) || !it->is_regular_file(ec)) continue;
    if (fs::remove(it->path(), ec)) ++removed;
  }
  return removed;
}

Result<DirectoryLock> DirectoryLock::Acquire(const std::string& dir) {
  const std::string path = dir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::FailedPrecondition("state directory " + dir +
                                        " is in use by another citadel server (lock " + path + " is held)");
    }
    return Status::Internal("cannot lock " + path + ": " + std::strerror(err));
  }
  return DirectoryLock(fd);
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

}  // namespace citadel
