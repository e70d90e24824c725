// Quantized ops (src/engine/ops/quantize_linear.cc, matmul_integer.cc,
// conv_integer.cc) against independent references computed here: rounding
// ties through std::nearbyint (the default rounding mode is half to even),
// integer matmuls by a naive loop, and integer convolutions by the engine's
// float Conv on the zero-point-shifted values (exact: every sum is an
// integer well below 2^24).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "test_util.h"

namespace citadel::engine::testing {
namespace {

struct Out {
  std::string name;
  DType dtype;
  size_t rank;  // dims are declared dynamic: the engine computes them
};

// Runs a one-node model whose graph inputs are `ins` (typed and shaped from
// the tensors; an empty name is an omitted optional input).
Result<TensorList> RunOne(const std::string& op, const std::vector<NamedTensor>& ins,
                          const std::vector<Out>& outs, int64_t opset,
                          const std::function<void(onnx::NodeProto*)>& attrs = {}) {
  std::vector<IoSpec> in_specs, out_specs;
  std::vector<std::string> in_names, out_names;
  TensorList feed;
  for (const auto& nt : ins) {
    in_names.push_back(nt.name);
    if (nt.name.empty()) continue;
    in_specs.push_back({nt.name, DTypeToOnnx(nt.tensor.dtype()), nt.tensor.shape()});
    feed.push_back(nt);
  }
  for (const auto& o : outs) {
    IoSpec s{o.name, DTypeToOnnx(o.dtype), std::vector<int64_t>(o.rank, -1)};
    out_specs.push_back(s);
    out_names.push_back(o.name);
  }
  onnx::ModelProto m = MakeModel(in_specs, out_specs, opset);
  auto* n = AddNode(&m, op, in_names, out_names, "q");
  if (attrs) attrs(n);
  CITADEL_ASSIGN_OR_RETURN(auto model, Model::Load(Serialize(m)));
  return model->Run(feed);
}

template <typename T>
Tensor Make(DType dt, const Shape& shape, const std::vector<T>& v) {
  return Tensor::FromVector(dt, shape, v).value();
}

void SetAxis(onnx::NodeProto* n, int64_t axis) {
  auto* a = n->add_attribute();
  a->set_name("axis");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(axis);
}

template <typename Q>
Q RefQuantize(float x, float scale, int zp) {
  const double q = std::nearbyint(static_cast<double>(x / scale)) + zp;
  const double lo = std::numeric_limits<Q>::min(), hi = std::numeric_limits<Q>::max();
  return static_cast<Q>(std::min(hi, std::max(lo, q)));
}

TEST(QuantizeLinear, RoundsHalfToEvenAndSaturates) {
  // scale 0.5 is a power of two, so x / scale is exact and every .5 is a tie.
  const std::vector<float> x = {0.25f, 0.75f, 1.25f, 1.75f, -0.25f, -0.75f, -1.25f, 1000.f, -1000.f, 0.f};
  const float scale = 0.5f;
  const uint8_t zp = 10;
  auto out = RunOne("QuantizeLinear",
                    {{"x", FloatTensor({2, 5}, x)},
                     {"s", Make<float>(DType::kFloat32, {}, {scale})},
                     {"zp", Make<uint8_t>(DType::kUInt8, {}, {zp})}},
                    {{"y", DType::kUInt8, 2}}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Tensor& y = (*out)[0].tensor;
  ASSERT_EQ(y.dtype(), DType::kUInt8);
  ASSERT_EQ(y.shape(), (Shape{2, 5}));
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y.data<uint8_t>()[i], RefQuantize<uint8_t>(x[i], scale, zp)) << "x=" << x[i];
  }
  // The ties really are ties: 0.5 -> 0 (even), 1.5 -> 2, 2.5 -> 2, 3.5 -> 4.
  EXPECT_EQ(y.data<uint8_t>()[0], zp + 0);
  EXPECT_EQ(y.data<uint8_t>()[2], zp + 2);
}

TEST(QuantizeLinear, DefaultZeroPointIsUint8AndPerAxisInt8) {
  auto no_zp = RunOne("QuantizeLinear",
                      {{"x", FloatTensor({3}, {-1.f, 3.f, 600.f})},
                       {"s", Make<float>(DType::kFloat32, {}, {2.f})}},
                      {{"y", DType::kUInt8, 1}}, 10);
  ASSERT_TRUE(no_zp.ok()) << no_zp.status().ToString();
  for (size_t i = 0; i < 3; ++i) {
    const float xv = std::vector<float>{-1.f, 3.f, 600.f}[i];
    EXPECT_EQ((*no_zp)[0].tensor.data<uint8_t>()[i], RefQuantize<uint8_t>(xv, 2.f, 0));
  }

  // Per-axis (axis 1 of [2,3,2]): channel c uses scale[c], zp[c].
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-40.f, 40.f);
  std::vector<float> x(12);
  for (auto& v : x) v = dist(rng);
  const std::vector<float> scales = {0.1f, 0.25f, 0.3f};
  const std::vector<int8_t> zps = {-3, 0, 5};
  auto out = RunOne("QuantizeLinear",
                    {{"x", FloatTensor({2, 3, 2}, x)},
                     {"s", Make<float>(DType::kFloat32, {3}, scales)},
                     {"zp", Make<int8_t>(DType::kInt8, {3}, zps)}},
                    {{"y", DType::kInt8, 3}}, 13, [](onnx::NodeProto* n) { SetAxis(n, 1); });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t c = (i / 2) % 3;
    EXPECT_EQ((*out)[0].tensor.data<int8_t>()[i], RefQuantize<int8_t>(x[i], scales[c], zps[c])) << i;
  }

  // Dequantize inverts it up to the rounding: |deq - x| <= scale / 2 unless saturated.
  auto deq = RunOne("DequantizeLinear",
                    {{"q", (*out)[0].tensor},
                     {"s", Make<float>(DType::kFloat32, {3}, scales)},
                     {"zp", Make<int8_t>(DType::kInt8, {3}, zps)}},
                    {{"y", DType::kFloat32, 3}}, 13, [](onnx::NodeProto* n) { SetAxis(n, -2); });
  ASSERT_TRUE(deq.ok()) << deq.status().ToString();
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t c = (i / 2) % 3;
    const int8_t q = (*out)[0].tensor.data<int8_t>()[i];
    EXPECT_EQ((*deq)[0].tensor.data<float>()[i],
              (static_cast<float>(q) - static_cast<float>(zps[c])) * scales[c]);
    if (q != -128 && q != 127) {
      EXPECT_LE(std::fabs((*deq)[0].tensor.data<float>()[i] - x[i]), scales[c] / 2 + 1e-5f);
    }
  }
}

TEST(QuantizeLinear, RejectsBadParametersAtRun) {
  // Per-axis scales need opset 13.
  auto old = RunOne("QuantizeLinear",
                    {{"x", FloatTensor({1, 2}, {1, 2})},
                     {"s", Make<float>(DType::kFloat32, {2}, {1.f, 2.f})}},
                    {{"y", DType::kUInt8, 2}}, 10);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("opset 13"), std::string::npos) << old.status().ToString();
  // Scale count must match the axis.
  auto count = RunOne("QuantizeLinear",
                      {{"x", FloatTensor({1, 2}, {1, 2})},
                       {"s", Make<float>(DType::kFloat32, {3}, {1.f, 2.f, 3.f})}},
                      {{"y", DType::kUInt8, 2}}, 13);
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.status().code(), Code::kInvalidArgument);
  // Zero point dtype must match between data and zero point for Dequantize.
  auto mixed = RunOne("DequantizeLinear",
                      {{"x", Make<uint8_t>(DType::kUInt8, {2}, {1, 2})},
                       {"s", Make<float>(DType::kFloat32, {}, {1.f})},
                       {"zp", Make<int8_t>(DType::kInt8, {}, {0})}},
                      {{"y", DType::kFloat32, 1}}, 13);
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("x_zero_point"), std::string::npos);
}

TEST(DynamicQuantizeLinear, MatchesTheSpecFormula) {
  for (const std::vector<float>& x : {std::vector<float>{-1.5f, 0.3f, 2.7f, 0.f, 1.1f, -0.2f},
                                      std::vector<float>{1.f, 2.f, 3.f, 4.f, 5.f, 6.f},
                                      std::vector<float>{-6.f, -5.f, -1.f, -2.f, -3.f, -4.f},
                                      std::vector<float>{0.f, 0.f, 0.f, 0.f, 0.f, 0.f}}) {
    auto out = RunOne("DynamicQuantizeLinear", {{"x", FloatTensor({2, 3}, x)}},
                      {{"y", DType::kUInt8, 2}, {"ys", DType::kFloat32, 0}, {"yz", DType::kUInt8, 0}}, 11);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    float lo = 0, hi = 0;
    for (float v : x) lo = std::min(lo, v), hi = std::max(hi, v);
    const float scale = (hi - lo) / 255.f;
    EXPECT_EQ((*out)[1].tensor.data<float>()[0], scale);
    EXPECT_EQ((*out)[1].tensor.rank(), 0u);
    const int zp = scale == 0 ? 0 : static_cast<int>(std::min(255.0, std::max(0.0, std::nearbyint(static_cast<double>(0.f - lo / scale)))));
    EXPECT_EQ((*out)[2].tensor.data<uint8_t>()[0], zp);
    for (size_t i = 0; i < x.size(); ++i) {
      const uint8_t want = scale == 0 ? 0 : RefQuantize<uint8_t>(x[i], scale, zp);
      EXPECT_EQ((*out)[0].tensor.data<uint8_t>()[i], want) << i;
    }
  }
}

// Naive reference: Y[b][m][n] = sum_k (A - azp[m]) (B - bzp[n]), A [batch,M,K], B [K,N].
std::vector<int32_t> RefMatMul(const std::vector<uint8_t>& a, const std::vector<int8_t>& b,
                               int batch, int M, int K, int N, const std::vector<uint8_t>& azp,
                               const std::vector<int8_t>& bzp) {
  std::vector<int32_t> y(static_cast<size_t>(batch * M * N));
  for (int t = 0; t < batch; ++t) {
    for (int m = 0; m < M; ++m) {
      for (int n = 0; n < N; ++n) {
        int32_t s = 0;
        for (int k = 0; k < K; ++k) {
          s += (a[(t * M + m) * K + k] - azp[azp.size() == 1 ? 0 : m]) *
               (b[k * N + n] - bzp[bzp.size() == 1 ? 0 : n]);
        }
        y[(t * M + m) * N + n] = s;
      }
    }
  }
  return y;
}

TEST(MatMulInteger, BatchedWithPerRowAndPerColumnZeroPoints) {
  const int batch = 2, M = 3, K = 5, N = 4;
  std::mt19937 rng(11);
  std::vector<uint8_t> a(batch * M * K);
  std::vector<int8_t> b(K * N);
  for (auto& v : a) v = static_cast<uint8_t>(rng() % 256);
  for (auto& v : b) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  const std::vector<uint8_t> azp = {3, 128, 255};
  const std::vector<int8_t> bzp = {-128, 0, 7, 127};
  auto out = RunOne("MatMulInteger",
                    {{"A", Make<uint8_t>(DType::kUInt8, {batch, M, K}, a)},
                     {"B", Make<int8_t>(DType::kInt8, {K, N}, b)},
                     {"azp", Make<uint8_t>(DType::kUInt8, {M}, azp)},
                     {"bzp", Make<int8_t>(DType::kInt8, {N}, bzp)}},
                    {{"Y", DType::kInt32, 3}}, 10);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Tensor& y = (*out)[0].tensor;
  ASSERT_EQ(y.shape(), (Shape{batch, M, N}));
  const auto want = RefMatMul(a, b, batch, M, K, N, azp, bzp);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(y.data<int32_t>()[i], want[i]) << i;

  // Without zero points (both optional).
  auto plain = RunOne("MatMulInteger",
                      {{"A", Make<uint8_t>(DType::kUInt8, {batch, M, K}, a)},
                       {"B", Make<int8_t>(DType::kInt8, {K, N}, b)}},
                      {{"Y", DType::kInt32, 3}}, 10);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  const auto want0 = RefMatMul(a, b, batch, M, K, N, {0}, {0});
  for (size_t i = 0; i < want0.size(); ++i) EXPECT_EQ((*plain)[0].tensor.data<int32_t>()[i], want0[i]);

  auto bad = RunOne("MatMulInteger",
                    {{"A", Make<uint8_t>(DType::kUInt8, {M, K}, std::vector<uint8_t>(M * K))},
                     {"B", Make<int8_t>(DType::kInt8, {K + 1, N}, std::vector<int8_t>((K + 1) * N))}},
                    {{"Y", DType::kInt32, 2}}, 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("inner dimensions"), std::string::npos);
}

TEST(QLinearMatMul, RequantizesTheExactAccumulator) {
  const int M = 2, K = 6, N = 3;
  std::mt19937 rng(5);
  std::vector<uint8_t> a(M * K);
  std::vector<int8_t> b(K * N);
  for (auto& v : a) v = static_cast<uint8_t>(rng() % 256);
  for (auto& v : b) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  const float as = 0.02f, bs = 0.011f, ys = 0.9f;
  const uint8_t azp = 120, yzp = 100;
  const int8_t bzp = -2;
  auto out = RunOne("QLinearMatMul",
                    {{"a", Make<uint8_t>(DType::kUInt8, {M, K}, a)},
                     {"as", Make<float>(DType::kFloat32, {}, {as})},
                     {"azp", Make<uint8_t>(DType::kUInt8, {}, {azp})},
                     {"b", Make<int8_t>(DType::kInt8, {K, N}, b)},
                     {"bs", Make<float>(DType::kFloat32, {}, {bs})},
                     {"bzp", Make<int8_t>(DType::kInt8, {}, {bzp})},
                     {"ys", Make<float>(DType::kFloat32, {}, {ys})},
                     {"yzp", Make<uint8_t>(DType::kUInt8, {}, {yzp})}},
                    {{"y", DType::kUInt8, 2}}, 10);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const auto acc = RefMatMul(a, b, 1, M, K, N, {azp}, {bzp});
  const float mult = as * bs / ys;
  for (size_t i = 0; i < acc.size(); ++i) {
    const double q = std::nearbyint(acc[i] * static_cast<double>(mult)) + yzp;
    EXPECT_EQ((*out)[0].tensor.data<uint8_t>()[i], static_cast<uint8_t>(std::min(255.0, std::max(0.0, q))))
        << i << " acc " << acc[i];
  }
}

void AddInts(onnx::NodeProto* n, const char* name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

TEST(ConvInteger, MatchesFloatConvOnShiftedValues) {
  // x [1,4,6,5] uint8 with zero point 9, w [6,2,3,2] int8 per-output-channel
  // zero points, group 2, stride 2x1, pads, dilation 1x2.
  const Shape xs = {1, 4, 6, 5}, wsh = {6, 2, 3, 2};
  std::mt19937 rng(3);
  std::vector<uint8_t> x(1 * 4 * 6 * 5);
  std::vector<int8_t> w(6 * 2 * 3 * 2);
  for (auto& v : x) v = static_cast<uint8_t>(rng() % 256);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  const uint8_t xzp = 9;
  const std::vector<int8_t> wzp = {0, 1, -1, 5, -7, 100};
  auto attrs = [](onnx::NodeProto* n) {
    AddInts(n, "strides", {2, 1});
    AddInts(n, "pads", {1, 0, 2, 1});
    AddInts(n, "dilations", {1, 2});
    auto* g = n->add_attribute();
    g->set_name("group");
    g->set_type(onnx::AttributeProto::INT);
    g->set_i(2);
  };
  auto out = RunOne("ConvInteger",
                    {{"x", Make<uint8_t>(DType::kUInt8, xs, x)},
                     {"w", Make<int8_t>(DType::kInt8, wsh, w)},
                     {"xzp", Make<uint8_t>(DType::kUInt8, {}, {xzp})},
                     {"wzp", Make<int8_t>(DType::kInt8, {6}, wzp)}},
                    {{"y", DType::kInt32, 4}}, 10, attrs);
  ASSERT_TRUE(out.ok()) << out.status().ToString();

  // Reference: the float Conv on (x - xzp) and (w - wzp[m]); padding with
  // zeros there equals padding with x_zero_point here.
  std::vector<float> xf(x.size()), wf(w.size());
  for (size_t i = 0; i < x.size(); ++i) xf[i] = static_cast<float>(x[i] - xzp);
  for (size_t i = 0; i < w.size(); ++i) wf[i] = static_cast<float>(w[i] - wzp[i / 12]);
  auto ref = RunOne("Conv", {{"x", FloatTensor(xs, xf)}, {"w", FloatTensor(wsh, wf)}},
                    {{"y", DType::kFloat32, 4}}, 13, attrs);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  const Tensor& yi = (*out)[0].tensor;
  const Tensor& yf = (*ref)[0].tensor;
  ASSERT_EQ(yi.shape(), yf.shape());
  ASSERT_EQ(yi.dtype(), DType::kInt32);
  for (size_t i = 0; i < yi.num_elements(); ++i) {
    EXPECT_EQ(static_cast<float>(yi.data<int32_t>()[i]), yf.data<float>()[i]) << i;
  }
}

TEST(QLinearConv, PerChannelScalesAndBias) {
  const Shape xs = {1, 2, 4, 4}, wsh = {3, 2, 3, 3};
  std::mt19937 rng(9);
  std::vector<int8_t> x(32), w(54);
  for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  const std::vector<float> wscale = {0.01f, 0.002f, 0.03f};
  const std::vector<int32_t> bias = {100, -2000, 0};
  const float xscale = 0.05f, yscale = 0.7f;
  const int8_t xzp = -5, yzp = 3;
  auto pads = [](onnx::NodeProto* n) { AddInts(n, "pads", {1, 1, 1, 1}); };
  auto out = RunOne("QLinearConv",
                    {{"x", Make<int8_t>(DType::kInt8, xs, x)},
                     {"xs", Make<float>(DType::kFloat32, {}, {xscale})},
                     {"xzp", Make<int8_t>(DType::kInt8, {}, {xzp})},
                     {"w", Make<int8_t>(DType::kInt8, wsh, w)},
                     {"ws", Make<float>(DType::kFloat32, {3}, wscale)},
                     {"wzp", Make<int8_t>(DType::kInt8, {}, {0})},
                     {"ys", Make<float>(DType::kFloat32, {}, {yscale})},
                     {"yzp", Make<int8_t>(DType::kInt8, {}, {yzp})},
                     {"B", Make<int32_t>(DType::kInt32, {3}, bias)}},
                    {{"y", DType::kInt8, 4}}, 10, pads);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // Accumulators from ConvInteger (checked against float Conv above).
  auto acc = RunOne("ConvInteger",
                    {{"x", Make<int8_t>(DType::kInt8, xs, x)},
                     {"w", Make<int8_t>(DType::kInt8, wsh, w)},
                     {"xzp", Make<int8_t>(DType::kInt8, {}, {xzp})}},
                    {{"y", DType::kInt32, 4}}, 10, pads);
  ASSERT_TRUE(acc.ok()) << acc.status().ToString();
  const Tensor& y = (*out)[0].tensor;
  ASSERT_EQ(y.shape(), (Shape{1, 3, 4, 4}));
  for (size_t i = 0; i < y.num_elements(); ++i) {
    const size_t m = i / 16;
    const float mult = xscale * wscale[m] / yscale;
    const double v = std::nearbyint(static_cast<double>((*acc)[0].tensor.data<int32_t>()[i] + bias[m]) *
                                    static_cast<double>(mult)) + yzp;
    EXPECT_EQ(y.data<int8_t>()[i], static_cast<int8_t>(std::min(127.0, std::max(-128.0, v)))) << i;
  }
}

}  // namespace
}  // namespace citadel::engine::testing
