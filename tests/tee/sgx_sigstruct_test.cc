// SIGSTRUCT parsing for `citadel measure --platform gramine`.
#include <gtest/gtest.h>

#include "citadel/tee.h"
#include "fake_tee.h"

namespace citadel {
namespace {

using namespace testing_tee;

Bytes Sigstruct(bool debug) {
  Bytes s(1808, 0);
  const Bytes h1 = *HexDecode("06000000e10000000000010000000000");
  const Bytes h2 = *HexDecode("01010000600000006000000001000000");
  Put(s, 0, h1);
  Put(s, 24, h2);
  for (size_t i = 0; i < 384; ++i) s[128 + i] = static_cast<uint8_t>(i);
  PutU64(s, 928, debug ? 0x6 : 0x4);
  Put(s, 960, M32(0xE7));
  PutU16(s, 1024, 7);
  PutU16(s, 1026, 3);
  return s;
}

TEST(SgxSigstruct, Fields) {
  Bytes s = Sigstruct(false);
  auto info = ParseSgxSigstruct(s);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->mrenclave, M32(0xE7));
  Sha256Digest signer = Sha256(ByteSpan(s).subspan(128, 384));
  EXPECT_EQ(info->mrsigner, signer);
  EXPECT_EQ(info->isv_prod_id, 7);
  EXPECT_EQ(info->isv_svn, 3);
  EXPECT_FALSE(info->debug());
  auto dbg = ParseSgxSigstruct(Sigstruct(true));
  ASSERT_TRUE(dbg.ok());
  EXPECT_TRUE(dbg->debug());
}

TEST(SgxSigstruct, Rejects) {
  Bytes s = Sigstruct(false);
  EXPECT_FALSE(ParseSgxSigstruct(Bytes(s.begin(), s.end() - 1)).ok());
  Bytes longer = s;
  longer.push_back(0);
  EXPECT_FALSE(ParseSgxSigstruct(longer).ok());
  Bytes bad = s;
  bad[4] = 0;
  EXPECT_FALSE(ParseSgxSigstruct(bad).ok());
  EXPECT_FALSE(ParseSgxSigstruct({}).ok());
}

}  // namespace
}  // namespace citadel
