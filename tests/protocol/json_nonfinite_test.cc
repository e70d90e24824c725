// Regression (found by fuzz/infer_request_fuzzer): non-finite floats were
// encoded as JSON null, which the decoder refuses, so a response holding a
// NaN or an infinity (or an FP16 input that overflows) could not be read
// back. They now travel as "NaN" / "-NaN" / "Infinity" / "-Infinity".
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "citadel/protocol.h"

namespace citadel {
namespace {

TEST(JsonNonFinite, FloatTensorsRoundTripThroughJsonText) {
  for (DType dtype : {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kBFloat16}) {
    // Write the values through the JSON decoder itself (it knows every dtype).
    nlohmann::json in = {{"name", "x"}, {"datatype", std::string(DTypeKServeName(dtype))}, {"shape", {5}},
                         {"data", {1.5, "Infinity", "-Infinity", "NaN", "-NaN"}}};
    auto parsed = TensorFromJson(in, "inputs[0]");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    auto text = TensorToJson(*parsed).dump();
    auto again = TensorFromJson(nlohmann::json::parse(text), "outputs[0]");
    ASSERT_TRUE(again.ok()) << text << ": " << again.status().ToString();
    ASSERT_EQ(again->tensor.byte_size(), parsed->tensor.byte_size());
    EXPECT_EQ(std::memcmp(again->tensor.raw_data(), parsed->tensor.raw_data(), parsed->tensor.byte_size()), 0)
        << DTypeKServeName(dtype) << ": " << text;
  }
}

TEST(JsonNonFinite, Fp16OverflowBecomesInfinityAndStaysReadable) {
  nlohmann::json in = {{"name", "x"}, {"datatype", "FP16"}, {"shape", {1}}, {"data", {4e10}}};
  auto parsed = TensorFromJson(in, "inputs[0]");
  ASSERT_TRUE(parsed.ok());
  auto text = TensorToJson(*parsed).dump();
  EXPECT_NE(text.find("\"Infinity\""), std::string::npos) << text;
  EXPECT_TRUE(TensorFromJson(nlohmann::json::parse(text), "outputs[0]").ok()) << text;
}

TEST(JsonNonFinite, OtherStringsAreStillRefusedForNumbers) {
  nlohmann::json in = {{"name", "x"}, {"datatype", "FP32"}, {"shape", {1}}, {"data", {"nan"}}};
  EXPECT_FALSE(TensorFromJson(in, "inputs[0]").ok());
  nlohmann::json i32 = {{"name", "x"}, {"datatype", "INT32"}, {"shape", {1}}, {"data", {"NaN"}}};
  EXPECT_FALSE(TensorFromJson(i32, "inputs[0]").ok());
}

}  // namespace
}  // namespace citadel
