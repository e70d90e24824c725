// Constant, ConstantOfShape, Shape, Size. All produce tensors from
// attributes or from shapes; Shape/Size outputs are int64 as ONNX requires.
#include <cstring>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class ConstantKernel : public Kernel {
 public:
  explicit ConstantKernel(Tensor value) : value_(std::move(value)) {}
  Status Run(KernelContext& ctx) const override {
    ctx.SetOutput(0, value_);
    return Status::Ok();
  }

 private:
  Tensor value_;
};

Result<std::unique_ptr<Kernel>> MakeConstant(const KernelInit& init) {
  const auto& a = init.node.attrs;
  Result<Tensor> t = Status::InvalidArgument("Constant needs exactly one value attribute");
  int found = 0;
  if (a.Has("value")) { t = a.GetTensor("value"); ++found; }
  if (a.Has("value_float")) {
    CITADEL_ASSIGN_OR_RETURN(float f, a.GetFloat("value_float", 0));
    t = Tensor::FromVector(DType::kFloat32, {}, std::vector<float>{f});
    ++found;
  }
  if (a.Has("value_floats")) {
    CITADEL_ASSIGN_OR_RETURN(auto v, a.GetFloats("value_floats"));
    t = Tensor::FromVector(DType::kFloat32, {static_cast<int64_t>(v.size())}, v);
    ++found;
  }
  if (a.Has("value_int")) {
    CITADEL_ASSIGN_OR_RETURN(int64_t i, a.GetInt("value_int", 0));
    t = Tensor::FromVector(DType::kInt64, {}, std::vector<int64_t>{i});
    ++found;
  }
  if (a.Has("value_ints")) {
    CITADEL_ASSIGN_OR_RETURN(auto v, a.GetInts("value_ints", {}));
    t = Tensor::FromVector(DType::kInt64, {static_cast<int64_t>(v.size())}, v);
    ++found;
  }
  if (a.Has("sparse_value") || a.Has("value_string") || a.Has("value_strings")) {
    return Status::Unsupported("Constant with sparse or string values is not supported");
  }
  if (found != 1) return Status::InvalidArgument("Constant needs exactly one value attribute");
  if (!t.ok()) return t.status();
  return std::unique_ptr<Kernel>(std::make_unique<ConstantKernel>(std::move(t).value()));
}

class ConstantOfShapeKernel : public Kernel {
 public:
  explicit ConstantOfShapeKernel(Tensor value) : value_(std::move(value)) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* s, RequireInput(ctx, 0, "input"));
    CITADEL_ASSIGN_OR_RETURN(auto shape, ReadInt64s(*s, "ConstantOfShape shape"));
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, value_.dtype(), shape));
    const size_t w = DTypeSize(value_.dtype());
    for (size_t i = 0; i < y->num_elements(); ++i) {
      std::memcpy(y->raw_data() + i * w, value_.raw_data(), w);
    }
    return Status::Ok();
  }

 private:
  Tensor value_;
};

class ShapeKernel : public Kernel {
 public:
  ShapeKernel(int64_t start, int64_t end, bool has_end) : start_(start), end_(end), has_end_(has_end) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    auto clamp = [&](int64_t v) { v = v < 0 ? v + rank : v; return std::max<int64_t>(0, std::min(v, rank)); };
    const int64_t s = clamp(start_), e = has_end_ ? clamp(end_) : rank;
    std::vector<int64_t> dims;
    for (int64_t i = s; i < e; ++i) dims.push_back(x->shape()[i]);
    CITADEL_ASSIGN_OR_RETURN(Tensor t, Tensor::FromVector(DType::kInt64, {static_cast<int64_t>(dims.size())}, dims));
    ctx.SetOutput(0, std::move(t));
    return Status::Ok();
  }

 private:
  int64_t start_, end_;
  bool has_end_;
};

class SizeKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    CITADEL_ASSIGN_OR_RETURN(Tensor t, Tensor::FromVector(DType::kInt64, {}, std::vector<int64_t>{static_cast<int64_t>(x->num_elements())}));
    ctx.SetOutput(0, std::move(t));
    return Status::Ok();
  }
};

}  // namespace

void RegisterConstantOps(OpRegistry& r) {
  r.Register("", "Constant", 1, kMaxOnnxOpset, MakeConstant);
  r.Register("", "ConstantOfShape", 9, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    Tensor value;
    if (init.node.attrs.Has("value")) {
      CITADEL_ASSIGN_OR_RETURN(value, init.node.attrs.GetTensor("value"));
      if (value.num_elements() != 1 || value.dtype() == DType::kString) {
        return Status::InvalidArgument("ConstantOfShape value must be a one-element numeric tensor");
      }
    } else {
      CITADEL_ASSIGN_OR_RETURN(value, Tensor::FromVector(DType::kFloat32, {1}, std::vector<float>{0}));
    }
    return std::unique_ptr<Kernel>(std::make_unique<ConstantOfShapeKernel>(value));
  });
  r.Register("", "Shape", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t start, init.node.attrs.GetInt("start", 0));
    CITADEL_ASSIGN_OR_RETURN(int64_t end, init.node.attrs.GetInt("end", 0));
    return std::unique_ptr<Kernel>(std::make_unique<ShapeKernel>(start, end, init.node.attrs.Has("end")));
  });
  r.Register("", "Size", 1, kMaxOnnxOpset, SimpleFactory<SizeKernel>());
}

}  // namespace citadel::engine::ops
