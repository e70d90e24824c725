// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
//
// Like Conv, spatial dims are padded to three so one loop nest serves 1-D to
// 3-D. Windows are clipped to the input; AveragePool's divisor counts either
// only input cells or also the explicit padding (count_include_pad).
//
// Fast path: 2-D MaxPool/AveragePool on channel-blocked activations (the
// plan keeps them blocked between Convs, see plan.cc) run as a oneDNN
// pooling, cached per input shape. Global pooling reads blocked input
// directly and writes plain [N, C, 1, 1]. Plain inputs use the reference
// loops, which the tests compare the fast path against.
#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>

#include "../dnnl_util.h"
#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

// Output geometry of one pooling call.
struct PoolGeometry {
  Shape out_shape;
  std::vector<int64_t> pad, pad_end;  // begin pads; end pads as the divisor sees them
};

struct PoolPrim {
  dnnl::pooling_forward prim;
  dnnl::memory::desc src_md, dst_md, scratch_md;
};

class PoolKernel : public Kernel {
 public:
  PoolKernel(SpatialParams p, bool is_max, bool count_include_pad)
      : p_(std::move(p)), is_max_(is_max), count_include_pad_(count_include_pad) {
    fast_ = !DnnlDisabled() && p_.kernel.size() == 2;
    for (int64_t d : p_.dilations) fast_ = fast_ && d == 1;
  }

  bool CanReadBlocked(size_t input) const override { return fast_ && input == 0; }
  bool CanWriteBlocked() const override { return fast_; }
  bool BlockedTied() const override { return true; }

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    if (const int64_t ch = ctx.blocked_channels(0); ch > 0) return RunBlocked(ctx, *x, ch);
    if (is_max_) {
      return DispatchNumeric(x->dtype(), [&]<typename T>() { return Compute<T>(ctx, *x); });
    }
    return DispatchFloat(x->dtype(), [&]<typename T>() { return Compute<T>(ctx, *x); });
  }

 private:
  Result<PoolGeometry> Geometry(const Shape& xs) const {
    const size_t rank = xs.size();
    const size_t spatial = p_.kernel.size();
    if (rank != spatial + 2 || spatial < 1 || spatial > 3) {
      return Status::InvalidArgument("pool input " + ShapeToString(xs) +
                                     " does not match kernel_shape " + ShapeToString(p_.kernel));
    }
    Shape in_sp(xs.begin() + 2, xs.end());
    Shape out_sp;
    PoolGeometry g;
    CITADEL_RETURN_IF_ERROR(ComputeSpatialOutput(p_, in_sp, &out_sp, &g.pad));
    // End pads as the divisor sees them: explicit pads, or what SAME implied.
    g.pad_end.assign(spatial, 0);
    for (size_t i = 0; i < spatial; ++i) {
      if (p_.auto_pad == "NOTSET") {
        g.pad_end[i] = p_.pads[i + spatial];
      } else if (p_.auto_pad != "VALID") {
        int64_t k_eff = (p_.kernel[i] - 1) * p_.dilations[i] + 1;
        int64_t total = std::max<int64_t>(0, (out_sp[i] - 1) * p_.strides[i] + k_eff - in_sp[i]);
        g.pad_end[i] = total - g.pad[i];
      }
    }
    g.out_shape = {xs[0], xs[1]};
    g.out_shape.insert(g.out_shape.end(), out_sp.begin(), out_sp.end());
    return g;
  }

  // A oneDNN pooling from blocked to blocked for logical input `xs`;
  // nullptr when oneDNN cannot match the reference semantics here.
  std::shared_ptr<const PoolPrim> GetPrim(const Shape& xs, const PoolGeometry& g) const {
    return cache_.Get(xs, [&] { return Create(xs, g); });
  }

  std::shared_ptr<PoolPrim> Create(const Shape& xs, const PoolGeometry& g) const {
    dnnl::memory::dims strides(p_.strides.begin(), p_.strides.end());
    dnnl::memory::dims kernel(p_.kernel.begin(), p_.kernel.end());
    dnnl::memory::dims pl(g.pad.begin(), g.pad.end()), pr(2);
    for (size_t i = 0; i < 2; ++i) {
      // The end padding the output size needs; oneDNN counts it in the
      // include-pad divisor, the reference only up to the declared end pad.
      pr[i] = (g.out_shape[i + 2] - 1) * p_.strides[i] + p_.kernel[i] - xs[i + 2] - g.pad[i];
      if (pr[i] < 0) return nullptr;
      if (!is_max_ && count_include_pad_ && pr[i] > g.pad_end[i]) return nullptr;
    }
    const auto alg = is_max_ ? dnnl::algorithm::pooling_max
                     : count_include_pad_ ? dnnl::algorithm::pooling_avg_include_padding
                                          : dnnl::algorithm::pooling_avg_exclude_padding;
    auto d = dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, alg, BlockedDesc(xs),
                                         BlockedDesc(g.out_shape), strides, kernel, pl, pr);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    auto pd = dnnl::pooling_forward::primitive_desc(d, attr, CpuEngine());
    auto prim = std::make_shared<PoolPrim>();
    prim->prim = dnnl::pooling_forward(pd);
    prim->src_md = pd.src_desc();
    prim->dst_md = pd.dst_desc();
    prim->scratch_md = pd.scratchpad_desc();
    return prim;
  }

  Status RunBlocked(KernelContext& ctx, const Tensor& x, int64_t channels) const {
    const Shape xs = BlockedLogicalShape(x.shape(), channels);
    if (xs.empty() || x.dtype() != DType::kFloat32) {
      return Status::Internal("pool got a malformed blocked input");
    }
    CITADEL_ASSIGN_OR_RETURN(PoolGeometry g, Geometry(xs));
    std::shared_ptr<const PoolPrim> prim = x.num_elements() > 0 ? GetPrim(xs, g) : nullptr;
    if (!prim) {  // reference on a plain copy
      CITADEL_ASSIGN_OR_RETURN(Tensor plain, BlockedToPlain(x, channels, ctx.max_tensor_bytes()));
      CITADEL_RETURN_IF_ERROR(Compute<float>(ctx, plain));
      Tensor y = ctx.output(0);
      CITADEL_ASSIGN_OR_RETURN(Tensor yb, PlainToBlocked(y, ctx.max_tensor_bytes()));
      ctx.SetOutput(0, std::move(yb));
      return Status::Ok();
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, DType::kFloat32, BlockedPhysicalShape(g.out_shape)));
    dnnl::engine& eng = CpuEngine();
    dnnl::memory src(prim->src_md, eng, const_cast<uint8_t*>(x.raw_data()));
    dnnl::memory dst(prim->dst_md, eng, y->raw_data());
    ExecuteWithScratchpad(prim->prim, prim->scratch_md, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    return Status::Ok();
  }

  template <typename T>
  Status Compute(KernelContext& ctx, const Tensor& x) const {
    const size_t spatial = p_.kernel.size();
    CITADEL_ASSIGN_OR_RETURN(PoolGeometry geo, Geometry(x.shape()));
    Shape in_sp(x.shape().begin() + 2, x.shape().end());
    Shape out_sp(geo.out_shape.begin() + 2, geo.out_shape.end());
    const std::vector<int64_t>& pad = geo.pad;
    const std::vector<int64_t>& pad_end = geo.pad_end;
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x.dtype(), geo.out_shape));

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
  bool fast_ = false;
  ShapeCache<PoolPrim> cache_;
};

// Global pooling: one value per (n, c) plane.
class GlobalPoolKernel : public Kernel {
 public:
  explicit GlobalPoolKernel(bool is_max) : is_max_(is_max), fast_(!DnnlDisabled()) {}

  bool CanReadBlocked(size_t input) const override { return fast_ && input == 0; }

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    if (const int64_t ch = ctx.blocked_channels(0); ch > 0) return RunBlocked(ctx, *x, ch);
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
  // Blocked [N, CB, H, W, B] -> plain [N, C, 1, 1]: the B lanes of a
  // channel block are contiguous, so each block reduces with unit-stride
  // vector loads.
  Status RunBlocked(KernelContext& ctx, const Tensor& x, int64_t channels) const {
    const Shape xs = BlockedLogicalShape(x.shape(), channels);
    if (xs.empty() || x.dtype() != DType::kFloat32) {
      return Status::Internal("global pool got a malformed blocked input");
    }
    const int64_t N = xs[0], C = xs[1], plane = xs[2] * xs[3];
    const int64_t B = x.shape()[4], CB = x.shape()[1];
    if (plane == 0 && N * C > 0) return Status::InvalidArgument("global pool over an empty spatial extent");
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, DType::kFloat32, {N, C, 1, 1}));
    const float* X = x.data<float>();
    float* Y = y->data<float>();
    if (B == 16) {
      is_max_ ? ReduceBlocked<16, true>(X, Y, N, C, CB, plane) : ReduceBlocked<16, false>(X, Y, N, C, CB, plane);
    } else if (B == 8) {
      is_max_ ? ReduceBlocked<8, true>(X, Y, N, C, CB, plane) : ReduceBlocked<8, false>(X, Y, N, C, CB, plane);
    } else {
      return Status::Internal("global pool got an unexpected channel block");
    }
    return Status::Ok();
  }

  // Block width and reduction as template arguments, the lanes in Float4
  // registers (common.h): with a run-time width the lane loops stayed
  // scalar, and EfficientNet-B0's 17 squeeze-excitation pools cost ~1 ms
  // per batch-1 Run against ORT's 0.2 ms.
  template <int B, bool kMax>
  static void ReduceBlocked(const float* X, float* Y, int64_t N, int64_t C, int64_t CB, int64_t plane) {
    static_assert(B == 8 || B == 16);
    using V4 = Float4;
    auto op = [](V4 a, V4 b) -> V4 {
      if constexpr (kMax) {
        return a > b ? a : b;
      } else {
        return a + b;
      }
    };
    // Parallel from 16 K floats: the activation was just written by a
    // convolution on every thread, and one thread reading it all pulls half
    // of it from the other cores' caches. EfficientNet-B0, 2 threads, batch
    // 1, its 17 pools: 0.28 ms serial below 1 M floats, 0.18 from 64 K,
    // 0.14-0.15 from 16 K and from 4 K (per-node sums, three rounds).
#pragma omp parallel for collapse(2) if (N * CB * plane * B > (1 << 14))
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t cb = 0; cb < CB; ++cb) {
        const float* p = X + (n * CB + cb) * plane * B;
        V4 a0 = LoadFloat4(p), a1 = LoadFloat4(p + 4), a2 = a0, a3 = a1;
        if constexpr (B == 16) {
          a2 = LoadFloat4(p + 8);
          a3 = LoadFloat4(p + 12);
        }
        if constexpr (!kMax) a0 = a1 = a2 = a3 = V4{0, 0, 0, 0};
        for (int64_t i = 0; i < plane; ++i) {
          const float* q = p + i * B;
          a0 = op(a0, LoadFloat4(q));
          a1 = op(a1, LoadFloat4(q + 4));
          if constexpr (B == 16) {
            a2 = op(a2, LoadFloat4(q + 8));
            a3 = op(a3, LoadFloat4(q + 12));
          }
        }
        float acc[16];
        std::memcpy(acc, &a0, sizeof(V4));
        std::memcpy(acc + 4, &a1, sizeof(V4));
        std::memcpy(acc + 8, &a2, sizeof(V4));
        std::memcpy(acc + 12, &a3, sizeof(V4));
        const float inv = 1.f / static_cast<float>(plane);
        for (int64_t l = 0; l < B && cb * B + l < C; ++l) {
          Y[n * C + cb * B + l] = kMax ? acc[l] : acc[l] * inv;
        }
      }
    }
  }

  bool is_max_;
  bool fast_;
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
      CITADEL_ASSIGN_OR_RETURN(int64_t order, attrs.GetInt("storage_order", 0));
      if (init.num_outputs() > 1 && init.node.outputs[1] != kNoValue) {
        if (init.opset < 8) return Status::Unsupported("MaxPool-1 has no Indices output");
        return MakeMaxPoolWithIndices(std::move(p), order);  // max_pool_indices.cc
      }
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
