// torch.onnx exports of nn.LSTM (2 layers, bidirectional, batch_first,
// initial states), nn.GRU (2 layers) and nn.RNN (relu, bidirectional) at
// opsets 13 and 17 (scripts/export_recurrent.py) must match PyTorch:
// max |citadel - torch| <= 1e-4 * max |torch| per output.
//
// Exports are cached outside git ($CITADEL_ARCH_CACHE, else
// ~/.cache/citadel/architectures, like architectures_test.cc). Without
// python3-torch the tests FAIL and say so: a missing dependency must not
// look like a pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "citadel/engine.h"
#include "citadel/npy.h"
#include "test_util.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;

std::string CacheDir() {
  if (const char* env = std::getenv("CITADEL_ARCH_CACHE"); env != nullptr && *env) return env;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home) {
    return std::string(home) + "/.cache/citadel/architectures";
  }
  return (fs::temp_directory_path() / "citadel-architectures").string();
}

void CheckRecurrent(const std::string& name) {
  const bool have_torch = std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
  ASSERT_TRUE(have_torch) << "/usr/bin/python3 cannot import torch (apt-get install "
                             "python3-torch): "
                          << name << " cannot be exported, so nothing was checked";
  const std::string dir = CacheDir();
  const std::string cmd = "/usr/bin/python3 " + std::string(CITADEL_SOURCE_DIR) +
                          "/scripts/export_recurrent.py --out '" + dir + "' --only " + name +
                          " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "export failed: " << cmd;
  const fs::path model_dir = fs::path(dir) / name;
  auto model = Model::LoadFile((model_dir / "model.onnx").string());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  TensorList inputs;
  for (const TensorInfo& in : (*model)->inputs()) {
    auto t = ReadNpyFile((model_dir / ("in_" + in.name + ".npy")).string());
    ASSERT_TRUE(t.ok()) << in.name << ": " << t.status().ToString();
    inputs.push_back({in.name, std::move(t).value()});
  }
  auto outputs = (*model)->Run(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status().ToString();
  ASSERT_EQ(outputs->size(), (*model)->outputs().size());
  for (const NamedTensor& out : *outputs) {
    auto expected = ReadNpyFile((model_dir / ("out_" + out.name + ".npy")).string());
    ASSERT_TRUE(expected.ok()) << out.name << ": " << expected.status().ToString();
    ASSERT_EQ(out.tensor.dtype(), expected->dtype()) << out.name;
    ASSERT_EQ(out.tensor.shape(), expected->shape()) << out.name;
    double scale = 0, max_diff = 0;
    for (size_t i = 0; i < out.tensor.num_elements(); ++i) {
      const double e = engine::testing::ElementAsDouble(*expected, i);
      const double d = std::fabs(engine::testing::ElementAsDouble(out.tensor, i) - e);
      scale = std::max(scale, std::fabs(e));
      max_diff = std::max(max_diff, std::isnan(d) ? INFINITY : d);
    }
    EXPECT_GT(scale, 0) << name << " " << out.name << " is all zeros: a weak check";
    EXPECT_LE(max_diff, 1e-4 * scale) << name << " output " << out.name << ": max |diff| "
                                      << max_diff << ", output scale " << scale;
  }
}

TEST(TorchRecurrent, LstmOpset13) { CheckRecurrent("lstm_opset13"); }
TEST(TorchRecurrent, LstmOpset17) { CheckRecurrent("lstm_opset17"); }
TEST(TorchRecurrent, GruAndRnnOpset13) { CheckRecurrent("gru_opset13"); }
TEST(TorchRecurrent, GruAndRnnOpset17) { CheckRecurrent("gru_opset17"); }

}  // namespace
}  // namespace citadel
