// Cast and CastLike between all numeric types, bool and the 16-bit floats.
// 16-bit floats go through float32 (round to nearest even both ways).
// Strings are not supported.
#include <cmath>
#include <cstring>
#include <type_traits>

#include "../kernel.h"
#include "../tensor_proto.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

// Reads element i of any non-string tensor as double.
double Load(const Tensor& t, size_t i) {
  switch (t.dtype()) {
    case DType::kFloat16: return HalfToFloat(t.data<uint16_t>()[i]);
    case DType::kBFloat16: return BFloat16ToFloat(t.data<uint16_t>()[i]);
    case DType::kBool: return t.raw_data()[i] != 0;
    default: {
      double v = 0;
      (void)DispatchNumeric(t.dtype(), [&]<typename T>() {
        v = static_cast<double>(t.data<T>()[i]);
        return Status::Ok();
      });
      return v;
    }
  }
}

// Float -> integer conversion is undefined in C++ when out of range; ONNX
// leaves it implementation-defined. Go through int64 (or uint64) with NaN
// and overflow mapped to 0 so hostile inputs stay defined.
template <typename T>
T ToInt(double v) {
  if (!std::isfinite(v)) return 0;
  if constexpr (std::is_same_v<T, uint64_t>) {
    return v < 0 || v >= 1.8446744073709552e19 ? 0 : static_cast<uint64_t>(v);
  } else {
    if (v <= -9.2233720368547758e18 || v >= 9.2233720368547758e18) return 0;
    return static_cast<T>(static_cast<int64_t>(v));
  }
}

Status CastTensor(const Tensor& x, DType to, KernelContext& ctx) {
  if (x.dtype() == DType::kString || to == DType::kString) {
    return Status::Unsupported("Cast to or from string is not supported");
  }
  CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, to, x.shape()));
  const size_t n = x.num_elements();
  if (x.dtype() == to) {
    std::memcpy(y->raw_data(), x.raw_data(), x.byte_size());
    return Status::Ok();
  }
  // float32 -> float16/bfloat16 directly, so rounding matches numpy.
  if (x.dtype() == DType::kFloat32 && (to == DType::kFloat16 || to == DType::kBFloat16)) {
    for (size_t i = 0; i < n; ++i) {
      float f = x.data<float>()[i];
      y->data<uint16_t>()[i] = to == DType::kFloat16 ? FloatToHalf(f) : FloatToBFloat16(f);
    }
    return Status::Ok();
  }
  switch (to) {
    case DType::kFloat16:
      for (size_t i = 0; i < n; ++i) y->data<uint16_t>()[i] = FloatToHalf(static_cast<float>(Load(x, i)));
      return Status::Ok();
    case DType::kBFloat16:
      for (size_t i = 0; i < n; ++i) y->data<uint16_t>()[i] = FloatToBFloat16(static_cast<float>(Load(x, i)));
      return Status::Ok();
    case DType::kBool:
      for (size_t i = 0; i < n; ++i) y->raw_data()[i] = Load(x, i) != 0;
      return Status::Ok();
    default:
      return DispatchNumeric(to, [&]<typename T>() -> Status {
        T* out = y->data<T>();
        // Integer -> integer keeps exact 64-bit values (double would round).
        if (x.dtype() == DType::kInt64 && std::is_integral_v<T>) {
          for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(x.data<int64_t>()[i]);
        } else if (x.dtype() == DType::kUInt64 && std::is_integral_v<T>) {
          for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(x.data<uint64_t>()[i]);
        } else {
          for (size_t i = 0; i < n; ++i) {
            if constexpr (std::is_integral_v<T>) out[i] = ToInt<T>(Load(x, i));
            else out[i] = static_cast<T>(Load(x, i));
          }
        }
        return Status::Ok();
      });
  }
}

class CastKernel : public Kernel {
 public:
  explicit CastKernel(DType to) : to_(to) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    return CastTensor(*x, to_, ctx);
  }

 private:
  DType to_;
};

class CastLikeKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* like, RequireInput(ctx, 1, "target_type"));
    return CastTensor(*x, like->dtype(), ctx);
  }
};

Status RejectStrings(const KernelInit& init, DType to) {
  const ValueType* in = init.InputType(0);
  if (to == DType::kString || (in != nullptr && in->dtype == DType::kString)) {
    return Status::Unsupported("Cast to or from string is not supported");
  }
  return Status::Ok();
}

}  // namespace

void RegisterCastOps(OpRegistry& r) {
  r.Register("", "Cast", 6, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    if (!init.node.attrs.Has("to")) return Status::InvalidArgument("Cast needs 'to'");
    CITADEL_ASSIGN_OR_RETURN(int64_t to, init.node.attrs.GetInt("to", 0));
    CITADEL_ASSIGN_OR_RETURN(DType dt, DTypeFromOnnx(static_cast<int32_t>(to)));
    CITADEL_RETURN_IF_ERROR(RejectStrings(init, dt));
    return std::unique_ptr<Kernel>(std::make_unique<CastKernel>(dt));
  });
  r.Register("", "CastLike", 15, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const ValueType* like = init.InputType(1);
    CITADEL_RETURN_IF_ERROR(RejectStrings(init, like && like->dtype ? *like->dtype : DType::kFloat32));
    return std::unique_ptr<Kernel>(std::make_unique<CastLikeKernel>());
  });
}

}  // namespace citadel::engine::ops
