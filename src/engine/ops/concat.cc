// Concat and Split: byte-level copies of [outer, axis*inner] blocks, so they
// work for every fixed-size element type.
//
// Concat along channels of channel-blocked activations whose channel counts
// are whole blocks is the same copy along the physical block axis
// ([N, C/B, H, W, B] concatenated on axis 1), so the plan may keep such a
// Concat (SqueezeNet's fire modules) inside a blocked region.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../dnnl_util.h"
#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class ConcatKernel : public Kernel {
 public:
  ConcatKernel(int64_t axis, bool blockable) : axis_(axis), blockable_(blockable) {}

  bool CanReadBlocked(size_t) const override { return blockable_; }
  bool CanWriteBlocked() const override { return blockable_; }
  bool BlockedTied() const override { return true; }

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* first, RequireInput(ctx, 0, "inputs"));
    const int64_t rank = static_cast<int64_t>(first->rank());
    int64_t axis = 1;  // blocked: the physical block axis
    if (ctx.blocked_channels(0) > 0) {
      for (size_t i = 0; i < ctx.num_inputs(); ++i) {
        const int64_t ch = ctx.blocked_channels(i);
        if (ch <= 0 || ch % ActivationBlock() != 0 || !ctx.output_blocked()) {
          return Status::Internal("Concat got mixed or partial-block layouts");
        }
      }
    } else {
      CITADEL_ASSIGN_OR_RETURN(axis, NormalizeAxis(axis_, rank));
    }
    Shape out_shape = first->shape();
    out_shape[axis] = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      CITADEL_ASSIGN_OR_RETURN(const Tensor* t, RequireInput(ctx, i, "inputs"));
      CITADEL_RETURN_IF_ERROR(ExpectSameDType(*first, *t, "Concat inputs"));
      bool ok = t->rank() == first->rank();
      for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis || t->shape()[d] == first->shape()[d];
      if (!ok) {
        return Status::InvalidArgument("Concat input " + std::to_string(i) + " " +
                                       ShapeToString(t->shape()) + " does not match " +
                                       ShapeToString(first->shape()) + " off axis " +
                                       std::to_string(axis));
      }
      out_shape[axis] += t->shape()[axis];
    }
    // The copies below cover every output row.
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, first->dtype(), out_shape));
    int64_t outer = 1, inner = static_cast<int64_t>(DTypeSize(first->dtype()));
    for (int64_t d = 0; d < axis; ++d) outer *= out_shape[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= out_shape[d];
    const int64_t out_row = out_shape[axis] * inner;
    // The copies, cut into pieces of at most kPiece bytes so that large
    // ones (SqueezeNet's fire modules: megabytes at batch 8) are shared by
    // the threads.
    constexpr int64_t kPiece = 64 << 10;
    struct Piece {
      uint8_t* dst;
      const uint8_t* src;
      int64_t bytes;
    };
    std::vector<Piece> pieces;
    int64_t offset = 0, total = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor* t = ctx.input(i);
      const int64_t row = t->shape()[axis] * inner;
      for (int64_t o = 0; o < outer; ++o) {
        uint8_t* dst = y->raw_data() + o * out_row + offset;
        const uint8_t* src = t->raw_data() + o * row;
        for (int64_t at = 0; at < row; at += kPiece) {
          pieces.push_back({dst + at, src + at, std::min(kPiece, row - at)});
        }
      }
      offset += row;
      total += row * outer;
    }
    const int64_t n = static_cast<int64_t>(pieces.size());
#pragma omp parallel for schedule(static) if (total >= (1 << 18) && n > 1)
    for (int64_t p = 0; p < n; ++p) std::memcpy(pieces[p].dst, pieces[p].src, pieces[p].bytes);
    return Status::Ok();
  }

 private:
  int64_t axis_;
  bool blockable_;
};

class SplitKernel : public Kernel {
 public:
  SplitKernel(int64_t axis, std::vector<int64_t> split, bool split_input)
      : axis_(axis), split_(std::move(split)), split_input_(split_input) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, rank));
    std::vector<int64_t> split = split_;
    if (split_input_ && ctx.input(1) != nullptr) {
      CITADEL_ASSIGN_OR_RETURN(split, ReadInt64s(*ctx.input(1), "split"));
    }
    const int64_t n = static_cast<int64_t>(ctx.num_outputs());
    const int64_t dim = x->shape()[axis];
    if (split.empty()) {
      if (n == 0 || dim % n != 0) {
        return Status::InvalidArgument("Split: dimension " + std::to_string(dim) +
                                       " is not divisible into " + std::to_string(n) + " parts");
      }
      split.assign(n, dim / n);
    }
    int64_t total = 0;
    for (int64_t s : split) {
      if (s < 0) return Status::InvalidArgument("Split: negative split size");
      total += s;
    }
    if (static_cast<int64_t>(split.size()) != n || total != dim) {
      return Status::InvalidArgument("Split sizes " + ShapeToString(split) + " do not match dimension " +
                                     std::to_string(dim) + " with " + std::to_string(n) + " outputs");
    }
    int64_t outer = 1, inner = static_cast<int64_t>(DTypeSize(x->dtype()));
    for (int64_t d = 0; d < axis; ++d) outer *= x->shape()[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= x->shape()[d];
    const int64_t in_row = dim * inner;
    int64_t offset = 0;
    for (int64_t i = 0; i < n; ++i) {
      Shape s = x->shape();
      s[axis] = split[i];
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(i, x->dtype(), s));
      const int64_t row = split[i] * inner;
      for (int64_t o = 0; o < outer; ++o) {
        std::memcpy(y->raw_data() + o * row, x->raw_data() + o * in_row + offset, row);
      }
      offset += row;
    }
    return Status::Ok();
  }

 private:
  int64_t axis_;
  std::vector<int64_t> split_;
  bool split_input_;
};

}  // namespace

void RegisterConcatOps(OpRegistry& r) {
  r.Register("", "Concat", 4, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    if (!init.node.attrs.Has("axis")) return Status::InvalidArgument("Concat needs an axis");
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 0));
    // Blockable: 4-D float32 inputs concatenated on channels, each a whole
    // number of channel blocks (so no padding ends up inside the result).
    bool blockable = !DnnlDisabled() && (axis == 1 || axis == -3) && init.num_inputs() > 0;
    for (size_t i = 0; blockable && i < init.num_inputs(); ++i) {
      const ValueType* t = init.InputType(i);
      blockable = t != nullptr && t->dtype && *t->dtype == DType::kFloat32 && t->shape &&
                  t->shape->size() == 4 && (*t->shape)[1] > 0 &&
                  (*t->shape)[1] % ActivationBlock() == 0;
    }
    return std::unique_ptr<Kernel>(std::make_unique<ConcatKernel>(axis, blockable));
  });
  r.Register("", "Split", 2, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t axis, init.node.attrs.GetInt("axis", 0));
    const bool from_input = init.opset >= 13;
    std::vector<int64_t> split;
    if (!from_input) {
      CITADEL_ASSIGN_OR_RETURN(split, init.node.attrs.GetInts("split", {}));
    }
    return std::unique_ptr<Kernel>(std::make_unique<SplitKernel>(axis, split, from_input));
  });
}

}  // namespace citadel::engine::ops
