// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
//
// Like Conv, spatial dims are padded to three so one loop nest serves 1-D to
// 3-D. Windows are clipped to the input; AveragePool's divisor counts either
// only input cells or also the explicit padding (count_include_pad).
#include <algorithm>
#include <limits>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class PoolKernel : public Kernel {
 public:
  PoolKernel(SpatialParams p, bool is_max, bool count_include_pad)
      : p_(std::move(p)), is_max_(is_max), count_include_pad_(count_include_pad) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    if (is_max_) {
      return DispatchNumeric(x->dtype(), [&]<typename T>() { return Compute<T>(ctx, *x); });
    }
    return DispatchFloat(x->dtype(), [&]<typename T>() { return Compute<T>(ctx, *x); });
  }

 private:
  template <typename T>
  Status Compute(KernelContext& ctx, const Tensor& x) const {
    const size_t rank = x.rank();
    const size_t spatial = p_.kernel.size();
    if (rank != spatial + 2 || spatial < 1 || spatial > 3) {
      return Status::InvalidArgument("pool input " + ShapeToString(x.shape()) +
                                     " does not match kernel_shape " + ShapeToString(p_.kernel));
    }
    Shape in_sp(x.shape().begin() + 2, x.shape().end());
    Shape out_sp;
    std::vector<int64_t> pad;
    CITADEL_RETURN_IF_ERROR(ComputeSpatialOutput(p_, in_sp, &out_sp, &pad));
    // End pads as the divisor sees them: explicit pads, or what SAME implied.
    std::vector<int64_t> pad_end(spatial, 0);
    for (size_t i = 0; i < spatial; ++i) {
      if (p_.auto_pad == "NOTSET") {
        pad_end[i] = p_.pads[i + spatial];
      } else if (p_.auto_pad != "VALID") {
        int64_t k_eff = (p_.kernel[i] - 1) * p_.dilations[i] + 1;
        int64_t total = std::max<int64_t>(0, (out_sp[i] - 1) * p_.strides[i] + k_eff - in_sp[i]);
        pad_end[i] = total - pad[i];
      }
    }
    Shape out_shape = {x.shape()[0], x.shape()[1]};
    out_shape.insert(out_shape.end(), out_sp.begin(), out_sp.end());
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x.dtype(), out_shape));

    auto to3 = [&](const std::vector<int64_t>& v, int64_t fill) {
      std::vector<int64_t> r(3 - spatial, fill);
      r.insert(r.end(), v.begin(), v.end());
      return r;
    };
    const auto in3 = to3(in_sp, 1), out3 = to3(out_sp, 1), k3 = to3(p_.kernel, 1);
    const auto s3 = to3(p_.strides, 1), d3 = to3(p_.dilations, 1);
    const auto pb3 = to3(pad, 0), pe3 = to3(pad_end, 0);
    const int64_t in_plane = in3[0] * in3[1] * in3[2];
    const int64_t out_plane = out3[0] * out3[1] * out3[2];
    const int64_t planes = x.shape()[0] * x.shape()[1];

    const T* X = x.data<T>();
    T* Y = y->data<T>();
    for (int64_t c = 0; c < planes; ++c) {
      const T* xp = X + c * in_plane;
      T* yp = Y + c * out_plane;
      for (int64_t od = 0; od < out3[0]; ++od) {
        for (int64_t oh = 0; oh < out3[1]; ++oh) {
          for (int64_t ow = 0; ow < out3[2]; ++ow) {
            double sum = 0;
            T best = std::numeric_limits<T>::lowest();
            int64_t count = 0, padded_count = 0;
            for (int64_t kd = 0; kd < k3[0]; ++kd) {
              const int64_t id = od * s3[0] - pb3[0] + kd * d3[0];
              if (id < -pb3[0] || id >= in3[0] + pe3[0]) continue;
              for (int64_t kh = 0; kh < k3[1]; ++kh) {
                const int64_t ih = oh * s3[1] - pb3[1] + kh * d3[1];
                if (ih < -pb3[1] || ih >= in3[1] + pe3[1]) continue;
                for (int64_t kw = 0; kw < k3[2]; ++kw) {
                  const int64_t iw = ow * s3[2] - pb3[2] + kw * d3[2];
                  if (iw < -pb3[2] || iw >= in3[2] + pe3[2]) continue;
                  ++padded_count;
                  if (id < 0 || id >= in3[0] || ih < 0 || ih >= in3[1] || iw < 0 || iw >= in3[2]) {
                    continue;
                  }
                  const T v = xp[(id * in3[1] + ih) * in3[2] + iw];
                  ++count;
                  if (is_max_) {
                    if (v > best) best = v;
                  } else {
                    sum += v;
                  }
                }
              }
            }
            T& out = yp[(od * out3[1] + oh) * out3[2] + ow];
            if (is_max_) {
              out = best;
            } else {
              const int64_t div = count_include_pad_ ? padded_count : count;
              out = div > 0 ? static_cast<T>(sum / div) : T(0);
            }
          }
        }
      }
    }
    return Status::Ok();
  }

  SpatialParams p_;
  bool is_max_;
  bool count_include_pad_;
};

// Global pooling: one value per (n, c) plane.
class GlobalPoolKernel : public Kernel {
 public:
  explicit GlobalPoolKernel(bool is_max) : is_max_(is_max) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    if (x->rank() < 3) {
      return Status::InvalidArgument("global pool input must have rank >= 3, got " +
                                     ShapeToString(x->shape()));
    }
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      Shape out_shape(x->rank(), 1);
      out_shape[0] = x->shape()[0];
      out_shape[1] = x->shape()[1];
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
      const size_t planes = static_cast<size_t>(out_shape[0] * out_shape[1]);
      const size_t plane = planes == 0 ? 0 : x->num_elements() / planes;
      if (plane == 0 && planes > 0) {
        return Status::InvalidArgument("global pool over an empty spatial extent");
      }
      for (size_t c = 0; c < planes; ++c) {
        const T* p = x->data<T>() + c * plane;
        if (is_max_) {
          y->data<T>()[c] = *std::max_element(p, p + plane);
        } else {
          double s = 0;
          for (size_t i = 0; i < plane; ++i) s += p[i];
          y->data<T>()[c] = static_cast<T>(s / static_cast<double>(plane));
        }
      }
      return Status::Ok();
    });
  }

 private:
  bool is_max_;
};

KernelFactory Pool(bool is_max) {
  return [is_max](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const auto& attrs = init.node.attrs;
    if (!attrs.Has("kernel_shape")) return Status::InvalidArgument("missing kernel_shape");
    CITADEL_ASSIGN_OR_RETURN(auto kernel, attrs.GetInts("kernel_shape", {}));
    if (kernel.empty() || kernel.size() > 3) {
      return Status::Unsupported("pooling over " + std::to_string(kernel.size()) +
                                 " spatial dimensions is not supported (1 to 3)");
    }
    CITADEL_ASSIGN_OR_RETURN(SpatialParams p, ReadSpatialParams(attrs, kernel.size(), true));
    bool count_include_pad = false;
    if (is_max) {
      if (init.num_outputs() > 1 && init.node.outputs[1] != kNoValue) {
        return Status::Unsupported("MaxPool with the Indices output is not supported");
      }
      CITADEL_ASSIGN_OR_RETURN(int64_t order, attrs.GetInt("storage_order", 0));
      (void)order;  // only affects Indices
    } else {
      CITADEL_ASSIGN_OR_RETURN(int64_t cip, attrs.GetInt("count_include_pad", 0));
      count_include_pad = cip != 0;
    }
    return std::unique_ptr<Kernel>(std::make_unique<PoolKernel>(std::move(p), is_max, count_include_pad));
  };
}

}  // namespace

void RegisterPoolOps(OpRegistry& r) {
  r.Register("", "MaxPool", 1, kMaxOnnxOpset, Pool(true));
  r.Register("", "AveragePool", 1, kMaxOnnxOpset, Pool(false));
  r.Register("", "GlobalAveragePool", 1, kMaxOnnxOpset, [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<GlobalPoolKernel>(false));
  });
  r.Register("", "GlobalMaxPool", 1, kMaxOnnxOpset, [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<GlobalPoolKernel>(true));
  });
}

}  // namespace citadel::engine::ops
