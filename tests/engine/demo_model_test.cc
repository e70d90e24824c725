// End-to-end: the demo models exported by scripts/make_demo_model.py must
// reproduce torch's outputs.
#include <gtest/gtest.h>

#include "citadel/engine.h"
#include "citadel/npy.h"
#include "test_util.h"

namespace citadel {
namespace {

using engine::testing::CompareTensors;

std::string ModelPath(const std::string& name) {
  return std::string(CITADEL_SOURCE_DIR) + "/models/" + name;
}

TEST(DemoModel, XrayCnnMatchesTorch) {
  auto model = Model::LoadFile(ModelPath("xray_cnn.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const auto& m = **model;
  ASSERT_EQ(m.inputs().size(), 1u);
  EXPECT_EQ(m.inputs()[0].name, "image");
  EXPECT_EQ(m.inputs()[0].shape, (Shape{1, 1, 64, 64}));
  ASSERT_EQ(m.outputs().size(), 1u);
  EXPECT_EQ(m.outputs()[0].name, "probabilities");
  EXPECT_NE(m.Describe().find("Conv x3"), std::string::npos) << m.Describe();

  auto sample = ReadNpyFile(ModelPath("xray_sample.npy"));
  ASSERT_TRUE(sample.ok()) << sample.status().ToString();
  auto expected = ReadNpyFile(ModelPath("xray_expected.npy"));
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();

  auto out = m.Run({{"image", *sample}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].name, "probabilities");
  EXPECT_EQ(CompareTensors(*expected, (*out)[0].tensor, 0, 1e-4), "");
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += (*out)[0].tensor.data<float>()[i];
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(DemoModel, DynamicBatchMlp) {
  auto model = Model::LoadFile(ModelPath("mlp_dynamic.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const auto& in = (*model)->inputs()[0];
  EXPECT_EQ(in.shape, (Shape{-1, 16}));
  EXPECT_EQ(in.dim_params[0], "batch");

  auto x = ReadNpyFile(ModelPath("mlp_sample.npy"));
  auto y = ReadNpyFile(ModelPath("mlp_expected.npy"));
  ASSERT_TRUE(x.ok() && y.ok());
  ASSERT_EQ(x->shape(), (Shape{3, 16}));

  // Batch 3.
  auto out3 = (*model)->Run({{"x", *x}});
  ASSERT_TRUE(out3.ok()) << out3.status().ToString();
  EXPECT_EQ(CompareTensors(*y, (*out3)[0].tensor, 0, 1e-4), "");

  // Batch 1: the first row alone gives the first row of the result.
  auto x1 = Tensor::FromBytes(DType::kFloat32, {1, 16}, x->bytes().subspan(0, 16 * 4));
  auto y1 = Tensor::FromBytes(DType::kFloat32, {1, 8}, y->bytes().subspan(0, 8 * 4));
  ASSERT_TRUE(x1.ok() && y1.ok());
  auto out1 = (*model)->Run({{"x", *x1}});
  ASSERT_TRUE(out1.ok()) << out1.status().ToString();
  EXPECT_EQ(CompareTensors(*y1, (*out1)[0].tensor, 0, 1e-4), "");

  // A wrong feature dimension is rejected before any kernel runs.
  auto bad = Tensor::Zeros(DType::kFloat32, {2, 15});
  auto r = (*model)->Run({{"x", *bad}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("dimension 1 must be 16"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace citadel
