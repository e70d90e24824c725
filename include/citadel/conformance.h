// ONNX conformance runner: runs the ONNX backend test cases shipped by
// Debian's libonnx-testdata (folders node, simple, pytorch-converted,
// pytorch-operator) through citadel::Model and classifies each case.
//
// A case directory holds model.onnx and test_data_set_*/{input,output}_N.pb
// (TensorProtos). Outputs are compared like the ONNX runner does: floats with
// |actual - expected| <= atol + rtol * |expected| (rtol 1e-3, atol 1e-7),
// NaN matches NaN, infinities must be equal; integers, bools and strings
// exactly.
//
// Classification:
//   pass         every data set's outputs match.
//   fail         Load failed with anything but Unsupported, Run failed (even
//                with Unsupported: the contract is that what Load accepts,
//                Run runs), or an output differs.
//   unsupported  Load said Unsupported (an op, opset, element type, or a
//                non-tensor graph input/output such as a sequence).
//   error        the case itself cannot be used (no model, no data sets,
//                unreadable or non-tensor test data).
#ifndef CITADEL_CONFORMANCE_H_
#define CITADEL_CONFORMANCE_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "citadel/status.h"
#include "citadel/tensor.h"

namespace citadel::conformance {

enum class CaseStatus { kPass, kFail, kUnsupported, kError };

// "pass", "fail", "unsupported", "error".
const char* CaseStatusName(CaseStatus s);

struct CaseResult {
  std::string name;    // "test_relu"
  std::string folder;  // "node"
  CaseStatus status = CaseStatus::kError;
  std::string reason;  // "" on pass
  double seconds = 0;
};

struct Summary {
  size_t total = 0, pass = 0, fail = 0, unsupported = 0, error = 0;
  void Add(CaseStatus s);
};

struct Report {
  std::vector<CaseResult> tests;          // in run order (folder, then name)
  Summary summary;                         // all folders
  std::map<std::string, Summary> folders;  // per folder
};

inline constexpr const char* kDefaultDataDir = "/usr/share/libonnx-testdata/data";

struct Options {
  std::string data_dir = kDefaultDataDir;
  std::vector<std::string> folders = {"node", "simple", "pytorch-converted", "pytorch-operator"};
  // ECMAScript regex; a case runs when it matches the case name or
  // "folder/name". Empty = every case.
  std::string filter;
  double rtol = 1e-3;
  double atol = 1e-7;
  // Called after each case (progress output); may be empty.
  std::function<void(const CaseResult&)> on_case;
};

// Compares like the ONNX runner. Returns "" when equal, else a description
// of the first mismatch (dtype, shape or element).
std::string CompareTensors(const Tensor& expected, const Tensor& actual, double rtol = 1e-3,
                           double atol = 1e-7);

// Reads a serialized onnx TensorProto file (test data).
Result<Tensor> ReadTensorProtoFile(const std::string& path);

// Runs one case directory.
CaseResult RunCase(const std::string& case_dir, const std::string& folder,
                   const Options& options = {});

// Runs every selected case. Fails only when the data directory is missing or
// the filter is not a valid regex; a missing folder is skipped.
Result<Report> Run(const Options& options);

// {"summary": {"total", "pass", "fail", "unsupported", "error"},
//  "folders": {"node": {...}, ...},
//  "tests": [{"name", "folder", "status", "reason"}]}
std::string ReportToJson(const Report& report);
// Per-folder and overall counts, then every non-passing case with its reason.
std::string ReportToText(const Report& report, bool list_failures = true);

}  // namespace citadel::conformance

#endif  // CITADEL_CONFORMANCE_H_
