// The simulation platform: runs the whole attestation and sealing flow on a
// machine without TEE hardware. It PROTECTS NOTHING: the "hardware" signing
// key and the sealing root secret are ordinary files readable by anyone with
// the service account (or root). Clients refuse its evidence unless their
// policy says allow_simulation.
//
// State directory (mode 0700, created on first start):
//   sim-hardware-key.p8   P-384 private key, PKCS#8 DER, mode 0600
//   sim-root-secret.bin   32 random bytes, mode 0600
// Both are created together on first start and reused afterwards. If only one
// exists, or either has loose permissions, a wrong owner, or bad contents, the
// platform refuses to start: silently regenerating would lose every sealed
// file and change the evidence signer.
//
// Sealing keys: HKDF-SHA256(ikm = root secret, salt = measurement,
// info = "citadel/seal/v1/" || purpose). Because the measurement covers the
// binary and the configuration, a new build or a changed configuration gets
// different sealing keys, exactly as on real TEEs (MRENCLAVE-style sealing):
// data sealed by the old binary/config cannot be opened by the new one.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "citadel/crypto.h"
#include "citadel/evidence.h"
#include "citadel/tee.h"

namespace citadel {
namespace {

constexpr char kKeyFile[] = "sim-hardware-key.p8";
constexpr char kRootFile[] = "sim-root-secret.bin";
constexpr size_t kRootSecretLen = 32;
constexpr size_t kMaxKeyFileLen = 4096;
constexpr std::string_view kMeasurementDomain = "citadel/sim-measurement/v1";
constexpr std::string_view kSealInfoPrefix = "citadel/seal/v1/";

std::string Errno() { return std::strerror(errno); }

std::string ModeString(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

// Creates the state directory with 0700, or checks an existing one.
Status PrepareStateDir(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("sim platform: state_dir is empty");
  if (::mkdir(dir.c_str(), 0700) == 0) {
    // mkdir's mode is filtered by the umask; make it exact.
    if (::chmod(dir.c_str(), 0700) != 0) {
      return Status::Internal("sim platform: chmod " + dir + ": " + Errno());
    }
  } else if (errno != EEXIST) {
    return Status::FailedPrecondition("sim platform: cannot create state directory " + dir +
                                      ": " + Errno());
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return Status::FailedPrecondition("sim platform: cannot stat " + dir + ": " + Errno());
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition("sim platform: state path " + dir + " is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return Status::FailedPrecondition("sim platform: state directory " + dir +
                                      " is owned by another user; refusing to use it");
  }
  if ((st.st_mode & 077) != 0) {
    return Status::FailedPrecondition("sim platform: state directory " + dir + " has mode " +
                                      ModeString(st.st_mode) + ", expected 0700 (chmod 700 " +
                                      dir + ")");
  }
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Reads a secret file, insisting on a regular file (no symlink), our owner,
// and no group/other permission bits. Checks are on the opened descriptor so
// the file cannot be swapped between check and read.
Result<SecretBytes> ReadSecretFile(const std::string& path, size_t max_len) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    return Status::FailedPrecondition("sim platform: cannot open " + path + ": " + Errno());
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return Status::FailedPrecondition("sim platform: cannot stat " + path + ": " + Errno());
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::FailedPrecondition("sim platform: " + path + " is not a regular file");
  }
  if (st.st_uid != ::geteuid()) {
    return Status::FailedPrecondition("sim platform: " + path +
                                      " is owned by another user; refusing to use it");
  }
  if ((st.st_mode & 077) != 0) {
    return Status::FailedPrecondition("sim platform: " + path + " has mode " +
                                      ModeString(st.st_mode) + ", expected 0600 (chmod 600 " +
                                      path + ")");
  }
  if (st.st_size < 0 || static_cast<size_t>(st.st_size) > max_len) {
    return Status::DataLoss("sim platform: " + path + " is corrupt (unexpected size)");
  }
  SecretBytes out(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::DataLoss("sim platform: cannot read " + path + ": " + Errno());
    done += static_cast<size_t>(n);
  }
  return out;
}

// Writes a new secret file with mode 0600. Never replaces an existing file:
// writes a temporary, fsyncs, then link()s it into place (fails if the name
// exists, e.g. another process won a race) and syncs the directory.
Status CreateSecretFile(const std::string& dir, const std::string& name, ByteSpan data) {
  std::string path = dir + "/" + name;
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return Status::Internal("sim platform: cannot create " + tmp + ": " + Errno());
  }
  Status st;
  if (::fchmod(fd.get(), 0600) != 0) st = Status::Internal("sim platform: fchmod: " + Errno());
  size_t done = 0;
  while (st.ok() && done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      st = Status::Internal("sim platform: cannot write " + tmp + ": " + Errno());
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (st.ok() && ::fsync(fd.get()) != 0) {
    st = Status::Internal("sim platform: fsync " + tmp + ": " + Errno());
  }
  ::close(fd.release());
  if (st.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    st = Status::FailedPrecondition("sim platform: cannot create " + path + ": " + Errno());
  }
  ::unlink(tmp.c_str());
  if (!st.ok()) return st;
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) ::fsync(dfd.get());
  return Status::Ok();
}

Status HashFileInto(const std::string& path, Hasher& hasher) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return Status::NotFound("measurement: cannot open " + path + ": " + Errno());
  }
  Bytes buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Internal("measurement: cannot read " + path + ": " + Errno());
    if (n == 0) break;
    hasher.Update(ByteSpan(buf.data(), static_cast<size_t>(n)));
  }
  return Status::Ok();
}

class SimPlatform final : public Platform {
 public:
  SimPlatform(EvpPkeyPtr key, Bytes spki, SecretBytes root, Sha384Digest measurement)
      : key_(std::move(key)),
        spki_(std::move(spki)),
        root_(std::move(root)),
        measurement_(measurement) {}

  std::string_view name() const override { return "sim"; }
  bool is_simulation() const override { return true; }
  Bytes measurement() const override { return Bytes(measurement_.begin(), measurement_.end()); }

  std::string Describe() const override {
    return "SIMULATION platform (no TEE hardware: protects nothing) measurement=" +
           HexEncode(measurement_) + " signer=" + HexEncode(Sha256(spki_));
  }

  Result<Evidence> GetEvidence(const ReportData& report_data) override {
    SimEvidenceBody body;
    body.flags = kSimFlagSimulation;
    body.measurement = measurement_;
    body.report_data = report_data;
    body.timestamp = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    body.signer_spki_der = spki_;
    CITADEL_ASSIGN_OR_RETURN(Bytes signed_part, SimEvidenceSignedPart(body));
    CITADEL_ASSIGN_OR_RETURN(Bytes sig, SignDigestMessage(key_.get(), "SHA384", signed_part));
    CITADEL_ASSIGN_OR_RETURN(Bytes bytes, FinishSimEvidence(signed_part, sig));
    return Evidence{EvidenceKind::kSim, std::move(bytes)};
  }

  Result<SecretBytes> SealingKey(std::string_view purpose) override {
    if (purpose.empty()) return Status::InvalidArgument("sealing key purpose is empty");
    std::string info(kSealInfoPrefix);
    info.append(purpose);
    return HkdfSha256(root_.span(), measurement_, AsBytes(info), 32);
  }

 private:
  EvpPkeyPtr key_;
  Bytes spki_;
  SecretBytes root_;
  Sha384Digest measurement_;
};

// First start: create both files. Later: both must exist.
Status EnsureStateFiles(const std::string& dir) {
  std::string key_path = dir + "/" + kKeyFile;
  std::string root_path = dir + "/" + kRootFile;
  bool have_key = FileExists(key_path);
  bool have_root = FileExists(root_path);
  if (have_key && have_root) return Status::Ok();
  if (have_key != have_root) {
    return Status::FailedPrecondition(
        "sim platform: state directory " + dir + " is incomplete (" +
        (have_key ? root_path : key_path) +
        " is missing); refusing to regenerate, which would lose all sealed data. "
        "Restore the file, or delete the directory to start over");
  }
  CITADEL_ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateEcKey(Curve::kP384));
  CITADEL_ASSIGN_OR_RETURN(SecretBytes p8, PrivateKeyPkcs8Der(key.get()));
  SecretBytes root(kRootSecretLen);
  CITADEL_RETURN_IF_ERROR(RandomBytes(std::span<uint8_t>(root.data(), root.size())));
  // A crash between the two leaves a state the next start reports as
  // incomplete: the operator gets a clear message, never silent regeneration.
  CITADEL_RETURN_IF_ERROR(CreateSecretFile(dir, kRootFile, root.span()));
  CITADEL_RETURN_IF_ERROR(CreateSecretFile(dir, kKeyFile, p8.span()));
  return Status::Ok();
}

Result<EvpPkeyPtr> LoadHardwareKey(const std::string& path) {
  CITADEL_ASSIGN_OR_RETURN(SecretBytes der, ReadSecretFile(path, kMaxKeyFileLen));
  auto key = ParsePrivateKeyPkcs8Der(der.span());
  if (!key.ok()) {
    return Status::DataLoss("sim platform: " + path +
                            " is corrupt (not a PKCS#8 private key); restore it, or delete the "
                            "state directory to start over (sealed data will be lost)");
  }
  if (EVP_PKEY_is_a(key->get(), "EC") != 1 || EVP_PKEY_get_bits(key->get()) != 384) {
    return Status::DataLoss("sim platform: " + path + " is corrupt (not a P-384 key)");
  }
  return std::move(key).value();
}

}  // namespace

Result<Sha384Digest> ComputeSimMeasurement(const std::string& binary_path, ByteSpan config_bytes) {
  std::string path = binary_path.empty() ? "/proc/self/exe" : binary_path;
  Hasher binary_hash(Hasher::Algo::kSha384);
  CITADEL_RETURN_IF_ERROR(HashFileInto(path, binary_hash));
  Bytes binary_digest = binary_hash.Finish();
  Sha384Digest config_digest = Sha384(config_bytes);

  Hasher h(Hasher::Algo::kSha384);
  h.Update(AsBytes(kMeasurementDomain));
  h.Update(binary_digest);
  h.Update(config_digest);
  Bytes m = h.Finish();
  Sha384Digest out{};
  std::copy(m.begin(), m.end(), out.begin());
  return out;
}

Result<std::unique_ptr<Platform>> OpenSimPlatform(const SimPlatformOptions& options) {
  const std::string& dir = options.state_dir;
  CITADEL_RETURN_IF_ERROR(PrepareStateDir(dir));
  CITADEL_RETURN_IF_ERROR(EnsureStateFiles(dir));

  CITADEL_ASSIGN_OR_RETURN(EvpPkeyPtr key, LoadHardwareKey(dir + "/" + kKeyFile));
  std::string root_path = dir + "/" + kRootFile;
  CITADEL_ASSIGN_OR_RETURN(SecretBytes root, ReadSecretFile(root_path, kRootSecretLen));
  if (root.size() != kRootSecretLen) {
    return Status::DataLoss("sim platform: " + root_path +
                            " is corrupt (expected 32 bytes); restore it, or delete the state "
                            "directory to start over (sealed data will be lost)");
  }
  CITADEL_ASSIGN_OR_RETURN(Bytes spki, PublicKeySpkiDer(key.get()));
  CITADEL_ASSIGN_OR_RETURN(Sha384Digest measurement,
                           ComputeSimMeasurement(options.binary_path, options.config_bytes));
  return std::unique_ptr<Platform>(
      new SimPlatform(std::move(key), std::move(spki), std::move(root), measurement));
}

}  // namespace citadel
