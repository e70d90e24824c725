// Client policy: strict parsing and evaluation.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "citadel/attest.h"

namespace citadel {
namespace {

const std::string kM48(96, 'a');  // 48-byte measurement in hex
const std::string kM32(64, 'b');
const std::string kSigner(64, 'c');

std::string PolicyJson(const std::string& body) { return "{\"version\": 1" + body + "}"; }

Status ParseError(const std::string& json) {
  auto p = Policy::FromJson(json);
  EXPECT_FALSE(p.ok()) << json;
  return p.ok() ? Status::Ok() : p.status();
}

void ExpectParseError(const std::string& json, const std::string& fragment) {
  Status st = ParseError(json);
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << json;
  EXPECT_NE(st.message().find(fragment), std::string::npos)
      << "message \"" << st.message() << "\" lacks \"" << fragment << "\"";
}

VerifiedEvidence SimEvidenceWith(const Bytes& measurement, const std::string& signer_hex) {
  VerifiedEvidence v;
  v.kind = EvidenceKind::kSim;
  v.simulation = true;
  v.measurement = measurement;
  v.claims["signer"] = signer_hex;
  return v;
}

Bytes Decode(const std::string& hex) { return *HexDecode(hex); }

TEST(PolicyParseTest, FullPolicy) {
  auto p = Policy::FromJson(PolicyJson(", \"allow_simulation\": true, \"measurements\": [\"" +
                                       kM48 + "\", \"" + kM32 + "\"], \"sim_signer_keys\": [\"" +
                                       kSigner + "\"]"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->allow_simulation);
  EXPECT_FALSE(p->accept_any_measurement);
  ASSERT_EQ(p->measurements.size(), 2u);
  EXPECT_EQ(p->measurements[0].size(), 48u);
  EXPECT_EQ(p->measurements[1].size(), 32u);
  ASSERT_EQ(p->sim_signer_keys.size(), 1u);
}

TEST(PolicyParseTest, DefaultsAreStrict) {
  auto p = Policy::FromJson(PolicyJson(", \"measurements\": [\"" + kM48 + "\"]"));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->allow_simulation);
  EXPECT_FALSE(p->accept_any_measurement);
  EXPECT_TRUE(p->sim_signer_keys.empty());
}

TEST(PolicyParseTest, AcceptAnyMeasurement) {
  auto p = Policy::FromJson(PolicyJson(", \"accept_any_measurement\": true"));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->accept_any_measurement);
}

TEST(PolicyParseTest, PreciseErrors) {
  ExpectParseError("{", "not valid JSON");
  ExpectParseError("[]", "JSON object");
  ExpectParseError(PolicyJson(", \"measurement\": []"), "unknown key \"measurement\"");
  ExpectParseError(PolicyJson(", \"allow_simulation\": \"yes\""), "\"allow_simulation\" must be");
  ExpectParseError(PolicyJson(", \"measurements\": \"" + kM48 + "\""),
                   "\"measurements\" must be an array");
  ExpectParseError(PolicyJson(", \"measurements\": [\"" + kM48 + "\", \"zz\"]"),
                   "measurements[1] is not valid hex");
  ExpectParseError(PolicyJson(", \"measurements\": [\"abc\"]"), "measurements[0] is not valid hex");
  ExpectParseError(PolicyJson(", \"measurements\": [\"" + std::string(40, 'a') + "\"]"),
                   "measurements[0] must be 32, 48 or 64 bytes, got 20");
  ExpectParseError(PolicyJson(", \"measurements\": [42]"), "measurements[0] must be a hex string");
  ExpectParseError(PolicyJson(""), "at least one entry in \"measurements\"");
  ExpectParseError(PolicyJson(", \"measurements\": []"), "at least one entry in \"measurements\"");
  ExpectParseError(PolicyJson(", \"accept_any_measurement\": true, \"measurements\": [\"" + kM48 +
                              "\"]"),
                   "remove one");
  ExpectParseError(PolicyJson(", \"accept_any_measurement\": true, \"sim_signer_keys\": [\"" +
                              kM48 + "\"]"),
                   "sim_signer_keys[0] must be 32 bytes, got 48");
  ExpectParseError("{\"measurements\": [\"" + kM48 + "\"]}", "\"version\" is required");
  ExpectParseError("{\"version\": 2, \"accept_any_measurement\": true}", "unsupported \"version\"");
  ExpectParseError("{\"version\": 1, \"accept_any_measurement\": true, "
                   "\"allow_simulation\": false, \"allow_simulation\": true}",
                   "duplicate key \"allow_simulation\"");
}

TEST(PolicyParseTest, LoadFile) {
  auto dir = std::filesystem::temp_directory_path();
  std::string path = (dir / ("citadel-policy-test-" + std::to_string(::getpid()) + ".json")).string();
  {
    std::ofstream f(path);
    f << PolicyJson(", \"measurements\": [\"" + kM48 + "\"]");
  }
  auto p = Policy::LoadFile(path);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  {
    std::ofstream f(path);
    f << PolicyJson(", \"bogus\": 1");
  }
  p = Policy::LoadFile(path);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find(path), std::string::npos);
  EXPECT_NE(p.status().message().find("bogus"), std::string::npos);
  std::remove(path.c_str());
  EXPECT_FALSE(Policy::LoadFile(path).ok());
}

TEST(CheckPolicyTest, SimulationRefusedUnlessAllowed) {
  Policy p;
  p.measurements = {Decode(kM48)};
  VerifiedEvidence v = SimEvidenceWith(Decode(kM48), kSigner);
  Status st = CheckPolicy(v, p);
  EXPECT_EQ(st.code(), Code::kPolicyRejected);
  EXPECT_NE(st.message().find("SIMULATION"), std::string::npos);
  EXPECT_NE(st.message().find("allow_simulation"), std::string::npos);

  // Kind sim counts as simulation even if the flag was cleared.
  v.simulation = false;
  EXPECT_EQ(CheckPolicy(v, p).code(), Code::kPolicyRejected);

  p.allow_simulation = true;
  EXPECT_TRUE(CheckPolicy(v, p).ok());
}

TEST(CheckPolicyTest, WrongMeasurementRefused) {
  Policy p;
  p.allow_simulation = true;
  p.measurements = {Decode(kM48)};
  Bytes other = Decode(kM48);
  other[47] ^= 1;
  Status st = CheckPolicy(SimEvidenceWith(other, kSigner), p);
  EXPECT_EQ(st.code(), Code::kPolicyRejected);
  EXPECT_NE(st.message().find("not in the policy"), std::string::npos);
  // A prefix of an accepted measurement is not accepted.
  EXPECT_FALSE(CheckPolicy(SimEvidenceWith(Bytes(other.begin(), other.begin() + 32), kSigner), p).ok());
  EXPECT_FALSE(CheckPolicy(SimEvidenceWith({}, kSigner), p).ok());

  p.measurements.push_back(other);
  EXPECT_TRUE(CheckPolicy(SimEvidenceWith(other, kSigner), p).ok());

  Policy any;
  any.allow_simulation = true;
  any.accept_any_measurement = true;
  EXPECT_TRUE(CheckPolicy(SimEvidenceWith(Decode(kM32), kSigner), any).ok());
}

TEST(CheckPolicyTest, SignerPin) {
  Policy p;
  p.allow_simulation = true;
  p.accept_any_measurement = true;
  p.sim_signer_keys = {Decode(kSigner)};
  EXPECT_TRUE(CheckPolicy(SimEvidenceWith(Decode(kM48), kSigner), p).ok());
  Status st = CheckPolicy(SimEvidenceWith(Decode(kM48), std::string(64, 'd')), p);
  EXPECT_EQ(st.code(), Code::kPolicyRejected);
  EXPECT_NE(st.message().find("sim_signer_keys"), std::string::npos);
  VerifiedEvidence no_signer = SimEvidenceWith(Decode(kM48), kSigner);
  no_signer.claims.clear();
  EXPECT_EQ(CheckPolicy(no_signer, p).code(), Code::kPolicyRejected);
}

}  // namespace
}  // namespace citadel
