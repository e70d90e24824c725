#include <gtest/gtest.h>

#include "citadel/byte_reader.h"
#include "citadel/bytes.h"

namespace citadel {
namespace {

TEST(HexTest, RoundTripAndErrors) {
  Bytes data = {0x00, 0x7f, 0x80, 0xff};
  EXPECT_EQ(HexEncode(data), "007f80ff");
  auto back = HexDecode("007F80ff");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
  EXPECT_EQ(HexDecode("abc").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(HexDecode("zz").status().code(), Code::kInvalidArgument);
}

TEST(Base64Test, RoundTripAllLengths) {
  Bytes data;
  for (int n = 0; n < 20; ++n) {
    auto enc = Base64Encode(data);
    auto dec = Base64Decode(enc);
    ASSERT_TRUE(dec.ok()) << enc;
    EXPECT_EQ(*dec, data);
    data.push_back(static_cast<uint8_t>(n * 37 + 11));
  }
  EXPECT_EQ(Base64Encode(AsBytes("foobar")), "Zm9vYmFy");  // RFC 4648 vector
  EXPECT_FALSE(Base64Decode("Zm9=YmFy").ok());
  EXPECT_FALSE(Base64Decode("Zm9vYmF").ok());
  EXPECT_FALSE(Base64Decode("Zm9v!mFy").ok());
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  Bytes a = {1, 2, 3}, b = {1, 2, 3}, c = {1, 2, 4}, d = {1, 2};
  EXPECT_TRUE(ConstantTimeEquals(a, b));
  EXPECT_FALSE(ConstantTimeEquals(a, c));
  EXPECT_FALSE(ConstantTimeEquals(a, d));
}

TEST(ByteReaderTest, ReadsAndNeverOverruns) {
  Bytes data = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
  ByteReader r(data);
  uint16_t u16;
  ASSERT_TRUE(r.ReadU16Le(&u16));
  EXPECT_EQ(u16, 0x0201);
  uint32_t u32;
  ASSERT_TRUE(r.ReadU32Be(&u32));
  EXPECT_EQ(u32, 0x03040506u);
  uint64_t u64;
  EXPECT_FALSE(r.ReadU64Le(&u64));  // only 3 left
  EXPECT_EQ(r.remaining(), 3u);     // failed read leaves the cursor unchanged
  ByteSpan span;
  EXPECT_TRUE(r.ReadBytes(3, &span));
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.Skip(1));
}

TEST(ByteReaderTest, PrefixedBlocksRoundTripAndRejectLies) {
  ByteWriter w;
  Bytes payload = {9, 8, 7};
  ASSERT_TRUE(w.U16LePrefixed(payload));
  ByteReader r(w.bytes());
  ByteReader sub;
  ASSERT_TRUE(r.ReadU16LePrefixed(&sub));
  EXPECT_EQ(sub.remaining(), 3u);
  Bytes lying = {0xff, 0x00, 1, 2};  // claims 255 bytes, has 2
  ByteReader r2(lying);
  EXPECT_FALSE(r2.ReadU16LePrefixed(&sub));
  EXPECT_EQ(r2.remaining(), 4u);
}

}  // namespace
}  // namespace citadel
