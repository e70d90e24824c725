// Evidence input forms: binary, hex text and base64 text (the way JSON APIs,
// Azure/GCP wrappers and test sources carry quotes and reports), with or
// without a UTF-8 byte order mark. Self-contained: a generated SEV-SNP
// hierarchy signs the report.
#include <gtest/gtest.h>

#include <string>

#include "citadel/attest.h"
#include "citadel/attest/appraisal.h"
#include "citadel/attest/collateral.h"
#include "citadel/attest/intel_quote.h"
#include "citadel/attest/nvidia.h"
#include "citadel/attest/snp.h"
#include "nvidia_pki.h"
#include "snp_pki.h"

namespace citadel {
namespace {

using snptest::Pki;

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

std::string Wrap(const std::string& s, size_t width, const std::string& eol) {
  std::string out;
  for (size_t i = 0; i < s.size(); i += width) out += s.substr(i, width) + eol;
  return out;
}

std::string UrlSafeUnpadded(std::string s) {
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

class EvidenceTextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new Pki(snptest::MakeMilanPki());
    snptest::ReportSpec spec;
    spec.measurement.fill(0x3C);
    spec.report_data.fill(0xA5);
    report_ = new Bytes(snptest::MakeReport(*pki_, spec));
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete report_;
  }
  // Detects, then verifies with the generated VCEK/ASK and ARK.
  static Result<VerifiedEvidence> DetectAndVerify(const Bytes& input) {
    auto e = DetectEvidence(input);
    if (!e.ok()) return e.status();
    if (e->kind != EvidenceKind::kSevSnp) return Status::InvalidArgument("detected as another kind");
    CollateralBundle bundle;
    Status st = bundle.ImportBytes(pki_->VcekDer(), "test:vcek", "");
    if (!st.ok()) return st;
    st = bundle.ImportBytes(pki_->AskPem(), "test:ask", "");
    if (!st.ok()) return st;
    VerifyOptions o;
    o.trust_anchors = {pki_->ArkPem()};
    o.collateral = &bundle;
    return VerifyEvidence(*e, o);
  }
  static Pki* pki_;
  static Bytes* report_;
};
Pki* EvidenceTextTest::pki_ = nullptr;
Bytes* EvidenceTextTest::report_ = nullptr;

TEST_F(EvidenceTextTest, BinaryHexAndBase64FormsVerifyAlike) {
  const std::string b64 = Base64Encode(*report_);
  const std::string hex = HexEncode(*report_);
  const std::string bom = "\xEF\xBB\xBF";
  const std::pair<const char*, std::string> forms[] = {
      {"binary", std::string(report_->begin(), report_->end())},
      {"hex", hex},
      {"hex with BOM and 0x", bom + "0x" + hex + "\n"},
      {"base64", b64},
      {"base64 wrapped (PEM-like, CRLF)", Wrap(b64, 64, "\r\n")},
      {"base64 wrapped (76, LF) with BOM", bom + Wrap(b64, 76, "\n")},
      {"base64url unpadded", UrlSafeUnpadded(b64)},
  };
  for (const auto& [name, form] : forms) {
    SCOPED_TRACE(name);
    auto v = DetectAndVerify(Text(form));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->claims.at("measurement"), HexEncode(Bytes(48, 0x3C)));
    EXPECT_EQ(v->claims.at("report_data"), HexEncode(Bytes(64, 0xA5)));
  }
}

TEST_F(EvidenceTextTest, DecodersAcceptBase64) {
  auto snp = snp::DecodeSnpReportInput(Text(Wrap(Base64Encode(*report_), 64, "\n")));
  ASSERT_TRUE(snp.ok()) << snp.status().ToString();
  EXPECT_EQ(*snp, *report_);
  // Intel quotes go through the same decoder (a quote header is enough here).
  Bytes quote_start = {0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x10, 0x00};
  EXPECT_EQ(intel::DecodeQuoteInput(Text(Base64Encode(quote_start))), quote_start);
  // Text that is hex as well as base64 ("00112233..." is both) is hex.
  Bytes hexish = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
  EXPECT_EQ(intel::DecodeQuoteInput(Text(HexEncode(hexish))), hexish);
}

TEST_F(EvidenceTextTest, TextThatIsNeitherIsRefusedPrecisely) {
  const std::string b64 = Base64Encode(*report_);
  // A character outside both alphabets: not text evidence, and not binary evidence.
  auto bad_char = DetectEvidence(Text(b64.substr(0, 100) + "*" + b64.substr(100)));
  ASSERT_FALSE(bad_char.ok());
  EXPECT_NE(bad_char.status().message().find("binary, hex or base64 text"), std::string::npos)
      << bad_char.status().message();
  // Misplaced padding is not base64.
  EXPECT_FALSE(DetectEvidence(Text(b64.substr(0, 100) + "=" + b64.substr(101))).ok());
  // One base64 character too few: a length no encoder produces.
  EXPECT_FALSE(DetectEvidence(Text(b64.substr(0, 4 * 100 + 1))).ok());
  // Valid base64 of a truncated report: decoded, then refused by size.
  auto short_report = snp::DecodeSnpReportInput(Text(Base64Encode(ByteSpan(*report_).first(1000))));
  ASSERT_FALSE(short_report.ok());
  EXPECT_NE(short_report.status().message().find("got 1000"), std::string::npos)
      << short_report.status().message();
  // A flipped signed byte still fails the signature after base64 decoding.
  Bytes flipped = *report_;
  flipped[0x90] ^= 1;
  auto v = DetectAndVerify(Text(Base64Encode(flipped)));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message().rfind("snp.report_signature:", 0), 0u) << v.status().message();
}

// The NVIDIA report decoder (citadel verify --kind nvidia) takes the same
// text forms as the CPU evidence decoders.
TEST(GpuReportText, BinaryHexAndBase64DecodeToTheSameReport) {
  gputest::GpuPki pki = gputest::MakeGpuPki();
  std::array<uint8_t, 32> nonce{};
  nonce.fill(0x24);
  const Bytes report = gputest::MakeGpuReport(pki, nonce, gputest::Measurements(0x30));
  const std::string b64 = Base64Encode(report);
  for (const std::string& form : {std::string(report.begin(), report.end()), HexEncode(report), b64,
                                  Wrap(b64, 64, "\r\n"), UrlSafeUnpadded(b64)}) {
    auto decoded = nvidia::DecodeGpuReportInput(Text(form));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, report);
  }
}

}  // namespace
}  // namespace citadel
