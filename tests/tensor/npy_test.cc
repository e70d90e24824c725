#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "citadel/npy.h"

namespace citadel {
namespace {

TEST(NpyTest, RoundTripKeepsDtypeShapeAndData) {
  std::vector<int64_t> values = {1, -2, 3, 1LL << 40, 5, 6};
  auto t = Tensor::FromVector(DType::kInt64, {2, 3}, values);
  ASSERT_TRUE(t.ok());
  auto bytes = WriteNpy(*t);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ((bytes->size() - t->byte_size()) % 64, 0u);  // header is 64-aligned
  auto back = ReadNpy(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->dtype(), DType::kInt64);
  EXPECT_EQ(back->shape(), (Shape{2, 3}));
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(back->data<int64_t>()[i], values[i]);
}

TEST(NpyTest, ScalarAndOneDimensionalShapes) {
  for (Shape s : {Shape{}, Shape{4}}) {
    auto t = Tensor::Zeros(DType::kFloat32, s);
    ASSERT_TRUE(t.ok());
    auto back = ReadNpy(*WriteNpy(*t));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->shape(), s);
  }
}

TEST(NpyTest, ReadsNumpyWrittenHeader) {
  // Header exactly as numpy 1.24 writes np.arange(3, dtype='<f4').
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  header.append(128 - 10 - header.size() - 1, ' ');  // numpy pads to 64-byte multiples
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(header.size());
  file += '\0';
  file += header;
  float data[3] = {0.f, 1.f, 2.f};
  file.append(reinterpret_cast<const char*>(data), sizeof data);
  auto t = ReadNpy(AsBytes(file));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape(), (Shape{3}));
  EXPECT_EQ(t->data<float>()[2], 2.f);
}

TEST(NpyTest, RejectsHostileFiles) {
  auto good = *WriteNpy(*Tensor::Zeros(DType::kFloat32, {2, 2}));
  // Every truncation fails cleanly.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ReadNpy(ByteSpan(good.data(), n)).ok()) << n;
  }
  // Extra trailing data is rejected.
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_FALSE(ReadNpy(longer).ok());
  // A huge declared shape is refused before allocation.
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000,), }\n";
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(h.size());
  file += '\0';
  file += h;
  auto r = ReadNpy(AsBytes(file));
  EXPECT_FALSE(r.ok());
  // Fortran order and object arrays are refused with a clear reason.
  std::string f = "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }\n";
  std::string ff = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(f.size()) + '\0' + f + std::string(4, '\0');
  EXPECT_EQ(ReadNpy(AsBytes(ff)).status().code(), Code::kUnsupported);
  std::string o = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n";
  std::string oo = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(o.size()) + '\0' + o + std::string(8, '\0');
  EXPECT_EQ(ReadNpy(AsBytes(oo)).status().code(), Code::kUnsupported);
}

TEST(TensorTest, ZerosRejectsHugeOrNegativeShapes) {
  EXPECT_EQ(Tensor::Zeros(DType::kFloat32, {-1, 3}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Tensor::Zeros(DType::kFloat32, {1LL << 40, 1LL << 40}).status().code(), Code::kResourceExhausted);
  auto t = Tensor::Zeros(DType::kFloat32, {0, 5});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->num_elements(), 0u);
}

TEST(TensorTest, HalfConversionRoundTripsRepresentableValues) {
  for (float f : {0.f, 1.f, -2.5f, 65504.f, 6.103515625e-05f, 5.960464477539063e-08f}) {
    EXPECT_EQ(HalfToFloat(FloatToHalf(f)), f) << f;
  }
  EXPECT_TRUE(std::isinf(HalfToFloat(FloatToHalf(1e6f))));
  EXPECT_EQ(BFloat16ToFloat(FloatToBFloat16(1.5f)), 1.5f);
}

}  // namespace
}  // namespace citadel
