// BitShift: elementwise x << y or x >> y on unsigned integers, with numpy
// broadcasting. A shift by the element width or more gives 0 (C++ leaves
// it undefined; ONNX says nothing, numpy's uint shifts give 0 too).
#include <type_traits>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class BitShiftKernel : public Kernel {
 public:
  explicit BitShiftKernel(bool left) : left_(left) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* y, RequireInput(ctx, 1, "Y"));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *y, "BitShift inputs"));
    const DType dt = x->dtype();
    if (dt != DType::kUInt8 && dt != DType::kUInt16 && dt != DType::kUInt32 && dt != DType::kUInt64) {
      return Status::Unsupported("BitShift: element type " + std::string(DTypeName(dt)) +
                                 " is not supported (unsigned integers only)");
    }
    CITADEL_ASSIGN_OR_RETURN(Shape out_shape, BroadcastShapes(x->shape(), y->shape()));
    return DispatchNumeric(dt, [&]<typename T>() -> Status {
      if constexpr (std::is_unsigned_v<T>) {
        CITADEL_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitialized(0, dt, out_shape));
        const T* a = x->data<T>();
        const T* b = y->data<T>();
        T* o = out->data<T>();
        constexpr uint64_t kBits = sizeof(T) * 8;
        const std::array<const Shape*, 2> shapes = {&x->shape(), &y->shape()};
        ForEachBroadcast<2>(out_shape, shapes, [&](size_t i, const std::array<int64_t, 2>& off) {
          const uint64_t s = static_cast<uint64_t>(b[off[1]]);
          if (s >= kBits) {
            o[i] = 0;
          } else {
            const uint64_t v = static_cast<uint64_t>(a[off[0]]);
            o[i] = static_cast<T>(left_ ? v << s : v >> s);
          }
        });
      }
      return Status::Ok();
    });
  }

 private:
  bool left_;
};

}  // namespace

void RegisterBitShiftOps(OpRegistry& r) {
  r.Register("", "BitShift", 11, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(std::string dir, init.node.attrs.GetString("direction", ""));
    if (dir != "LEFT" && dir != "RIGHT") {
      return Status::InvalidArgument("BitShift direction must be LEFT or RIGHT, got '" + dir + "'");
    }
    return std::unique_ptr<Kernel>(std::make_unique<BitShiftKernel>(dir == "LEFT"));
  });
}

}  // namespace citadel::engine::ops
