// MelWeightMatrix (opset 17): [dft_length / 2 + 1, num_mel_bins]
// triangular filters with peak 1 on the mel scale mel(f) = 2595 *
// log10(1 + f / 700). Band edges are spaced by (mel_hi - mel_lo) /
// (num_mel_bins + 2) and mapped to spectrogram bins by floor((dft_length
// + 1) * f / sample_rate), as ONNX 1.12's reference (and ONNX Runtime) do.
#include <cmath>

#include "../kernel.h"
#include "../tensor_proto.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

Result<double> ReadScalar(const Tensor& t, const char* what) {
  if (t.num_elements() != 1) return Status::InvalidArgument(std::string("MelWeightMatrix ") + what + " must be a scalar");
  switch (t.dtype()) {
    case DType::kFloat32: return static_cast<double>(t.data<float>()[0]);
    case DType::kFloat64: return t.data<double>()[0];
    case DType::kInt32: return static_cast<double>(t.data<int32_t>()[0]);
    case DType::kInt64: return static_cast<double>(t.data<int64_t>()[0]);
    default: return Status::InvalidArgument(std::string("MelWeightMatrix ") + what + " has an unsupported type");
  }
}

class MelWeightMatrixKernel : public Kernel {
 public:
  explicit MelWeightMatrixKernel(DType dtype) : dtype_(dtype) {}
  Status Run(KernelContext& ctx) const override {
    double v[5];
    const char* names[5] = {"num_mel_bins", "dft_length", "sample_rate", "lower_edge_hertz", "upper_edge_hertz"};
    for (size_t i = 0; i < 5; ++i) {
      CITADEL_ASSIGN_OR_RETURN(const Tensor* t, RequireInput(ctx, i, names[i]));
      CITADEL_ASSIGN_OR_RETURN(v[i], ReadScalar(*t, names[i]));
    }
    const double mels_d = v[0], dft_d = v[1], rate = v[2], lo = v[3], hi = v[4];
    if (mels_d <= 0 || mels_d > (1 << 20) || dft_d <= 0 || dft_d > (1 << 24) || rate <= 0 || !(lo >= 0) || !(hi > lo)) {
      return Status::InvalidArgument("MelWeightMatrix: inputs out of range");
    }
    const int64_t mels = static_cast<int64_t>(mels_d), dft = static_cast<int64_t>(dft_d);
    const int64_t spec_bins = dft / 2 + 1;
    const double mel_lo = 2595 * std::log10(1 + lo / 700), mel_hi = 2595 * std::log10(1 + hi / 700);
    const double step = (mel_hi - mel_lo) / static_cast<double>(mels + 2);
    std::vector<int64_t> edge(mels + 2);
    for (int64_t i = 0; i < mels + 2; ++i) {
      const double hz = 700 * (std::pow(10.0, (i * step + mel_lo) / 2595) - 1);
      edge[i] = static_cast<int64_t>(std::floor((dft + 1) * hz / rate));
      edge[i] = std::min<int64_t>(std::max<int64_t>(edge[i], 0), spec_bins - 1);
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, dtype_, {spec_bins, mels}));
    return DispatchFloat(dtype_, [&]<typename T>() -> Status {
      T* out = y->data<T>();
      for (int64_t i = 0; i < mels; ++i) {
        const int64_t l = edge[i], c = edge[i + 1], h = edge[i + 2];
        if (c == l) {
          out[c * mels + i] = 1;
        } else {
          for (int64_t j = l; j <= c; ++j) out[j * mels + i] = static_cast<T>(double(j - l) / double(c - l));
        }
        for (int64_t j = c; j < h; ++j) out[j * mels + i] = static_cast<T>(double(h - j) / double(h - c));
      }
      return Status::Ok();
    });
  }

 private:
  DType dtype_;
};

}  // namespace

void RegisterMelWeightMatrixOps(OpRegistry& r) {
  r.Register("", "MelWeightMatrix", 17, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t odt, init.node.attrs.GetInt("output_datatype", 1));
    CITADEL_ASSIGN_OR_RETURN(DType dt, DTypeFromOnnx(static_cast<int32_t>(odt)));
    if (!IsFloatType(dt)) {
      return Status::Unsupported("MelWeightMatrix output_datatype " + std::string(DTypeName(dt)) +
                                 " is not supported (float32/float64 only)");
    }
    return std::unique_ptr<Kernel>(std::make_unique<MelWeightMatrixKernel>(dt));
  });
}

}  // namespace citadel::engine::ops
