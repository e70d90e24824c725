// The "small" ops of issue 3 (BitShift, EyeLike, Compress, Unique,
// StringNormalizer, string Cast, the windows, LRN, MVN, ReverseSequence,
// Det, DFT, STFT, MelWeightMatrix, MaxPool Indices, MaxUnpool, GridSample,
// TfIdfVectorizer, float16 Max/Min) on small inputs whose results are
// computed here independently: by hand, by a naive loop, or through an
// identity the op must satisfy.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <numbers>
#include <random>

#include "test_util.h"

namespace citadel::engine::testing {
namespace {

struct Out {
  std::string name;
  DType dtype;
  size_t rank;  // dims are declared dynamic: the engine computes them
};

using AttrFn = std::function<void(onnx::NodeProto*)>;

// Runs a one-node model whose graph inputs are `ins` (an empty name is an
// omitted optional input).
Result<TensorList> RunOne(const std::string& op, const std::vector<NamedTensor>& ins,
                          const std::vector<Out>& outs, int64_t opset, const AttrFn& attrs = {}) {
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
    out_specs.push_back({o.name, DTypeToOnnx(o.dtype), std::vector<int64_t>(o.rank, -1)});
    out_names.push_back(o.name);
  }
  onnx::ModelProto m = MakeModel(in_specs, out_specs, opset);
  auto* n = AddNode(&m, op, in_names, out_names, "node_under_test");
  if (attrs) attrs(n);
  CITADEL_ASSIGN_OR_RETURN(auto model, Model::Load(Serialize(m)));
  return model->Run(feed);
}

template <typename T>
Tensor Make(DType dt, const Shape& shape, const std::vector<T>& v) {
  return Tensor::FromVector(dt, shape, v).value();
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.num_elements());
}

void IntAttr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void FloatAttr(onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void StringAttr(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

void IntsAttr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void StringsAttr(onnx::NodeProto* n, const std::string& name, const std::vector<std::string>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRINGS);
  for (const auto& x : v) a->add_strings(x);
}

Tensor Strings(const Shape& shape, std::vector<std::string> v) { return Tensor::FromStrings(shape, std::move(v)).value(); }

// ---- BitShift ------------------------------------------------------------

TEST(BitShift, BroadcastsAndShiftsPastWidthGiveZero) {
  const std::vector<uint8_t> x = {1, 3, 128, 255, 7, 16};
  const std::vector<uint8_t> s = {0, 1, 8};  // broadcast along the last dim of [2, 3]
  for (const char* dir : {"LEFT", "RIGHT"}) {
    auto out = RunOne("BitShift", {{"x", Make<uint8_t>(DType::kUInt8, {2, 3}, x)}, {"s", Make<uint8_t>(DType::kUInt8, {3}, s)}},
                      {{"y", DType::kUInt8, 2}}, 11, [&](onnx::NodeProto* n) { StringAttr(n, "direction", dir); });
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const auto y = Values<uint8_t>((*out)[0].tensor);
    for (size_t i = 0; i < 6; ++i) {
      const unsigned sh = s[i % 3];
      const unsigned want = sh >= 8 ? 0 : (dir[0] == 'L' ? (x[i] << sh) & 0xff : x[i] >> sh);
      EXPECT_EQ(y[i], want) << dir << " element " << i;
    }
  }
}

TEST(BitShift, RejectsBadDirectionAtLoad) {
  auto out = RunOne("BitShift", {{"x", Make<uint32_t>(DType::kUInt32, {1}, {1})}, {"s", Make<uint32_t>(DType::kUInt32, {1}, {1})}},
                    {{"y", DType::kUInt32, 1}}, 11, [](onnx::NodeProto* n) { StringAttr(n, "direction", "UP"); });
  EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
}

// ---- EyeLike ---------------------------------------------------------------

TEST(EyeLike, OffDiagonalAndDtype) {
  for (int64_t k : {-1, 0, 2}) {
    auto out = RunOne("EyeLike", {{"x", FloatTensor({3, 4}, std::vector<float>(12, 5.f))}}, {{"y", DType::kInt32, 2}}, 9,
                      [&](onnx::NodeProto* n) {
                        IntAttr(n, "k", k);
                        IntAttr(n, "dtype", onnx::TensorProto::INT32);
                      });
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const Tensor& y = (*out)[0].tensor;
    ASSERT_EQ(y.dtype(), DType::kInt32);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(y.data<int32_t>()[i * 4 + j], j - i == k ? 1 : 0) << k;
  }
}

// ---- Compress --------------------------------------------------------------

TEST(Compress, AxisFlattenedAndShortCondition) {
  const Tensor x = FloatTensor({2, 3}, {1, 2, 3, 4, 5, 6});
  auto cond = [](std::vector<uint8_t> v) { return Make<uint8_t>(DType::kBool, {static_cast<int64_t>(v.size())}, v); };
  auto axis1 = RunOne("Compress", {{"x", x}, {"c", cond({1, 0, 1})}}, {{"y", DType::kFloat32, 2}}, 11,
                      [](onnx::NodeProto* n) { IntAttr(n, "axis", -1); });
  ASSERT_TRUE(axis1.ok()) << axis1.status().ToString();
  EXPECT_EQ((*axis1)[0].tensor.shape(), (Shape{2, 2}));
  EXPECT_EQ(Values<float>((*axis1)[0].tensor), (std::vector<float>{1, 3, 4, 6}));
  // No axis: the flattened input; a condition shorter than it drops the rest.
  auto flat = RunOne("Compress", {{"x", x}, {"c", cond({0, 1, 0, 1})}}, {{"y", DType::kFloat32, 1}}, 11);
  ASSERT_TRUE(flat.ok()) << flat.status().ToString();
  EXPECT_EQ(Values<float>((*flat)[0].tensor), (std::vector<float>{2, 4}));
  // A true past the end of the axis is an error, not a read out of bounds.
  auto bad = RunOne("Compress", {{"x", x}, {"c", cond({0, 0, 0, 1})}}, {{"y", DType::kFloat32, 2}}, 11,
                    [](onnx::NodeProto* n) { IntAttr(n, "axis", 1); });
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST(Compress, StringsAreCopied) {
  auto out = RunOne("Compress", {{"x", Strings({2, 2}, {"a", "bb", "c", "dd"})}, {"c", Make<uint8_t>(DType::kBool, {2}, {0, 1})}},
                    {{"y", DType::kString, 2}}, 11, [](onnx::NodeProto* n) { IntAttr(n, "axis", 1); });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].tensor.shape(), (Shape{2, 1}));
  EXPECT_EQ((*out)[0].tensor.strings(), (std::vector<std::string>{"bb", "dd"}));
}

// ---- Unique ----------------------------------------------------------------

TEST(Unique, SortedAndFirstOccurrenceOrder) {
  const Tensor x = Make<int64_t>(DType::kInt64, {6}, {2, 1, 1, 3, 4, 3});
  const std::vector<Out> outs = {{"y", DType::kInt64, 1}, {"i", DType::kInt64, 1}, {"inv", DType::kInt64, 1}, {"c", DType::kInt64, 1}};
  auto s = RunOne("Unique", {{"x", x}}, outs, 11);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(Values<int64_t>((*s)[0].tensor), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(Values<int64_t>((*s)[1].tensor), (std::vector<int64_t>{1, 0, 3, 4}));
  EXPECT_EQ(Values<int64_t>((*s)[2].tensor), (std::vector<int64_t>{1, 0, 0, 2, 3, 2}));
  EXPECT_EQ(Values<int64_t>((*s)[3].tensor), (std::vector<int64_t>{2, 1, 2, 1}));
  auto u = RunOne("Unique", {{"x", x}}, outs, 11, [](onnx::NodeProto* n) { IntAttr(n, "sorted", 0); });
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(Values<int64_t>((*u)[0].tensor), (std::vector<int64_t>{2, 1, 3, 4}));
  EXPECT_EQ(Values<int64_t>((*u)[1].tensor), (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(Values<int64_t>((*u)[2].tensor), (std::vector<int64_t>{0, 1, 1, 2, 3, 2}));
  EXPECT_EQ(Values<int64_t>((*u)[3].tensor), (std::vector<int64_t>{1, 2, 2, 1}));
}

TEST(Unique, RowsAlongAxisSortLexicographically) {
  // Rows: [1 0] [0 5] [1 0] [0 2] -> sorted unique [0 2] [0 5] [1 0].
  const Tensor x = FloatTensor({4, 2}, {1, 0, 0, 5, 1, 0, 0, 2});
  auto out = RunOne("Unique", {{"x", x}}, {{"y", DType::kFloat32, 2}, {"i", DType::kInt64, 1}, {"inv", DType::kInt64, 1}, {"c", DType::kInt64, 1}},
                    11, [](onnx::NodeProto* n) { IntAttr(n, "axis", 0); });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].tensor.shape(), (Shape{3, 2}));
  EXPECT_EQ(Values<float>((*out)[0].tensor), (std::vector<float>{0, 2, 0, 5, 1, 0}));
  EXPECT_EQ(Values<int64_t>((*out)[1].tensor), (std::vector<int64_t>{3, 1, 0}));
  EXPECT_EQ(Values<int64_t>((*out)[2].tensor), (std::vector<int64_t>{2, 1, 2, 0}));
  EXPECT_EQ(Values<int64_t>((*out)[3].tensor), (std::vector<int64_t>{1, 1, 2}));
}

// ---- float16 elementwise -------------------------------------------------------

TEST(Float16, MaxMinModComputeInFloat32AndRoundOnce) {
  auto half = [](std::vector<float> v) {
    std::vector<uint16_t> h;
    for (float f : v) h.push_back(FloatToHalf(f));
    return Make<uint16_t>(DType::kFloat16, {static_cast<int64_t>(v.size())}, h);
  };
  const std::vector<float> a = {1.5f, -2.f, 7.25f, 0.f}, b = {2.f, -3.f, 3.f, -0.5f};
  for (const char* op : {"Max", "Min"}) {
    auto out = RunOne(op, {{"a", half(a)}, {"b", half(b)}}, {{"y", DType::kFloat16, 1}}, 13);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const Tensor& y = (*out)[0].tensor;
    ASSERT_EQ(y.dtype(), DType::kFloat16);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(HalfToFloat(y.data<uint16_t>()[i]), op[1] == 'a' ? std::max(a[i], b[i]) : std::min(a[i], b[i]));
    }
  }
  auto mod = RunOne("Mod", {{"a", half(a)}, {"b", half(b)}}, {{"y", DType::kFloat16, 1}}, 13,
                    [](onnx::NodeProto* n) { IntAttr(n, "fmod", 1); });
  ASSERT_TRUE(mod.ok()) << mod.status().ToString();
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(HalfToFloat((*mod)[0].tensor.data<uint16_t>()[i]), std::fmod(a[i], b[i]));
  }
}

// ---- StringNormalizer ---------------------------------------------------------

TEST(StringNormalizer, StopwordsCaseAndEmptyResult) {
  const Tensor x = Strings({1, 4}, {"Monday", "tuesday", "MONDAY", "Wed"});
  auto out = RunOne("StringNormalizer", {{"x", x}}, {{"y", DType::kString, 2}}, 10, [](onnx::NodeProto* n) {
    StringAttr(n, "case_change_action", "UPPER");
    StringsAttr(n, "stopwords", {"monday"});
  });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].tensor.shape(), (Shape{1, 2}));
  EXPECT_EQ((*out)[0].tensor.strings(), (std::vector<std::string>{"TUESDAY", "WED"}));
  // Case-sensitive: only the exact stopword goes; LOWER applies after.
  auto cs = RunOne("StringNormalizer", {{"x", Strings({3}, {"Monday", "monday", "X"})}}, {{"y", DType::kString, 1}}, 10,
                   [](onnx::NodeProto* n) {
                     StringAttr(n, "case_change_action", "LOWER");
                     IntAttr(n, "is_case_sensitive", 1);
                     StringsAttr(n, "stopwords", {"monday"});
                   });
  ASSERT_TRUE(cs.ok()) << cs.status().ToString();
  EXPECT_EQ((*cs)[0].tensor.strings(), (std::vector<std::string>{"monday", "x"}));
  auto empty = RunOne("StringNormalizer", {{"x", Strings({2}, {"a", "A"})}}, {{"y", DType::kString, 1}}, 10,
                      [](onnx::NodeProto* n) { StringsAttr(n, "stopwords", {"a"}); });
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ((*empty)[0].tensor.shape(), (Shape{1}));
  EXPECT_EQ((*empty)[0].tensor.strings(), (std::vector<std::string>{""}));
}

TEST(StringNormalizer, UnsupportedLocaleFailsAtLoadWithOpAndNode) {
  auto out = RunOne("StringNormalizer", {{"x", Strings({1}, {"I"})}}, {{"y", DType::kString, 1}}, 10,
                    [](onnx::NodeProto* n) {
                      StringAttr(n, "case_change_action", "LOWER");
                      StringAttr(n, "locale", "tr_TR");
                    });
  ASSERT_EQ(out.status().code(), Code::kUnsupported);
  const std::string& msg = out.status().message();
  EXPECT_NE(msg.find("StringNormalizer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node_under_test"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tr_TR"), std::string::npos) << msg;
}

// ---- Cast with strings -----------------------------------------------------------

TEST(CastString, NumbersPrintLikeNumpyAndParseBack) {
  const std::vector<float> v = {1.f, 0.1f, 1e-5f, 123456.f, 1e16f, -2.5f, 0.6048455f, std::nanf(""),
                                -std::numeric_limits<float>::infinity()};
  auto out = RunOne("Cast", {{"x", FloatTensor({9}, v)}}, {{"y", DType::kString, 1}}, 13,
                    [](onnx::NodeProto* n) { IntAttr(n, "to", onnx::TensorProto::STRING); });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].tensor.strings(), (std::vector<std::string>{"1.0", "0.1", "1e-05", "123456.0", "1e+16", "-2.5",
                                                                   "0.6048455", "nan", "-inf"}));
  // Back to float32: every value round-trips exactly (NaN stays NaN).
  auto back = RunOne("Cast", {{"s", (*out)[0].tensor}}, {{"y", DType::kFloat32, 1}}, 13,
                     [](onnx::NodeProto* n) { IntAttr(n, "to", onnx::TensorProto::FLOAT); });
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (size_t i = 0; i < v.size(); ++i) {
    const float got = (*back)[0].tensor.data<float>()[i];
    if (std::isnan(v[i])) EXPECT_TRUE(std::isnan(got));
    else EXPECT_EQ(got, v[i]) << i;
  }
}

TEST(CastString, IntegersExactAndGarbageRejected) {
  auto out = RunOne("Cast", {{"s", Strings({3}, {"9007199254740993", "-7", " 12 "})}}, {{"y", DType::kInt64, 1}}, 13,
                    [](onnx::NodeProto* n) { IntAttr(n, "to", onnx::TensorProto::INT64); });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // 2^53 + 1 is not a double: parsing through double would give ...992.
  EXPECT_EQ(Values<int64_t>((*out)[0].tensor), (std::vector<int64_t>{9007199254740993LL, -7, 12}));
  auto bad = RunOne("Cast", {{"s", Strings({1}, {"12abc"})}}, {{"y", DType::kFloat32, 1}}, 13,
                    [](onnx::NodeProto* n) { IntAttr(n, "to", onnx::TensorProto::FLOAT); });
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

// ---- Windows ---------------------------------------------------------------------

TEST(Windows, PeriodicAndSymmetric) {
  auto run = [](const char* op, int64_t n, int64_t periodic) {
    auto out = RunOne(op, {{"n", Make<int64_t>(DType::kInt64, {}, {n})}}, {{"y", DType::kFloat32, 1}}, 17,
                      [&](onnx::NodeProto* nd) { IntAttr(nd, "periodic", periodic); });
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return Values<float>((*out)[0].tensor);
  };
  const auto hann = run("HannWindow", 4, 1);
  const std::vector<float> hann_want = {0.f, 0.5f, 1.f, 0.5f};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(hann[i], hann_want[i], 1e-6);
  const auto hann_sym = run("HannWindow", 3, 0);
  EXPECT_NEAR(hann_sym[0], 0, 1e-6);
  EXPECT_NEAR(hann_sym[1], 1, 1e-6);
  EXPECT_NEAR(hann_sym[2], 0, 1e-6);
  const auto hamming = run("HammingWindow", 2, 1);  // cos(0) = 1, cos(pi) = -1
  EXPECT_NEAR(hamming[0], 4.0 / 46.0, 1e-6);
  EXPECT_NEAR(hamming[1], 1.0, 1e-6);
  const auto black = run("BlackmanWindow", 4, 1);  // 0.42 - 0.5 cos(t) + 0.08 cos(2t)
  const std::vector<double> black_want = {0.0, 0.34, 1.0, 0.34};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(black[i], black_want[i], 1e-6);
}

// ---- LRN / MVN ----------------------------------------------------------------------

TEST(LRN, MatchesNaiveFormula) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  const int64_t N = 2, C = 5, P = 3;
  std::vector<float> x(N * C * P);
  for (float& v : x) v = nd(rng);
  const float alpha = 0.3f, beta = 0.6f, bias = 1.5f;
  const int64_t size = 4;  // window c-1 .. c+2
  auto out = RunOne("LRN", {{"x", FloatTensor({N, C, P}, x)}}, {{"y", DType::kFloat32, 3}}, 13, [&](onnx::NodeProto* n) {
    FloatAttr(n, "alpha", alpha);
    FloatAttr(n, "beta", beta);
    FloatAttr(n, "bias", bias);
    IntAttr(n, "size", size);
  });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  for (int64_t b = 0; b < N; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < P; ++p) {
        double sq = 0;
        for (int64_t k = c - 1; k <= c + 2; ++k) {
          if (k >= 0 && k < C) sq += double(x[(b * C + k) * P + p]) * x[(b * C + k) * P + p];
        }
        const double want = x[(b * C + c) * P + p] / std::pow(bias + alpha / size * sq, beta);
        EXPECT_NEAR((*out)[0].tensor.data<float>()[(b * C + c) * P + p], want, 1e-5);
      }
}

TEST(MeanVarianceNormalization, ZeroMeanUnitVariancePerChannel) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> ud(-3, 7);
  const int64_t N = 2, C = 3, H = 2, W = 4;
  std::vector<float> x(N * C * H * W);
  for (float& v : x) v = ud(rng);
  auto out = RunOne("MeanVarianceNormalization", {{"x", FloatTensor({N, C, H, W}, x)}}, {{"y", DType::kFloat32, 4}}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const float* y = (*out)[0].tensor.data<float>();
  for (int64_t c = 0; c < C; ++c) {
    double s = 0, sq = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < H * W; ++i) {
        const double v = y[(n * C + c) * H * W + i];
        s += v;
        sq += v * v;
      }
    const double cnt = N * H * W;
    EXPECT_NEAR(s / cnt, 0, 1e-5);
    EXPECT_NEAR(sq / cnt, 1, 1e-4);
  }
}

// ---- ReverseSequence / Det ---------------------------------------------------------

TEST(ReverseSequence, PerBatchLengthsBothLayouts) {
  // batch_axis 0: rows [0 1 2 3], [4 5 6 7] with lengths 3 and 1.
  auto out = RunOne("ReverseSequence", {{"x", FloatTensor({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7})}, {"l", Make<int64_t>(DType::kInt64, {2}, {3, 1})}},
                    {{"y", DType::kFloat32, 2}}, 10, [](onnx::NodeProto* n) {
                      IntAttr(n, "batch_axis", 0);
                      IntAttr(n, "time_axis", 1);
                    });
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<float>((*out)[0].tensor), (std::vector<float>{2, 1, 0, 3, 4, 5, 6, 7}));
  // time_axis 0 (the default): columns are the sequences.
  auto t = RunOne("ReverseSequence", {{"x", FloatTensor({3, 2}, {0, 10, 1, 11, 2, 12})}, {"l", Make<int64_t>(DType::kInt64, {2}, {2, 3})}},
                  {{"y", DType::kFloat32, 2}}, 10);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(Values<float>((*t)[0].tensor), (std::vector<float>{1, 12, 0, 11, 2, 10}));
  auto bad = RunOne("ReverseSequence", {{"x", FloatTensor({3, 2}, {0, 1, 2, 3, 4, 5})}, {"l", Make<int64_t>(DType::kInt64, {2}, {4, 1})}},
                    {{"y", DType::kFloat32, 2}}, 10);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST(Det, CofactorExpansionWithPivoting) {
  // The first pivot is zero, so elimination must swap rows.
  const std::vector<double> m = {0, 1, 2, 1, 0, 3, 4, -3, 8, /*second*/ 2, 0, 0, 0, 3, 0, 0, 0, 0.5};
  auto det3 = [](const double* a) {
    return a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
  };
  auto out = RunOne("Det", {{"x", Make<double>(DType::kFloat64, {2, 3, 3}, m)}}, {{"y", DType::kFloat64, 1}}, 11);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NEAR((*out)[0].tensor.data<double>()[0], det3(m.data()), 1e-12);
  EXPECT_NEAR((*out)[0].tensor.data<double>()[1], 3.0, 1e-12);
}

// ---- DFT / STFT / MelWeightMatrix -------------------------------------------------

std::vector<std::complex<double>> NaiveDft(const std::vector<std::complex<double>>& x, bool inverse) {
  const size_t n = x.size();
  std::vector<std::complex<double>> y(n);
  for (size_t k = 0; k < n; ++k) {
    for (size_t t = 0; t < n; ++t) {
      y[k] += x[t] * std::polar(1.0, (inverse ? 2 : -2) * std::numbers::pi * double(k * t) / double(n));
    }
    if (inverse) y[k] /= double(n);
  }
  return y;
}

TEST(DFT, RealForwardComplexInverseOnesided) {
  const std::vector<float> x = {1, 2, 3, 4, 0, -1};
  std::vector<std::complex<double>> xc(x.begin(), x.end());
  const auto want = NaiveDft(xc, false);
  auto out = RunOne("DFT", {{"x", FloatTensor({1, 6, 1}, x)}}, {{"y", DType::kFloat32, 3}}, 17);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const float* y = (*out)[0].tensor.data<float>();
  ASSERT_EQ((*out)[0].tensor.shape(), (Shape{1, 6, 2}));
  EXPECT_EQ(y[1], 0.f);  // imaginary part of DC: exactly zero
  for (size_t k = 0; k < 6; ++k) {
    EXPECT_NEAR(y[2 * k], want[k].real(), 1e-5);
    EXPECT_NEAR(y[2 * k + 1], want[k].imag(), 1e-5);
  }
  // Inverse of the spectrum gives the signal back.
  auto inv = RunOne("DFT", {{"s", (*out)[0].tensor}}, {{"x", DType::kFloat32, 3}}, 17, [](onnx::NodeProto* n) { IntAttr(n, "inverse", 1); });
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  for (size_t t = 0; t < 6; ++t) {
    EXPECT_NEAR((*inv)[0].tensor.data<float>()[2 * t], x[t], 1e-5);
    EXPECT_NEAR((*inv)[0].tensor.data<float>()[2 * t + 1], 0, 1e-5);
  }
  // A huge dft_length on an empty batch must not size the twiddle tables.
  auto huge = RunOne("DFT", {{"x", FloatTensor({0, 6, 1}, {})}, {"n", Make<int64_t>(DType::kInt64, {}, {int64_t{1} << 40})}},
                     {{"y", DType::kFloat32, 3}}, 17);
  EXPECT_EQ(huge.status().code(), Code::kInvalidArgument);
  auto one = RunOne("DFT", {{"x", FloatTensor({1, 6, 1}, x)}}, {{"y", DType::kFloat32, 3}}, 17,
                    [](onnx::NodeProto* n) { IntAttr(n, "onesided", 1); });
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ((*one)[0].tensor.shape(), (Shape{1, 4, 2}));
}

TEST(STFT, FramesMatchPerFrameDft) {
  std::vector<float> sig(20);
  for (size_t i = 0; i < sig.size(); ++i) sig[i] = std::sin(0.7f * i) + 0.1f * i;
  const int64_t len = 8, step = 4;
  std::vector<float> win(len);
  for (int64_t i = 0; i < len; ++i) win[i] = 0.5f + 0.05f * i;
  auto out = RunOne("STFT", {{"s", FloatTensor({1, 20, 1}, sig)}, {"st", Make<int64_t>(DType::kInt64, {}, {step})}, {"w", FloatTensor({len}, win)}},
                    {{"y", DType::kFloat32, 4}}, 17);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Tensor& y = (*out)[0].tensor;
  ASSERT_EQ(y.shape(), (Shape{1, 4, 5, 2}));  // (20 - 8) / 4 + 1 frames, 8 / 2 + 1 bins
  for (int64_t f = 0; f < 4; ++f) {
    std::vector<std::complex<double>> frame(len);
    for (int64_t t = 0; t < len; ++t) frame[t] = double(sig[f * step + t]) * win[t];
    const auto want = NaiveDft(frame, false);
    for (int64_t k = 0; k < 5; ++k) {
      EXPECT_NEAR(y.data<float>()[(f * 5 + k) * 2], want[k].real(), 1e-4);
      EXPECT_NEAR(y.data<float>()[(f * 5 + k) * 2 + 1], want[k].imag(), 1e-4);
    }
  }
}

TEST(MelWeightMatrix, TrianglesPeakAtOne) {
  auto out = RunOne("MelWeightMatrix",
                    {{"m", Make<int32_t>(DType::kInt32, {}, {6})}, {"d", Make<int32_t>(DType::kInt32, {}, {64})},
                     {"r", Make<int32_t>(DType::kInt32, {}, {16000})}, {"lo", FloatTensor({}, {100.f})}, {"hi", FloatTensor({}, {8000.f})}},
                    {{"y", DType::kFloat32, 2}}, 17);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Tensor& y = (*out)[0].tensor;
  ASSERT_EQ(y.shape(), (Shape{33, 6}));
  for (int64_t m = 0; m < 6; ++m) {
    float peak = 0;
    for (int64_t b = 0; b < 33; ++b) {
      const float v = y.data<float>()[b * 6 + m];
      EXPECT_GE(v, 0.f);
      EXPECT_LE(v, 1.f);
      peak = std::max(peak, v);
    }
    EXPECT_EQ(peak, 1.f) << "band " << m;
  }
}

// ---- MaxPool Indices / MaxUnpool ---------------------------------------------------

TEST(MaxPoolIndices, RowAndColumnMajorAndUnpoolRoundTrip) {
  // [1, 2, 3, 4] input, 2x2 windows, stride 2 -> [1, 2, 1, 2].
  std::vector<float> x(24);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7) % 11);
  for (int64_t order : {0, 1}) {
    auto out = RunOne("MaxPool", {{"x", FloatTensor({1, 2, 3, 4}, x)}}, {{"y", DType::kFloat32, 4}, {"i", DType::kInt64, 4}}, 12,
                      [&](onnx::NodeProto* n) {
                        IntsAttr(n, "kernel_shape", {2, 2});
                        IntsAttr(n, "strides", {2, 2});
                        IntAttr(n, "storage_order", order);
                      });
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const Tensor& y = (*out)[0].tensor;
    const Tensor& ind = (*out)[1].tensor;
    ASSERT_EQ(ind.shape(), (Shape{1, 2, 1, 2}));
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t ow = 0; ow < 2; ++ow) {
        float best = -1;
        int64_t bh = 0, bw = 0;
        for (int64_t h = 0; h < 2; ++h)
          for (int64_t w = 2 * ow; w < 2 * ow + 2; ++w)
            if (x[c * 12 + h * 4 + w] > best) best = x[c * 12 + h * 4 + w], bh = h, bw = w;
        EXPECT_EQ(y.data<float>()[c * 2 + ow], best);
        EXPECT_EQ(ind.data<int64_t>()[c * 2 + ow], c * 12 + (order == 0 ? bh * 4 + bw : bw * 3 + bh));
      }
    if (order != 0) continue;
    // MaxUnpool with the pooled input's shape puts every maximum back.
    auto un = RunOne("MaxUnpool", {{"y", y}, {"i", ind}, {"s", Make<int64_t>(DType::kInt64, {4}, {1, 2, 3, 4})}}, {{"x", DType::kFloat32, 4}}, 11,
                     [](onnx::NodeProto* n) {
                       IntsAttr(n, "kernel_shape", {2, 2});
                       IntsAttr(n, "strides", {2, 2});
                     });
    ASSERT_TRUE(un.ok()) << un.status().ToString();
    const Tensor& back = (*un)[0].tensor;
    ASSERT_EQ(back.shape(), (Shape{1, 2, 3, 4}));
    for (size_t i = 0; i < back.num_elements(); ++i) {
      bool is_max = false;
      for (size_t j = 0; j < ind.num_elements(); ++j) is_max |= static_cast<size_t>(ind.data<int64_t>()[j]) == i;
      EXPECT_EQ(back.data<float>()[i], is_max ? x[i] : 0.f) << i;
    }
  }
}

TEST(MaxUnpool, OutOfRangeIndexIsAnError) {
  auto out = RunOne("MaxUnpool", {{"y", FloatTensor({1, 1, 1, 1}, {3})}, {"i", Make<int64_t>(DType::kInt64, {1, 1, 1, 1}, {4})}},
                    {{"x", DType::kFloat32, 4}}, 11, [](onnx::NodeProto* n) { IntsAttr(n, "kernel_shape", {2, 2}); });
  EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
}

// ---- GridSample -----------------------------------------------------------------------

TEST(GridSample, IdentityGridMidpointsAndPadding) {
  const int64_t H = 3, W = 4;
  std::vector<float> x(H * W);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i * i % 7);
  // align_corners=1: grid point j maps to pixel j exactly.
  std::vector<float> grid;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t w = 0; w < W; ++w) {
      grid.push_back(-1 + 2.f * w / (W - 1));
      grid.push_back(-1 + 2.f * h / (H - 1));
    }
  for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
    auto out = RunOne("GridSample", {{"x", FloatTensor({1, 1, H, W}, x)}, {"g", FloatTensor({1, H, W, 2}, grid)}}, {{"y", DType::kFloat32, 4}}, 16,
                      [&](onnx::NodeProto* n) {
                        IntAttr(n, "align_corners", 1);
                        StringAttr(n, "mode", mode);
                        StringAttr(n, "padding_mode", "border");
                      });
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR((*out)[0].tensor.data<float>()[i], x[i], 1e-5) << mode << " " << i;
  }
  // Bilinear halfway between pixels (0,0) and (0,1) is their mean; a point
  // far outside is 0 with zeros padding and the corner pixel with border.
  const std::vector<float> g2 = {-1 + 1.f / (W - 1), -1, -5, -5};
  for (const char* pad : {"zeros", "border"}) {
    auto out = RunOne("GridSample", {{"x", FloatTensor({1, 1, H, W}, x)}, {"g", FloatTensor({1, 1, 2, 2}, g2)}}, {{"y", DType::kFloat32, 4}}, 16,
                      [&](onnx::NodeProto* n) {
                        IntAttr(n, "align_corners", 1);
                        StringAttr(n, "padding_mode", pad);
                      });
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_NEAR((*out)[0].tensor.data<float>()[0], (x[0] + x[1]) / 2, 1e-5);
    EXPECT_EQ((*out)[0].tensor.data<float>()[1], pad[0] == 'z' ? 0.f : x[0]);
  }
}

// ---- TfIdfVectorizer ------------------------------------------------------------------

TEST(TfIdfVectorizer, StringPoolSkipGramsAndWeights) {
  // Unigrams "a" "b" -> outputs 0 1; bigram ("a", "c") -> output 2.
  auto attrs = [](const char* mode, int64_t skip) {
    return [=](onnx::NodeProto* n) {
      StringAttr(n, "mode", mode);
      IntAttr(n, "min_gram_length", 1);
      IntAttr(n, "max_gram_length", 2);
      IntAttr(n, "max_skip_count", skip);
      IntsAttr(n, "ngram_counts", {0, 2});
      IntsAttr(n, "ngram_indexes", {0, 1, 2});
      StringsAttr(n, "pool_strings", {"a", "b", "a", "c"});
      auto* w = n->add_attribute();
      w->set_name("weights");
      w->set_type(onnx::AttributeProto::FLOATS);
      for (float f : {0.5f, 2.f, 3.f}) w->add_floats(f);
    };
  };
  // Row: a b c a x c. ("a","c") adjacent: none; skip 1: (a,c) at 0->2 and 3->5.
  const Tensor x = Strings({1, 6}, {"a", "b", "c", "a", "x", "c"});
  auto tf0 = RunOne("TfIdfVectorizer", {{"x", x}}, {{"y", DType::kFloat32, 2}}, 9, attrs("TF", 0));
  ASSERT_TRUE(tf0.ok()) << tf0.status().ToString();
  EXPECT_EQ(Values<float>((*tf0)[0].tensor), (std::vector<float>{2, 1, 0}));
  auto tf1 = RunOne("TfIdfVectorizer", {{"x", x}}, {{"y", DType::kFloat32, 2}}, 9, attrs("TF", 1));
  ASSERT_TRUE(tf1.ok()) << tf1.status().ToString();
  EXPECT_EQ(Values<float>((*tf1)[0].tensor), (std::vector<float>{2, 1, 2}));
  auto tfidf = RunOne("TfIdfVectorizer", {{"x", x}}, {{"y", DType::kFloat32, 2}}, 9, attrs("TFIDF", 1));
  ASSERT_TRUE(tfidf.ok()) << tfidf.status().ToString();
  EXPECT_EQ(Values<float>((*tfidf)[0].tensor), (std::vector<float>{1, 2, 6}));
  auto idf = RunOne("TfIdfVectorizer", {{"x", x}}, {{"y", DType::kFloat32, 2}}, 9, attrs("IDF", 0));
  ASSERT_TRUE(idf.ok()) << idf.status().ToString();
  EXPECT_EQ(Values<float>((*idf)[0].tensor), (std::vector<float>{0.5f, 2, 0}));
}

}  // namespace
}  // namespace citadel::engine::testing
