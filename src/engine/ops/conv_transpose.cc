// ConvTranspose: reference kernel (scatter form). Every input element adds
// x * W[c, m, k...] to output position in*stride + k*dilation - pad_begin,
// for each kernel offset k; positions outside the output are dropped.
// Attributes: group, kernel_shape, strides, dilations, pads, output_padding,
// output_shape and auto_pad, with the output size and padding rules of the
// ONNX spec (output_shape, or SAME_*, derive the pads: SAME_UPPER puts the
// smaller half first).
#include <algorithm>
#include <string>
#include <vector>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

bool MulAdd(int64_t a, int64_t b, int64_t c, int64_t* r) {  // r = a * b + c
  int64_t t;
  return !__builtin_mul_overflow(a, b, &t) && !__builtin_add_overflow(t, c, r);
}

class ConvTransposeKernel : public Kernel {
 public:
  ConvTransposeKernel(SpatialParams p, int64_t group, std::vector<int64_t> output_padding,
                      std::vector<int64_t> output_shape)
      : p_(std::move(p)), group_(group), output_padding_(std::move(output_padding)),
        output_shape_(std::move(output_shape)) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* w, RequireInput(ctx, 1, "W"));
    const Tensor* b = ctx.input(2);
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *w, "ConvTranspose W"));
    if (b != nullptr) CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *b, "ConvTranspose B"));
    if (x->rank() < 3) return Status::InvalidArgument("ConvTranspose X must have rank >= 3");
    if (w->rank() != x->rank()) return Status::InvalidArgument("ConvTranspose W rank must equal X rank");
    const size_t sp = x->rank() - 2;
    const int64_t N = x->shape()[0], C = x->shape()[1];
    if (w->shape()[0] != C || C % group_ != 0) {
      return Status::InvalidArgument("ConvTranspose W dim 0 must equal X channels, divisible by group");
    }
    const int64_t Mg = w->shape()[1];
    int64_t M;
    if (__builtin_mul_overflow(Mg, group_, &M)) return Status::InvalidArgument("ConvTranspose: too many channels");
    if (b != nullptr && (b->rank() != 1 || b->shape()[0] != M)) {
      return Status::InvalidArgument("ConvTranspose B must have shape [M]");
    }
    // Geometry, per spatial dim.
    std::vector<int64_t> kernel(w->shape().begin() + 2, w->shape().end());
    if (!p_.kernel.empty() && p_.kernel != kernel) {
      return Status::InvalidArgument("ConvTranspose kernel_shape does not match W");
    }
    auto per_dim = [&](const std::vector<int64_t>& v, int64_t def, size_t n, const char* what,
                       std::vector<int64_t>* out) -> Status {
      if (v.empty()) { out->assign(n, def); return Status::Ok(); }
      if (v.size() != n) {
        return Status::InvalidArgument(std::string("ConvTranspose ") + what + " does not match " +
                                       std::to_string(sp) + " spatial dimensions");
      }
      *out = v;
      return Status::Ok();
    };
    std::vector<int64_t> strides, dil, pads, opad, oshape;
    CITADEL_RETURN_IF_ERROR(per_dim(p_.strides, 1, sp, "strides", &strides));
    CITADEL_RETURN_IF_ERROR(per_dim(p_.dilations, 1, sp, "dilations", &dil));
    CITADEL_RETURN_IF_ERROR(per_dim(p_.pads, 0, 2 * sp, "pads", &pads));
    CITADEL_RETURN_IF_ERROR(per_dim(output_padding_, 0, sp, "output_padding", &opad));
    if (!output_shape_.empty()) {
      std::vector<int64_t> os = output_shape_;
      if (os.size() == sp + 2) os.erase(os.begin(), os.begin() + 2);  // full shape given
      CITADEL_RETURN_IF_ERROR(per_dim(os, 0, sp, "output_shape", &oshape));
    }
    Shape out_shape = {N, M};
    std::vector<int64_t> pad_begin(sp);
    for (size_t i = 0; i < sp; ++i) {
      const int64_t in = x->shape()[i + 2];
      if (strides[i] <= 0 || dil[i] <= 0 || pads[i] < 0 || pads[i + sp] < 0 || opad[i] < 0 ||
          kernel[i] <= 0) {
        return Status::InvalidArgument("ConvTranspose: strides, dilations and kernel must be positive, "
                                       "pads and output_padding non-negative");
      }
      // Unpadded ("full") output length: stride*(in-1) + output_padding + (k-1)*dilation + 1.
      int64_t ext, full;
      if (!MulAdd(kernel[i] - 1, dil[i], 1, &ext) || !MulAdd(strides[i], in - 1, opad[i], &full) ||
          __builtin_add_overflow(full, ext, &full)) {
        return Status::InvalidArgument("ConvTranspose output size overflows");
      }
      int64_t out;
      if (!oshape.empty() || p_.auto_pad == "SAME_UPPER" || p_.auto_pad == "SAME_LOWER") {
        if (!oshape.empty()) {
          out = oshape[i];
        } else if (__builtin_mul_overflow(in, strides[i], &out)) {
          return Status::InvalidArgument("ConvTranspose output size overflows");
        }
        // A larger requested output is zero-padded at the end.
        const int64_t total = std::max<int64_t>(0, full - out);
        pad_begin[i] = p_.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      } else if (p_.auto_pad == "VALID") {
        out = full;
        pad_begin[i] = 0;
      } else {
        if (__builtin_sub_overflow(full, pads[i], &out) || __builtin_sub_overflow(out, pads[i + sp], &out)) {
          return Status::InvalidArgument("ConvTranspose output size overflows");
        }
        pad_begin[i] = pads[i];
      }
      if (out <= 0) return Status::InvalidArgument("ConvTranspose output size is not positive");
      out_shape.push_back(out);
    }
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
      T* yo = y->data<T>();
      const T* xi = x->data<T>();
      const T* wi = w->data<T>();
      // Products of dims are taken only over non-empty tensors, whose
      // element counts are allocation-bounded.
      if (y->num_elements() == 0) return Status::Ok();
      int64_t out_size = 1;
      for (size_t i = 0; i < sp; ++i) out_size *= out_shape[i + 2];
      if (b != nullptr) {
        const T* bi = b->data<T>();
        for (int64_t n = 0; n < N; ++n)
          for (int64_t m = 0; m < M; ++m)
            for (int64_t o = 0; o < out_size; ++o) yo[(n * M + m) * out_size + o] = bi[m];
      }
      if (x->num_elements() == 0 || w->num_elements() == 0) return Status::Ok();
      int64_t in_size = 1, k_size = 1;
      for (size_t i = 0; i < sp; ++i) {
        in_size *= x->shape()[i + 2];
        k_size *= kernel[i];
      }
      const int64_t Cg = C / group_;
      std::vector<int64_t> in_idx(sp), k_idx(sp);
      for (int64_t is = 0; is < in_size; ++is) {
        // Decompose the input spatial index.
        for (int64_t r = is, d = static_cast<int64_t>(sp) - 1; d >= 0; --d) {
          in_idx[d] = r % x->shape()[d + 2];
          r /= x->shape()[d + 2];
        }
        for (int64_t ks = 0; ks < k_size; ++ks) {
          int64_t r = ks, os = 0;
          bool inside = true;
          for (int64_t d = static_cast<int64_t>(sp) - 1; d >= 0; --d) {
            k_idx[d] = r % kernel[d];
            r /= kernel[d];
          }
          for (size_t d = 0; d < sp && inside; ++d) {
            // Bounded: in_idx < in, k_idx < k and the full length fits int64.
            const int64_t pos = in_idx[d] * strides[d] + k_idx[d] * dil[d] - pad_begin[d];
            if (pos < 0 || pos >= out_shape[d + 2]) inside = false;
            os = os * out_shape[d + 2] + pos;
          }
          if (!inside) continue;
          for (int64_t n = 0; n < N; ++n) {
            for (int64_t g = 0; g < group_; ++g) {
              for (int64_t c = 0; c < Cg; ++c) {
                const int64_t ci = g * Cg + c;
                const T xv = xi[(n * C + ci) * in_size + is];
                const T* wrow = wi + (ci * Mg) * k_size + ks;
                T* yrow = yo + (n * M + g * Mg) * out_size + os;
                for (int64_t m = 0; m < Mg; ++m) yrow[m * out_size] += xv * wrow[m * k_size];
              }
            }
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  SpatialParams p_;
  int64_t group_;
  std::vector<int64_t> output_padding_, output_shape_;
};

}  // namespace

void RegisterConvTransposeOps(OpRegistry& r) {
  r.Register("", "ConvTranspose", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const Attributes& a = init.node.attrs;
    CITADEL_ASSIGN_OR_RETURN(SpatialParams p, ReadSpatialParams(a, 0, false));
    CITADEL_ASSIGN_OR_RETURN(int64_t group, a.GetInt("group", 1));
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> opad, a.GetInts("output_padding", {}));
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> oshape, a.GetInts("output_shape", {}));
    if (group <= 0) return Status::InvalidArgument("ConvTranspose group must be positive");
    return std::unique_ptr<Kernel>(
        std::make_unique<ConvTransposeKernel>(std::move(p), group, std::move(opad), std::move(oshape)));
  });
}

}  // namespace citadel::engine::ops
