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

#include <string>

#include "citadel/engine.h"
#include "torch_reference.h"

namespace citadel {
namespace {

void CheckRecurrent(const std::string& name) {
  ASSERT_TRUE(engine::testing::PythonCanImport("torch"))
      << "/usr/bin/python3 cannot import torch (apt-get install python3-torch): " << name
      << " cannot be exported, so nothing was checked";
  const auto model_dir = engine::testing::ExportWithTorch("export_recurrent.py", name);
  auto model = Model::LoadFile((model_dir / "model.onnx").string());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  engine::testing::ExpectMatchesTorch(**model, model_dir, name);
}

TEST(TorchRecurrent, LstmOpset13) { CheckRecurrent("lstm_opset13"); }
TEST(TorchRecurrent, LstmOpset17) { CheckRecurrent("lstm_opset17"); }
TEST(TorchRecurrent, GruAndRnnOpset13) { CheckRecurrent("gru_opset13"); }
TEST(TorchRecurrent, GruAndRnnOpset17) { CheckRecurrent("gru_opset17"); }

}  // namespace
}  // namespace citadel
