// RoiAlign (src/engine/ops/roi_align.cc). Bilinear sampling is exact on a
// linear image f(y, x) = a*y + b*x + c, and the mean of a symmetric sample
// grid of a linear function is its value at the bin centre, so the expected
// averages follow from the bin geometry alone. Max mode is checked where
// every sample falls on a pixel (weights 1, 0, 0, 0).
#include <gtest/gtest.h>

#include "test_util.h"

namespace citadel::engine::testing {
namespace {

struct Roi {
  std::vector<float> boxes;
  std::vector<int64_t> batch;
};

Result<Tensor> RunRoiAlign(const Tensor& x, const Roi& roi, int64_t opset, const std::string& mode,
                           int64_t oh, int64_t ow, int64_t sampling, float scale,
                           const std::string& ctm = "") {
  const int64_t r = static_cast<int64_t>(roi.batch.size());
  onnx::ModelProto m = MakeModel({{"X", onnx::TensorProto::FLOAT, x.shape()},
                                  {"rois", onnx::TensorProto::FLOAT, {r, 4}},
                                  {"idx", onnx::TensorProto::INT64, {r}}},
                                 {{"Y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1}}}, opset);
  auto* n = AddNode(&m, "RoiAlign", {"X", "rois", "idx"}, {"Y"}, "roi");
  auto ai = [&](const char* name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  };
  auto as = [&](const char* name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  };
  ai("output_height", oh);
  ai("output_width", ow);
  ai("sampling_ratio", sampling);
  as("mode", mode);
  if (!ctm.empty()) as("coordinate_transformation_mode", ctm);
  auto* a = n->add_attribute();
  a->set_name("spatial_scale");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(scale);
  CITADEL_ASSIGN_OR_RETURN(auto model, Model::Load(Serialize(m)));
  CITADEL_ASSIGN_OR_RETURN(
      TensorList out,
      model->Run({{"X", x},
                  {"rois", FloatTensor({r, 4}, roi.boxes)},
                  {"idx", Tensor::FromVector(DType::kInt64, {r}, roi.batch).value()}}));
  return out[0].tensor;
}

// 2 images x 2 channels of 8x8 linear ramps, different per image/channel.
Tensor LinearImages(std::vector<std::array<float, 3>>* coeffs) {
  std::vector<float> v;
  for (int n = 0; n < 2; ++n) {
    for (int c = 0; c < 2; ++c) {
      const std::array<float, 3> k = {1.0f + n + c, 0.5f - c, 3.0f * n - 1};
      coeffs->push_back(k);
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) v.push_back(k[0] * y + k[1] * x + k[2]);
    }
  }
  return FloatTensor({2, 2, 8, 8}, v);
}

void ExpectBinCentres(const Tensor& y, const std::vector<std::array<float, 3>>& k,
                      const std::vector<int64_t>& batch, const std::vector<std::array<double, 4>>& box,
                      int64_t oh, int64_t ow) {
  ASSERT_EQ(y.shape(), (Shape{static_cast<int64_t>(batch.size()), 2, oh, ow}));
  for (size_t r = 0; r < batch.size(); ++r) {
    const double bh = (box[r][3] - box[r][1]) / oh, bw = (box[r][2] - box[r][0]) / ow;
    for (int c = 0; c < 2; ++c) {
      const auto& kk = k[batch[r] * 2 + c];
      for (int64_t ph = 0; ph < oh; ++ph) {
        for (int64_t pw = 0; pw < ow; ++pw) {
          const double cy = box[r][1] + (ph + 0.5) * bh, cx = box[r][0] + (pw + 0.5) * bw;
          const double want = kk[0] * cy + kk[1] * cx + kk[2];
          EXPECT_NEAR(y.data<float>()[((r * 2 + c) * oh + ph) * ow + pw], want, 1e-4)
              << "roi " << r << " c " << c << " bin " << ph << "," << pw;
        }
      }
    }
  }
}

TEST(RoiAlign, AverageHalfPixelOpset16) {
  std::vector<std::array<float, 3>> k;
  const Tensor x = LinearImages(&k);
  // Boxes in a 2x-downscaled frame (spatial_scale 0.5), read from image 1 then 0.
  const Roi roi{{2, 2, 10, 10, 4, 2, 12, 8}, {1, 0}};
  auto y = RunRoiAlign(x, roi, 16, "avg", 2, 3, 2, 0.5f);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  // half_pixel: scaled box shifted by -0.5.
  ExpectBinCentres(*y, k, roi.batch, {{0.5, 0.5, 4.5, 4.5}, {1.5, 0.5, 5.5, 3.5}}, 2, 3);
}

TEST(RoiAlign, AverageOutputHalfPixelOpset10AdaptiveSampling) {
  std::vector<std::array<float, 3>> k;
  const Tensor x = LinearImages(&k);
  const Roi roi{{1, 1, 6, 5}, {0}};
  auto y = RunRoiAlign(x, roi, 10, "avg", 2, 2, 0, 1.0f);  // sampling_ratio 0: ceil(size / bins)
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ExpectBinCentres(*y, k, roi.batch, {{1, 1, 6, 5}}, 2, 2);
  auto same = RunRoiAlign(x, roi, 16, "avg", 2, 2, 0, 1.0f, "output_half_pixel");
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(CompareTensors(*y, *same, 0, 0), "");
}

TEST(RoiAlign, MaxOnPixelAlignedSamples) {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>((i * 7) % 11);
  const Tensor x = FloatTensor({1, 1, 4, 4}, v);
  // opset 10 (no shift): box [-0.5, -0.5, 1.5, 1.5], 2x2 bins of size 1,
  // one sample each at the bin centre = pixels (0,0), (0,1), (1,0), (1,1).
  auto y = RunRoiAlign(x, {{-0.5f, -0.5f, 1.5f, 1.5f}, {0}}, 10, "max", 2, 2, 1, 1.0f);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(CompareTensors(FloatTensor({1, 1, 2, 2}, {v[0], v[1], v[4], v[5]}), *y, 0, 0), "");
}

TEST(RoiAlign, BadBatchIndexAndModeAreRejected) {
  std::vector<std::array<float, 3>> k;
  const Tensor x = LinearImages(&k);
  auto bad_index = RunRoiAlign(x, {{0, 0, 1, 1}, {2}}, 16, "avg", 1, 1, 1, 1.0f);
  ASSERT_FALSE(bad_index.ok());
  EXPECT_NE(bad_index.status().ToString().find("batch index 2"), std::string::npos);
  auto bad_mode = RunRoiAlign(x, {{0, 0, 1, 1}, {0}}, 16, "median", 1, 1, 1, 1.0f);
  ASSERT_FALSE(bad_mode.ok());
}

}  // namespace
}  // namespace citadel::engine::testing
