#include <gtest/gtest.h>

#include "citadel/protocol.h"

namespace citadel {
namespace {

using nlohmann::json;

TEST(JsonTensorTest, RoundTripKeepsIntegerAndBoolTypes) {
  TensorList list;
  list.push_back({"ids", *Tensor::FromVector<int64_t>(DType::kInt64, {3}, {1, -5, int64_t{1} << 53})});
  list.push_back({"mask", *Tensor::FromVector<uint8_t>(DType::kBool, {2}, {1, 0})});
  list.push_back({"x", *Tensor::FromVector<float>(DType::kFloat32, {1, 2}, {0.1f, -3.5f})});
  auto back = TensorListFromJson(json::parse(TensorListToJson(list).dump()), "outputs");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].tensor.dtype(), DType::kInt64);
  EXPECT_EQ((*back)[0].tensor.data<int64_t>()[2], int64_t{1} << 53);
  EXPECT_EQ((*back)[1].tensor.dtype(), DType::kBool);
  EXPECT_EQ((*back)[1].tensor.data<uint8_t>()[0], 1);
  EXPECT_EQ((*back)[2].tensor.data<float>()[0], 0.1f);  // float -> JSON double -> float is exact
  EXPECT_EQ((*back)[2].tensor.shape(), (Shape{1, 2}));
}

TEST(JsonTensorTest, AcceptsNestedData) {
  auto t = TensorFromJson(json::parse(R"({"name":"a","shape":[2,2],"datatype":"INT32","data":[[1,2],[3,4]]})"), "inputs[0]");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->tensor.data<int32_t>()[3], 4);
}

TEST(JsonTensorTest, RejectsWithPreciseMessages) {
  struct Case { const char* json; const char* mention; };
  const Case cases[] = {
      {R"({"name":"a","shape":[2],"datatype":"INT8","data":[1,300]})", "out of range"},
      {R"({"name":"a","shape":[1],"datatype":"UINT8","data":[-1]})", "negative"},
      {R"({"name":"a","shape":[1],"datatype":"INT32","data":[1.5]})", "integer"},
      {R"({"name":"a","shape":[1],"datatype":"BOOL","data":[1]})", "true or false"},
      {R"({"name":"a","shape":[3],"datatype":"FP32","data":[1,2]})", "needs 3"},
      {R"({"name":"a","shape":[1],"datatype":"FP32","data":[1,2]})", "more elements"},
      {R"({"name":"","shape":[1],"datatype":"FP32","data":[1]})", "name"},
      {R"({"name":"a","shape":[1],"datatype":"FP32","data":[1],"extra":0})", "extra"},
  };
  for (const auto& c : cases) {
    auto t = TensorFromJson(json::parse(c.json), "inputs[0]");
    ASSERT_FALSE(t.ok()) << c.json;
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument) << c.json;
    EXPECT_NE(t.status().message().find(c.mention), std::string::npos) << t.status().message();
    EXPECT_NE(t.status().message().find("inputs[0]"), std::string::npos) << t.status().message();
  }
}

TEST(JsonTensorTest, DuplicateNamesAndTooManyTensorsRejected) {
  auto dup = TensorListFromJson(json::parse(R"([{"name":"a","shape":[1],"datatype":"FP32","data":[1]},
                                                {"name":"a","shape":[1],"datatype":"FP32","data":[1]}])"), "inputs");
  EXPECT_FALSE(dup.ok());
  TensorLimits limits;
  limits.max_tensors = 1;
  auto many = TensorListFromJson(json::parse(R"([{"name":"a","shape":[1],"datatype":"FP32","data":[1]},
                                                 {"name":"b","shape":[1],"datatype":"FP32","data":[1]}])"), "inputs", limits);
  EXPECT_FALSE(many.ok());
}

TEST(ErrorBodyTest, RoundTripsCodeAndMessage) {
  Status st = Status::PolicyRejected("measurement not allowed");
  Status back = StatusFromErrorBody(500, ErrorBody(st));
  EXPECT_EQ(back.code(), Code::kPolicyRejected);
  EXPECT_EQ(back.message(), "measurement not allowed");
  EXPECT_EQ(StatusFromErrorBody(404, "<html>").code(), Code::kNotFound);
}

}  // namespace
}  // namespace citadel
