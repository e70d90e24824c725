// /dev/sev-guest: the AMD SEV-SNP guest driver's ioctl interface
// (include/uapi/linux/sev-guest.h, Documentation/virt/coco/sevguest.rst).
// The structures are declared here with the kernel's layout (checked by
// static_assert) so the build does not depend on the installed kernel
// headers.

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "citadel/tee.h"
#include "tee_internal.h"

namespace citadel {
namespace {

struct SnpReportReq {
  uint8_t user_data[64];
  uint32_t vmpl;
  uint8_t rsvd[28];
};
struct SnpReportResp {
  uint8_t data[4000];
};
struct SnpDerivedKeyReq {
  uint32_t root_key_select;
  uint32_t rsvd;
  uint64_t guest_field_select;
  uint32_t vmpl;
  uint32_t guest_svn;
  uint64_t tcb_version;
};
struct SnpDerivedKeyResp {
  uint8_t data[64];
};
struct SnpGuestRequestIoctl {
  uint8_t msg_version;
  uint64_t req_data;
  uint64_t resp_data;
  uint64_t exitinfo2;  // low 32 bits: firmware error, high 32 bits: VMM error
};
static_assert(sizeof(SnpReportReq) == 96);
static_assert(sizeof(SnpDerivedKeyReq) == 32);
static_assert(sizeof(SnpGuestRequestIoctl) == 32);

constexpr unsigned long kSnpGetReport = _IOWR('S', 0x0, SnpGuestRequestIoctl);
constexpr unsigned long kSnpGetDerivedKey = _IOWR('S', 0x1, SnpGuestRequestIoctl);

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%x", v);
  return buf;
}

class RealSevGuestDevice final : public SevGuestDevice {
 public:
  RealSevGuestDevice(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~RealSevGuestDevice() override { ::close(fd_); }

  Result<Bytes> GetReport(const ReportData& user_data, uint32_t vmpl) override {
    SnpReportReq req{};
    std::memcpy(req.user_data, user_data.data(), user_data.size());
    req.vmpl = vmpl;
    SnpReportResp resp{};
    CITADEL_RETURN_IF_ERROR(Call(kSnpGetReport, "SNP_GET_REPORT", &req, &resp));
    return Bytes(resp.data, resp.data + sizeof(resp.data));
  }

  Result<SecretBytes> GetDerivedKey(const SnpDerivedKeyRequest& r) override {
    SnpDerivedKeyReq req{};
    req.root_key_select = r.root_key_select;
    req.guest_field_select = r.guest_field_select;
    req.vmpl = r.vmpl;
    req.guest_svn = r.guest_svn;
    req.tcb_version = r.tcb_version;
    SnpDerivedKeyResp resp{};
    Status st = Call(kSnpGetDerivedKey, "SNP_GET_DERIVED_KEY", &req, &resp);
    SecretBytes out(ByteSpan(resp.data, sizeof(resp.data)));
    SecureZero(resp.data, sizeof(resp.data));
    if (!st.ok()) return st;
    return out;
  }

 private:
  // The driver serialises requests itself; the mutex keeps our message
  // sequence simple and the error fields ours.
  Status Call(unsigned long request, const char* name, void* req, void* resp) {
    std::lock_guard<std::mutex> lock(mu_);
    SnpGuestRequestIoctl io{};
    io.msg_version = 1;
    io.req_data = reinterpret_cast<uintptr_t>(req);
    io.resp_data = reinterpret_cast<uintptr_t>(resp);
    int rc;
    do {
      rc = ::ioctl(fd_, request, &io);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
      int err = errno;
      return Status::Unavailable(std::string("sev-guest: ") + name + " on " + path_ + " failed: " +
                                 tee_internal::ErrnoText(err) + " (firmware error " +
                                 Hex32(static_cast<uint32_t>(io.exitinfo2)) + ", VMM error " +
                                 Hex32(static_cast<uint32_t>(io.exitinfo2 >> 32)) + ")");
    }
    return Status::Ok();
  }

  int fd_;
  std::string path_;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<SevGuestDevice>> OpenSevGuestDevice(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("sev-guest: " + path + " does not exist");
    return Status::FailedPrecondition("sev-guest: cannot open " + path + ": " + tee_internal::ErrnoText(err));
  }
  return std::unique_ptr<SevGuestDevice>(new RealSevGuestDevice(fd, path));
}

}  // namespace citadel
