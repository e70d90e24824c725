// `citadel verify` on the real attestation vectors (read from
// ../shared/testdata/attestation or $CITADEL_ATTEST_TESTDATA; skipped with a
// message when absent): verdicts, JSON output and exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../attest/corim_builder.h"
#include "citadel/attest/nvidia.h"
#include "citadel/bytes.h"

namespace {

namespace fs = std::filesystem;

std::string VectorDir() {
  if (const char* env = std::getenv("CITADEL_ATTEST_TESTDATA"); env != nullptr && *env != 0) return env;
  return std::string(CITADEL_SOURCE_DIR) + "/../shared/testdata/attestation";
}

#define REQUIRE_VECTORS()                                                                          \
  do {                                                                                             \
    if (!fs::is_directory(VectorDir())) {                                                          \
      GTEST_SKIP() << "SKIPPED: real attestation vectors not found at " << VectorDir()             \
                   << " (set CITADEL_ATTEST_TESTDATA to the shared testdata/attestation)";         \
    }                                                                                              \
  } while (0)

struct CliRun {
  int exit_code = -1;
  std::string out;
};

CliRun Verify(const std::string& args) {
  CliRun r;
  std::string cmd = std::string(CITADEL_CLI_PATH) + " verify " + args + " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string V(const std::string& rel) { return "'" + VectorDir() + "/" + rel + "'"; }

nlohmann::json Json(const CliRun& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  fs::path p = fs::temp_directory_path() / ("citadel-verify-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(p) << text;
  return p.string();
}

TEST(VerifyCli, SgxQuoteWithDcapQvlCollateral) {
  REQUIRE_VECTORS();
  const std::string base = V("sgx-dcap/phala-dcap-qvl/sgx_quote") + " --collateral " +
                           V("sgx-dcap/phala-dcap-qvl/sgx_quote_collateral.json") + " --json";
  // Default policy: authentic, but ConfigurationAndSWHardeningNeeded is not accepted.
  CliRun r = Verify(base + " --now 2025-07-01T00:00:00Z");
  EXPECT_EQ(r.exit_code, 1);
  auto j = Json(r);
  EXPECT_EQ(j["verdict"], "rejected");
  EXPECT_EQ(j["kind"], "sgx");
  EXPECT_EQ(j["tcb_status"], "ConfigurationAndSWHardeningNeeded");
  EXPECT_EQ(j["advisory_ids"], nlohmann::json::array({"INTEL-SA-00289", "INTEL-SA-00615"}));
  EXPECT_EQ(j["failed_checks"][0]["check"], "policy.tcb_status");
  // A policy accepting that status: exit 0.
  std::string policy = WriteTemp("p1.json", R"({"version":1,"accept_any_measurement":true,
      "tcb_statuses":["UpToDate","ConfigurationAndSWHardeningNeeded"]})");
  r = Verify(base + " --now 2025-07-01T00:00:00Z --policy " + policy);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)["verdict"], "accepted");
  // After the collateral's nextUpdate: expired.
  r = Verify(base + " --at 2025-07-20T00:00:00Z --policy " + policy);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Json(r)["verdict"], "expired");
  fs::remove(policy);
}

TEST(VerifyCli, TdxHexQuoteAndKinds) {
  REQUIRE_VECTORS();
  CliRun r = Verify(V("tdx/phala-dcap-qvl/tdx_quote") + " --collateral " + V("tdx/phala-dcap-qvl/tdx_quote_collateral.json") +
                 " --now 2025-07-01T00:00:00Z --json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)["verdict"], "accepted");
  r = Verify(V("tdx/phala-dcap-qvl/tdx-quote.hex") + " --kind tdx --collateral " +
             V("tdx/phala-dcap-qvl/tdx_quote_collateral.json") + " --now 2025-07-01T00:00:00Z --json");
  EXPECT_EQ(r.exit_code, 1);
  auto j = Json(r);
  EXPECT_EQ(j["verdict"], "invalid");
  EXPECT_EQ(j["failed_checks"][0]["check"], "intel.tcb_no_match");
  // Wrong --kind is refused by name.
  r = Verify(V("tdx/phala-dcap-qvl/tdx_quote") + " --kind sgx --now 2025-07-01T00:00:00Z --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Json(r)["failed_checks"][0]["check"], "evidence.kind");
}

TEST(VerifyCli, SnpWithVekAndPolicy) {
  REQUIRE_VECTORS();
  std::string policy = WriteTemp("p2.json", R"({"version":1,"accept_any_measurement":true,
      "snp":{"min_tcb":{"boot_loader":3,"snp":8,"microcode":115}}})");
  CliRun r = Verify(V("sev-snp/virtee-sev/report_milan.hex") + " --vek " + V("sev-snp/virtee-sev/vcek_milan.der") +
                 " --chain " + V("sev-snp/virtee-sev/builtin_milan_ask.pem") + " --now 2025-01-01T00:00:00Z --json --policy " +
                 policy);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto j = Json(r);
  EXPECT_EQ(j["verdict"], "accepted");
  EXPECT_EQ(j["claims"]["snp.tcb.microcode"], "115");
  r = Verify(V("sev-snp/trustee/test-report.bin") + " --vek " + V("sev-snp/trustee/test-vcek-invalid-new.der") +
             " --now 2025-01-01T00:00:00Z --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Json(r)["failed_checks"][0]["check"], "snp.vek_signature");
  // Text output names the verdict.
  r = Verify(V("sev-snp/trustee/test-report.bin") + " --vek " + V("sev-snp/trustee/test-vcek-invalid-new.der") +
             " --now 2025-01-01T00:00:00Z");
  EXPECT_NE(r.out.find("verdict: INVALID"), std::string::npos) << r.out;
  fs::remove(policy);
}

// DER of the first certificate in a PEM file.
std::string PemToDer(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), b64;
  size_t begin = text.find("-----BEGIN CERTIFICATE-----");
  size_t end = text.find("-----END CERTIFICATE-----");
  EXPECT_NE(begin, std::string::npos) << path;
  for (size_t i = text.find('\n', begin) + 1; i < end; ++i) {
    if (!std::isspace(static_cast<unsigned char>(text[i]))) b64.push_back(text[i]);
  }
  auto der = citadel::Base64Decode(b64);
  EXPECT_TRUE(der.ok()) << path;
  return der.ok() ? std::string(der->begin(), der->end()) : "";
}

void PutLe32(std::string& s, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

TEST(VerifyCli, SnpCertificateTableAsCollateral) {
  REQUIRE_VECTORS();
  // What a host hands out with an extended report (configfs-tsm auxblob):
  // the real VCEK and ASK in a GUID table, zero-padded to a page.
  std::ifstream vf(VectorDir() + "/sev-snp/virtee-sev/vcek_milan.der", std::ios::binary);
  std::string vcek((std::istreambuf_iterator<char>(vf)), std::istreambuf_iterator<char>());
  std::string ask = PemToDer(VectorDir() + "/sev-snp/virtee-sev/builtin_milan_ask.pem");
  const std::string guids[2] = {"\x63\xda\x75\x8d\xe6\x64\x45\x64\xad\xc5\xf4\xb9\x3b\xe8\xac\xcd",
                                "\x4a\xb7\xb3\x79\xbb\xac\x4f\xe4\xa0\x2f\x05\xae\xf3\x27\xc7\x82"};
  std::string table(3 * 24, '\0');
  const std::string* certs[2] = {&vcek, &ask};
  uint32_t off = 3 * 24;
  for (int i = 0; i < 2; ++i) {
    table.replace(i * 24, 16, guids[i]);
    PutLe32(table, i * 24 + 16, off);
    PutLe32(table, i * 24 + 20, static_cast<uint32_t>(certs[i]->size()));
    off += static_cast<uint32_t>(certs[i]->size());
  }
  table += vcek + ask;
  table.resize(4096, '\0');
  fs::path p = fs::temp_directory_path() / ("citadel-verify-" + std::to_string(::getpid()) + "-auxblob.bin");
  std::ofstream(p, std::ios::binary) << table;
  CliRun r = Verify(V("sev-snp/virtee-sev/report_milan.hex") + " --collateral '" + p.string() +
                    "' --now 2025-01-01T00:00:00Z --json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto j = Json(r);
  EXPECT_EQ(j["verdict"], "accepted");
  EXPECT_EQ(j["claims"]["snp.vek_source"], "collateral");
  // A truncated table is refused as a collateral file (exit 1, nothing verified).
  table.resize(3 * 24 + 100);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << table;
  r = Verify(V("sev-snp/virtee-sev/report_milan.hex") + " --collateral '" + p.string() +
             "' --now 2025-01-01T00:00:00Z --json");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  fs::remove(p);
}

TEST(VerifyCli, NvidiaChainsAndBundleExport) {
  REQUIRE_VECTORS();
  std::string policy = WriteTemp("p3.json", R"({"version":1,"accept_any_measurement":true,"nvidia":{"require_nonce":false}})");
  std::string bundle = (fs::temp_directory_path() / ("citadel-verify-bundle-" + std::to_string(::getpid()) + ".json")).string();
  CliRun r = Verify(V("nvidia-gpu/trustee/hopperAttestationReport.txt") + " --chain " +
                 V("nvidia-gpu/trustee/hopper_cert_chain_case1.txt") + " --json --policy " + policy +
                 " --write-bundle " + bundle);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)["claims"]["nvidia.fwid"],
            "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d");
  // The exported bundle works as --collateral.
  r = Verify(V("nvidia-gpu/trustee/hopperAttestationReport.txt") + " --collateral " + bundle + " --json --policy " + policy);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Verify(V("nvidia-gpu/trustee/hopperAttestationReport.txt") + " --chain " +
             V("nvidia-gpu/trustee/hopper_cert_chain_case3.txt") + " --json --policy " + policy);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Json(r)["verdict"], "invalid");
  fs::remove(policy);
  fs::remove(bundle);
}

// Reference measurements from a signed CoRIM named by the policy file: a
// generated CoRIM PKI signs a RIM holding the hopper report's 26 active
// measurements; --root gives both the NVIDIA device root and the test
// CoRIM root.
TEST(VerifyCli, NvidiaRimFromThePolicy) {
  REQUIRE_VECTORS();
  using namespace citadel::rimtest;  // NOLINT
  std::ifstream in(VectorDir() + "/nvidia-gpu/trustee/hopperAttestationReport.txt", std::ios::binary);
  citadel::Bytes raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto report = citadel::nvidia::ParseGpuReport(*citadel::nvidia::DecodeGpuReportInput(raw));
  ASSERT_TRUE(report.ok()) << report.status().message();
  RimPki pki = MakeRimPki();
  RimSpec spec;
  for (const auto& b : report->blocks) {
    if (std::any_of(b.value.begin(), b.value.end(), [](uint8_t c) { return c != 0; })) spec.refs[b.index] = {b.value};
  }
  auto write_bytes = [](const std::string& name, const citadel::Bytes& b) {
    return WriteTemp(name, std::string(b.begin(), b.end()));
  };
  const std::string rim = write_bytes("hopper.corim", SignedCorim(pki, spec));
  spec.refs.begin()->second = {citadel::Bytes(48, 0xab)};
  const std::string bad_rim = write_bytes("hopper-bad.corim", SignedCorim(pki, spec));
  const std::string root = write_bytes("corim-root.pem", pki.RootPem());
  auto policy_for = [](const std::string& name, const std::string& rim_path) {
    return WriteTemp(name, R"({"version":1,"nvidia":{"require_nonce":false,"rim_file":")" + rim_path + R"("}})");
  };
  const std::string policy = policy_for("rim-policy.json", rim);
  const std::string bad_policy = policy_for("rim-bad-policy.json", bad_rim);
  const std::string base = V("nvidia-gpu/trustee/hopperAttestationReport.txt") + " --chain " +
                           V("nvidia-gpu/trustee/hopper_cert_chain_case1.txt") +
                           " --at 2025-01-01T00:00:00Z --json --root " + V("roots/nvidia_device_identity_ca.pem");
  CliRun r = Verify(base + " --root " + root + " --policy " + policy);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto j = Json(r);
  EXPECT_EQ(j["verdict"], "accepted");
  EXPECT_EQ(j["claims"]["nvidia.rim"], "verified");
  r = Verify(base + " --root " + root + " --policy " + bad_policy);
  EXPECT_EQ(r.exit_code, 1);
  j = Json(r);
  EXPECT_EQ(j["verdict"], "rejected");
  EXPECT_EQ(j["failed_checks"][0]["check"], "policy.nvidia.rim_measurement") << r.out;
  // Without the CoRIM root the RIM is not trusted.
  r = Verify(base + " --policy " + policy);
  EXPECT_EQ(r.exit_code, 1);
  j = Json(r);
  EXPECT_EQ(j["verdict"], "invalid");
  EXPECT_EQ(j["failed_checks"][0]["check"], "nvidia.rim_untrusted_root") << r.out;
  for (const auto& f : {rim, bad_rim, root, policy, bad_policy}) fs::remove(f);
}

TEST(VerifyCli, UsageErrors) {
  CliRun r = Verify("/nonexistent/evidence");
  EXPECT_NE(r.exit_code, 0);
  std::string junk = WriteTemp("junk.bin", "not evidence at all");
  r = Verify(junk);
  EXPECT_EQ(r.exit_code, 1);
  fs::remove(junk);
}

}  // namespace
