// Shared by the tests that check Citadel against PyTorch on models exported
// with Debian's python3-torch (architectures_test.cc, recurrent_export_test.cc):
// the export cache, the export step and the output comparison.
#ifndef CITADEL_TESTS_ENGINE_TORCH_REFERENCE_H_
#define CITADEL_TESTS_ENGINE_TORCH_REFERENCE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "citadel/engine.h"
#include "citadel/npy.h"
#include "test_util.h"

namespace citadel::engine::testing {

// Exports live outside git: $CITADEL_ARCH_CACHE, else
// ~/.cache/citadel/architectures.
inline std::string TorchExportCacheDir() {
  if (const char* env = std::getenv("CITADEL_ARCH_CACHE"); env != nullptr && *env) return env;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home) {
    return std::string(home) + "/.cache/citadel/architectures";
  }
  return (std::filesystem::temp_directory_path() / "citadel-architectures").string();
}

// Whether /usr/bin/python3 can import `modules` ("torch, torchvision").
inline bool PythonCanImport(const std::string& modules) {
  const std::string cmd = "/usr/bin/python3 -c 'import " + modules + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Runs scripts/<script> --out <cache> --only <name>; the model directory.
inline std::filesystem::path ExportWithTorch(const std::string& script, const std::string& name) {
  const std::string dir = TorchExportCacheDir();
  const std::string cmd = "/usr/bin/python3 " + std::string(CITADEL_SOURCE_DIR) + "/scripts/" + script +
                          " --out '" + dir + "' --only " + name + " 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "export failed: " << cmd;
  return std::filesystem::path(dir) / name;
}

// Runs `model` on the exported inputs (in_<name>.npy) and checks every
// output against PyTorch's (out_<name>.npy): same dtype and shape, and
// max |citadel - torch| <= 1e-4 * max |torch|.
inline void ExpectMatchesTorch(const Model& model, const std::filesystem::path& model_dir, const std::string& name) {
  TensorList inputs;
  for (const TensorInfo& in : model.inputs()) {
    auto t = ReadNpyFile((model_dir / ("in_" + in.name + ".npy")).string());
    ASSERT_TRUE(t.ok()) << in.name << ": " << t.status().ToString();
    inputs.push_back({in.name, std::move(t).value()});
  }
  auto outputs = model.Run(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  ASSERT_EQ(outputs->size(), model.outputs().size());
  for (const NamedTensor& out : *outputs) {
    auto expected = ReadNpyFile((model_dir / ("out_" + out.name + ".npy")).string());
    ASSERT_TRUE(expected.ok()) << out.name << ": " << expected.status().ToString();
    ASSERT_EQ(out.tensor.dtype(), expected->dtype()) << out.name;
    ASSERT_EQ(out.tensor.shape(), expected->shape()) << out.name;
    double scale = 0, max_diff = 0;
    for (size_t i = 0; i < out.tensor.num_elements(); ++i) {
      const double e = ElementAsDouble(*expected, i);
      const double d = std::fabs(ElementAsDouble(out.tensor, i) - e);
      scale = std::max(scale, std::fabs(e));
      max_diff = std::max(max_diff, std::isnan(d) ? INFINITY : d);
    }
    EXPECT_GT(scale, 0) << name << " " << out.name << " is all zeros: a weak check";
    EXPECT_LE(max_diff, 1e-4 * scale) << name << " output " << out.name << ": max |diff| " << max_diff
                                      << ", output scale " << scale;
    std::cout << "[ vs torch ] " << name << " " << out.name << " " << ShapeToString(out.tensor.shape())
              << ": max |diff| " << max_diff << " (scale " << scale << ")\n";
  }
}

}  // namespace citadel::engine::testing

#endif  // CITADEL_TESTS_ENGINE_TORCH_REFERENCE_H_
