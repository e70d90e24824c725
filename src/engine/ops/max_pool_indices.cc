// MaxPool with its second output, Indices: for each window, the maximum
// and the flat index of the (first) maximal input element over the whole
// input tensor, its spatial part row-major (storage_order 0) or
// column-major (storage_order 1), as ONNX defines. Padding cells never win.
// Only this form runs here; MaxPool without Indices stays in pool.cc with
// its oneDNN fast path.
#include <array>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class MaxPoolIndicesKernel : public Kernel {
 public:
  MaxPoolIndicesKernel(SpatialParams p, bool column_major) : p_(std::move(p)), column_major_(column_major) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    const size_t spatial = p_.kernel.size();
    if (x->rank() != spatial + 2) {
      return Status::InvalidArgument("MaxPool input " + ShapeToString(x->shape()) + " does not match kernel_shape " +
                                     ShapeToString(p_.kernel));
    }
    Shape in_sp(x->shape().begin() + 2, x->shape().end()), out_sp;
    std::vector<int64_t> pad;
    CITADEL_RETURN_IF_ERROR(ComputeSpatialOutput(p_, in_sp, &out_sp, &pad));
    Shape out_shape = {x->shape()[0], x->shape()[1]};
    out_shape.insert(out_shape.end(), out_sp.begin(), out_sp.end());
    // Pad everything to three spatial dims (size 1, kernel 1, stride 1).
    std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0};
    for (size_t i = 0; i < spatial; ++i) {
      in[i] = in_sp[i];
      out[i] = out_sp[i];
      k[i] = p_.kernel[i];
      s[i] = p_.strides[i];
      d[i] = p_.dilations[i];
      pb[i] = pad[i];
    }
    const int64_t planes = x->shape()[0] * x->shape()[1];
    const int64_t in_plane = in[0] * in[1] * in[2], out_plane = out[0] * out[1] * out[2];
    return DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
      CITADEL_ASSIGN_OR_RETURN(Tensor * ind, ctx.Allocate(1, DType::kInt64, out_shape));
      const T* X = x->data<T>();
      T* Y = y->data<T>();
      int64_t* I = ind->data<int64_t>();
      for (int64_t pl = 0; pl < planes; ++pl) {
        for (int64_t o0 = 0; o0 < out[0]; ++o0)
          for (int64_t o1 = 0; o1 < out[1]; ++o1)
            for (int64_t o2 = 0; o2 < out[2]; ++o2) {
              bool found = false;
              T best{};
              int64_t best_at = 0;
              std::array<int64_t, 3> best_pos{0, 0, 0};
              for (int64_t k0 = 0; k0 < k[0]; ++k0) {
                const int64_t i0 = o0 * s[0] - pb[0] + k0 * d[0];
                if (i0 < 0 || i0 >= in[0]) continue;
                for (int64_t k1 = 0; k1 < k[1]; ++k1) {
                  const int64_t i1 = o1 * s[1] - pb[1] + k1 * d[1];
                  if (i1 < 0 || i1 >= in[1]) continue;
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t i2 = o2 * s[2] - pb[2] + k2 * d[2];
                    if (i2 < 0 || i2 >= in[2]) continue;
                    const int64_t at = (i0 * in[1] + i1) * in[2] + i2;
                    const T v = X[pl * in_plane + at];
                    if (!found || v > best) {
                      found = true;
                      best = v;
                      best_at = at;
                      best_pos = {i0, i1, i2};
                    }
                  }
                }
              }
              const int64_t o = pl * out_plane + (o0 * out[1] + o1) * out[2] + o2;
              Y[o] = best;
              int64_t idx = best_at;
              if (column_major_) {
                idx = 0;
                for (int64_t dd = static_cast<int64_t>(spatial) - 1; dd >= 0; --dd) idx = idx * in[dd] + best_pos[dd];
              }
              I[o] = pl * in_plane + idx;
            }
      }
      return Status::Ok();
    });
  }

 private:
  SpatialParams p_;
  bool column_major_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeMaxPoolWithIndices(SpatialParams p, int64_t storage_order) {
  if (storage_order != 0 && storage_order != 1) {
    return Status::InvalidArgument("MaxPool storage_order must be 0 or 1");
  }
  return std::unique_ptr<Kernel>(std::make_unique<MaxPoolIndicesKernel>(std::move(p), storage_order == 1));
}

}  // namespace citadel::engine::ops
