// The conformance runner (include/citadel/conformance.h): its comparison
// rules, its classification on hand-built cases, its JSON report, and a run
// over the whole libonnx-testdata suite that must have no failure except the
// ones listed (with their reasons) below.
#include "citadel/conformance.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "test_util.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;
using conformance::CaseStatus;
using engine::testing::AddNode;
using engine::testing::FloatTensor;
using engine::testing::MakeModel;

TEST(ConformanceCompare, FloatTolerancesLikeTheOnnxRunner) {
  Tensor e = FloatTensor({3}, {1.0f, 1000.0f, NAN});
  // rtol 1e-3 of |expected| plus atol 1e-7.
  EXPECT_EQ(conformance::CompareTensors(e, FloatTensor({3}, {1.0009f, 1000.9f, NAN})), "");
  EXPECT_NE(conformance::CompareTensors(e, FloatTensor({3}, {1.0011f, 1000.0f, NAN})), "");
  EXPECT_NE(conformance::CompareTensors(e, FloatTensor({3}, {1.0f, 1001.2f, NAN})), "");
  // NaN matches only NaN; infinities must be equal.
  EXPECT_NE(conformance::CompareTensors(e, FloatTensor({3}, {1.0f, 1000.0f, 0.0f})), "");
  EXPECT_NE(conformance::CompareTensors(FloatTensor({1}, {0.0f}), FloatTensor({1}, {NAN})), "");
  EXPECT_EQ(conformance::CompareTensors(FloatTensor({1}, {INFINITY}), FloatTensor({1}, {INFINITY})), "");
  EXPECT_NE(conformance::CompareTensors(FloatTensor({1}, {INFINITY}), FloatTensor({1}, {-INFINITY})), "");
  // Near zero only atol applies.
  EXPECT_NE(conformance::CompareTensors(FloatTensor({1}, {0.0f}), FloatTensor({1}, {1e-6f})), "");
}

TEST(ConformanceCompare, IntegersExactDtypeAndShapeMustMatch) {
  auto i64 = [](std::vector<int64_t> v) {
    return Tensor::FromVector(DType::kInt64, {static_cast<int64_t>(v.size())}, v).value();
  };
  // 2^53 + 1 vs 2^53: equal as doubles, different as integers.
  EXPECT_NE(conformance::CompareTensors(i64({(int64_t{1} << 53) + 1}), i64({int64_t{1} << 53})), "");
  EXPECT_EQ(conformance::CompareTensors(i64({-5, 7}), i64({-5, 7})), "");
  EXPECT_NE(conformance::CompareTensors(FloatTensor({2}, {1, 2}), i64({1, 2})), "");
  EXPECT_NE(conformance::CompareTensors(FloatTensor({2}, {1, 2}), FloatTensor({1, 2}, {1, 2})), "");
}

// A temporary data directory with folder "mini" holding hand-built cases.
class ConformanceRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("citadel_conf_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "mini");
  }
  void TearDown() override { fs::remove_all(root_); }

  void WriteProto(const fs::path& p, const google::protobuf::MessageLite& m) {
    fs::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary);
    ASSERT_TRUE(m.SerializeToOstream(&f));
  }
  void WriteTensor(const fs::path& p, const Tensor& t, const std::string& name) {
    onnx::TensorProto proto;
    ASSERT_TRUE(engine::TensorToProto(t, name, &proto).ok());
    WriteProto(p, proto);
  }
  // Case with one node `op` over x:[2] -> y:[2], given input and expected output.
  void MakeCase(const std::string& name, const std::string& op, const Tensor& x,
                const Tensor& y) {
    auto m = MakeModel({{"x", onnx::TensorProto::FLOAT, {2}}}, {{"y", onnx::TensorProto::FLOAT, {2}}});
    AddNode(&m, op, {"x"}, {"y"});
    WriteProto(root_ / "mini" / name / "model.onnx", m);
    WriteTensor(root_ / "mini" / name / "test_data_set_0" / "input_0.pb", x, "x");
    WriteTensor(root_ / "mini" / name / "test_data_set_0" / "output_0.pb", y, "y");
  }
  conformance::Options Opts() {
    conformance::Options o;
    o.data_dir = root_.string();
    o.folders = {"mini", "absent"};
    return o;
  }
  fs::path root_;
};

TEST_F(ConformanceRunnerTest, ClassifiesPassFailUnsupportedError) {
  MakeCase("test_relu_ok", "Relu", FloatTensor({2}, {-1, 2}), FloatTensor({2}, {0, 2}));
  MakeCase("test_relu_wrong", "Relu", FloatTensor({2}, {-1, 2}), FloatTensor({2}, {0, 3}));
  MakeCase("test_unknown_op", "NoSuchOp", FloatTensor({2}, {-1, 2}), FloatTensor({2}, {0, 2}));
  // Reference data contradicting the model's declared input shape.
  MakeCase("test_bad_data", "Relu", FloatTensor({3}, {-1, 2, 3}), FloatTensor({3}, {0, 2, 3}));
  fs::create_directories(root_ / "mini" / "test_no_data");
  fs::copy(root_ / "mini" / "test_relu_ok" / "model.onnx", root_ / "mini" / "test_no_data" / "model.onnx");

  auto report = conformance::Run(Opts());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::map<std::string, conformance::CaseResult> by_name;
  for (const auto& t : report->tests) by_name[t.name] = t;
  ASSERT_EQ(by_name.size(), 5u);
  EXPECT_EQ(by_name["test_relu_ok"].status, CaseStatus::kPass);
  EXPECT_EQ(by_name["test_relu_wrong"].status, CaseStatus::kFail);
  EXPECT_NE(by_name["test_relu_wrong"].reason.find("element 1"), std::string::npos);
  EXPECT_EQ(by_name["test_unknown_op"].status, CaseStatus::kUnsupported);
  EXPECT_NE(by_name["test_unknown_op"].reason.find("NoSuchOp"), std::string::npos);
  EXPECT_EQ(by_name["test_bad_data"].status, CaseStatus::kError);
  EXPECT_EQ(by_name["test_no_data"].status, CaseStatus::kError);
  EXPECT_EQ(report->summary.total, 5u);
  EXPECT_EQ(report->summary.pass, 1u);
  EXPECT_EQ(report->summary.fail, 1u);
  EXPECT_EQ(report->summary.unsupported, 1u);
  EXPECT_EQ(report->summary.error, 2u);
  EXPECT_EQ(report->folders["mini"].total, 5u);

  // The JSON report has the documented shape.
  std::string json = conformance::ReportToJson(*report);
  EXPECT_NE(json.find("\"summary\": {\"total\": 5, \"pass\": 1, \"fail\": 1, \"unsupported\": 1, \"error\": 2}"),
            std::string::npos) << json;
  EXPECT_NE(json.find("{\"name\": \"test_relu_ok\", \"folder\": \"mini\", \"status\": \"pass\", \"reason\": \"\"}"),
            std::string::npos) << json;
  std::string text = conformance::ReportToText(*report);
  EXPECT_NE(text.find("overall: 5 cases, 1 pass, 1 fail, 1 unsupported, 2 error"), std::string::npos) << text;
}

TEST_F(ConformanceRunnerTest, FilterAndBadRegex) {
  MakeCase("test_relu_ok", "Relu", FloatTensor({2}, {-1, 2}), FloatTensor({2}, {0, 2}));
  MakeCase("test_abs_ok", "Abs", FloatTensor({2}, {-1, 2}), FloatTensor({2}, {1, 2}));
  auto o = Opts();
  o.filter = "^mini/test_abs";
  auto report = conformance::Run(o);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->tests.size(), 1u);
  EXPECT_EQ(report->tests[0].name, "test_abs_ok");
  EXPECT_EQ(report->tests[0].status, CaseStatus::kPass);
  o.filter = "(";
  EXPECT_EQ(conformance::Run(o).status().code(), Code::kInvalidArgument);
  o.data_dir = (root_ / "nope").string();
  EXPECT_FALSE(conformance::Run(o).ok());
}

// ---- the real suite ---------------------------------------------------------
// Every case in the four folders runs (about two seconds). Any `fail` or
// `error` not listed here fails the test, and so does a listed case that no
// longer fails (so the list only shrinks). `unsupported` is allowed: the
// per-op suites in conformance_test.cc pin those down.
const std::map<std::string, std::string> kKnownFailures = {
    // ONNX 1.12's reference truncates float->bfloat16; Citadel rounds to
    // nearest even (what later ONNX references and hardware do).
    {"node/test_cast_FLOAT_to_BFLOAT16", "fail"},
    // ONNX 1.12's data re-bases MaxUnpool indices from the default output
    // shape when output_shape is given; the spec (and ONNX Runtime, which
    // fails it too) index the given shape.
    {"node/test_maxunpool_export_with_output_shape", "fail"},
    // Training-mode Dropout is random: the reference uses numpy's generator.
    {"node/test_training_dropout", "fail"},
    {"node/test_training_dropout_default", "fail"},
    {"node/test_training_dropout_default_mask", "fail"},
    {"node/test_training_dropout_mask", "fail"},
    // With non-integer scales, ONNX 1.12's reference resizer divides by the
    // unfloored output length (in * scale - 1) for align_corners; the spec
    // (and ONNX Runtime, which fails these too) uses the output length.
    {"node/test_resize_downsample_scales_cubic_align_corners", "fail"},
    {"node/test_resize_downsample_scales_linear_align_corners", "fail"},
    // Reference data contradicts the model: input 'like' is [1], model says [3,4].
    {"node/test_castlike_BFLOAT16_to_FLOAT", "error"},
    {"node/test_castlike_BFLOAT16_to_FLOAT_expanded", "error"},
    {"node/test_castlike_FLOAT_to_BFLOAT16", "error"},
    {"node/test_castlike_FLOAT_to_BFLOAT16_expanded", "error"},
};

TEST(ConformanceSuite, WholeSuiteHasNoUnexpectedFailure) {
  if (!fs::exists(conformance::kDefaultDataDir)) GTEST_SKIP() << "libonnx-testdata is not installed";
  auto report = conformance::Run(conformance::Options{});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::set<std::string> still_failing;
  for (const auto& t : report->tests) {
    const std::string key = t.folder + "/" + t.name;
    if (t.status != CaseStatus::kFail && t.status != CaseStatus::kError) continue;
    auto it = kKnownFailures.find(key);
    if (it != kKnownFailures.end() && it->second == conformance::CaseStatusName(t.status)) {
      still_failing.insert(key);
      continue;
    }
    ADD_FAILURE() << conformance::CaseStatusName(t.status) << " " << key << ": " << t.reason;
  }
  for (const auto& [key, status] : kKnownFailures) {
    EXPECT_TRUE(still_failing.count(key)) << key << " no longer is '" << status
                                          << "': remove it from kKnownFailures";
  }
  EXPECT_GE(report->summary.total, 1000u);
  // Raise as ops land; a drop means something that passed stopped passing.
  EXPECT_GE(report->summary.pass, 1011u);
  std::cout << conformance::ReportToText(*report, /*list_failures=*/false);
}

}  // namespace
}  // namespace citadel
