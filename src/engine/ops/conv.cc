// Conv (1-D to 3-D spatial, groups, dilations, pads, auto_pad).
//
// Fast path (float32, constant weights): a oneDNN convolution. The weights
// are reordered once into the layout the primitive prefers and cached with
// the primitive per input shape (the first shape is prepared at Load when
// shape inference knows it). Activations stay plain NCHW between ops; each
// call reorders into and out of the primitive's layout when it differs.
// Fused post-ops (set by the optimiser, see optimizer.cc FuseConvChains):
// attribute "_citadel_post_kinds" lists them in order (PostKind), with two
// floats each in "_citadel_post_params"; a kSum post-op adds input 3.
//
// Reference path: a direct convolution written for clarity. Spatial dims are
// padded to three (D, H, W) with leading ones so one loop nest serves 1-D,
// 2-D and 3-D. The innermost loop runs along the output row with the valid
// range precomputed, so it has no bounds checks and vectorises.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "../dnnl_util.h"
#include "../kernel.h"
#include "common.h"
#include "conv.h"
#include "conv_winograd.h"
#include "ops.h"
#include "post_ops.h"
#include "silu.h"
#include "vec_dot.h"

namespace citadel::engine::ops {
namespace {

std::atomic<uint64_t> g_in_place_residuals{0};
std::atomic<uint64_t> g_nhwc_direct{0};
std::atomic<uint64_t> g_pointwise_vector{0};
std::atomic<int>& NhwcDisabledFlag() {
  static std::atomic<int> flag{[] {
    const char* v = std::getenv("CITADEL_NO_NHWC_CONV");
    return v != nullptr && v[0] == '1' ? 1 : 0;
  }()};
  return flag;
}

// Output geometry of one Conv call.
struct ConvGeometry {
  Shape out_shape;
  SpatialParams p;            // kernel/strides/dilations filled in
  std::vector<int64_t> pad;   // effective begin pads
  std::vector<int64_t> pad_end;
};

// A oneDNN convolution prepared for one input shape.
struct ConvPrim {
  dnnl::convolution_forward conv;
  dnnl::memory::desc src_md, dst_md, plain_src, plain_dst, scratch_md;
  dnnl::memory weights;  // packed for `conv`
  bool src_plain = true, dst_plain = true;
  bool src_blocked = false, dst_blocked = false;  // == BlockedDesc of the logical shape
  // A direct kxk convolution on NHWC activations (oneDNN's brgemm kernel,
  // see UseNhwcDirect): src and dst are reordered from and to the plan's
  // layout around each execution.
  bool nhwc = false;
  // A Winograd primitive, made for batch 1 and run once per image (see
  // conv_winograd.h); src/dst descriptors above are then those of one image.
  bool winograd = false;
  dnnl::reorder src_reorder, dst_reorder, sum_reorder;
  // With `nhwc`: from the blocked input, to the blocked output.
  dnnl::reorder blocked_src_reorder, blocked_dst_reorder;
};

class ConvKernel : public Kernel {
 public:
  ConvKernel(SpatialParams p, int64_t group, std::vector<PostOp> post)
      : p_(std::move(p)), group_(group), post_(std::move(post)), dnnl_post_(post_) {
    for (const PostOp& op : post_) has_sum_ |= op.kind == PostKind::kSum;
    // A trailing SiLU runs as our own pass after the primitive (silu.h).
    if (!dnnl_post_.empty() && dnnl_post_.back().kind == PostKind::kSwish && FastSiluAvailable()) {
      dnnl_post_.pop_back();
      silu_after_ = true;
    }
  }

  // Called at Load when W (and B) are constant float32: keeps the weights
  // for the fast path and prepares the primitive for `x_shape` if known.
  void PrepareFast(const Tensor& w, const Tensor* b, const std::optional<Shape>& x_shape) {
    if (DnnlDisabled()) return;
    fast_w_ = w;
    if (b != nullptr) fast_b_ = *b;
    fast_ = true;
    winograd_ = !WinogradDisabled();
    nhwc_ = !NhwcDirectDisabled();
    if (x_shape && !x_shape->empty()) {
      Shape s = *x_shape;
      if (s[0] < 0) s[0] = 1;  // dynamic batch: prepare for 1
      for (int64_t d : s) {
        if (d <= 0) return;
      }
      auto g = Geometry(s, w.shape(), b);
      if (g.ok() && !PointwiseVector(s, *g)) (void)GetPrim(s, *g);
    }
  }

  // Blocked layouts only with the 2-D fast path. The first layer (fewer
  // input channels than a block) reads plain NCHW, so its input stays plain.
  bool CanReadBlocked(size_t input) const override {
    if (!fast_ || fast_w_.rank() != 4) return false;
    if (input == 0) return fast_w_.shape()[1] * group_ >= ActivationBlock();
    return input == kConvSumInput && has_sum_;
  }
  bool CanWriteBlocked() const override { return fast_ && fast_w_.rank() == 4; }

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* w, RequireInput(ctx, 1, "W"));
    const Tensor* b = ctx.input(2);
    const Tensor* sum = has_sum_ ? ctx.input(kConvSumInput) : nullptr;
    if (has_sum_ && sum == nullptr) return Status::Internal("fused Conv lost its residual input");
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *w, "Conv X and W"));
    if (b != nullptr) CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *b, "Conv X and B"));
    if (sum != nullptr) CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *sum, "Conv X and the added input"));
    // Logical shapes of blocked inputs (the plan only blocks 4-D float32).
    const int64_t x_ch = ctx.blocked_channels(0);
    const int64_t sum_ch = sum != nullptr ? ctx.blocked_channels(kConvSumInput) : 0;
    const Shape xs = x_ch > 0 ? BlockedLogicalShape(x->shape(), x_ch) : x->shape();
    const Shape sum_shape = sum_ch > 0 ? BlockedLogicalShape(sum->shape(), sum_ch)
                                       : (sum != nullptr ? sum->shape() : Shape{});
    if (xs.empty() || (sum != nullptr && sum_shape.empty())) {
      return Status::Internal("Conv got a malformed blocked input");
    }
    if (xs.size() < 3 || xs.size() > 5) {
      return Status::InvalidArgument("Conv input must have rank 3 to 5, got " + ShapeToString(xs));
    }
    CITADEL_ASSIGN_OR_RETURN(ConvGeometry g, Geometry(xs, w->shape(), b));
    if (fast_ && x->dtype() == DType::kFloat32 && sum == nullptr && PointwiseVector(xs, g)) {
      return RunPointwiseVector(ctx, *x, x_ch > 0, g);
    }
    if (fast_ && x->dtype() == DType::kFloat32 && (sum == nullptr || sum_shape == g.out_shape) &&
        x->num_elements() > 0) {
      std::shared_ptr<const ConvPrim> prim = GetPrim(xs, g);
      if (prim) return RunFast(ctx, *prim, *x, x_ch > 0, sum, sum_ch > 0, g);
    }
    // Reference path: plain copies of blocked inputs, and a blocked copy of
    // the result when the plan wants it blocked.
    Tensor x_plain, sum_plain;
    if (x_ch > 0) {
      CITADEL_ASSIGN_OR_RETURN(x_plain, BlockedToPlain(*x, x_ch, ctx.max_tensor_bytes()));
      x = &x_plain;
    }
    if (sum_ch > 0) {
      CITADEL_ASSIGN_OR_RETURN(sum_plain, BlockedToPlain(*sum, sum_ch, ctx.max_tensor_bytes()));
      sum = &sum_plain;
    }
    CITADEL_RETURN_IF_ERROR(DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      Tensor* y = nullptr;
      CITADEL_RETURN_IF_ERROR(Compute<T>(ctx, *x, *w, b, g, &y));
      return ApplyPostOpsTo<T>(y, sum);
    }));
    if (ctx.output_blocked()) {
      Tensor y = ctx.output(0);
      CITADEL_ASSIGN_OR_RETURN(Tensor yb, PlainToBlocked(y, ctx.max_tensor_bytes()));
      ctx.SetOutput(0, std::move(yb));
    }
    return Status::Ok();
  }

 private:
  Result<ConvGeometry> Geometry(const Shape& xs, const Shape& ws, const Tensor* b) const {
    const size_t rank = xs.size();
    if (rank < 3 || rank > 5) {
      return Status::InvalidArgument("Conv input must have rank 3 to 5, got " + ShapeToString(xs));
    }
    const size_t spatial = rank - 2;
    if (ws.size() != rank) {
      return Status::InvalidArgument("Conv weight " + ShapeToString(ws) + " does not match input " +
                                     ShapeToString(xs));
    }
    const int64_t N = xs[0], C = xs[1], M = ws[0], CG = ws[1];
    if (group_ <= 0 || C != CG * group_ || M % group_ != 0 || M == 0) {
      return Status::InvalidArgument("Conv channels do not match: input " + ShapeToString(xs) +
                                     ", weight " + ShapeToString(ws) + ", group " +
                                     std::to_string(group_));
    }
    if (b != nullptr && (b->rank() != 1 || b->shape()[0] != M)) {
      return Status::InvalidArgument("Conv bias must be [" + std::to_string(M) + "], got " +
                                     ShapeToString(b->shape()));
    }
    ConvGeometry g;
    g.p = p_;
    SpatialParams& p = g.p;
    Shape wk(ws.begin() + 2, ws.end());
    if (p.kernel.empty()) p.kernel = wk;
    if (p.kernel != wk) {
      return Status::InvalidArgument("Conv kernel_shape " + ShapeToString(p.kernel) +
                                     " does not match weight " + ShapeToString(ws));
    }
    if (p.strides.empty()) p.strides.assign(spatial, 1);
    if (p.dilations.empty()) p.dilations.assign(spatial, 1);
    if (p.pads.empty()) p.pads.assign(2 * spatial, 0);
    if (p.strides.size() != spatial || p.dilations.size() != spatial || p.pads.size() != 2 * spatial) {
      return Status::InvalidArgument("Conv attributes do not match input rank " +
                                     std::to_string(rank));
    }
    for (size_t i = 0; i < spatial; ++i) {
      if (p.strides[i] <= 0 || p.dilations[i] <= 0 || p.pads[i] < 0 || p.pads[i + spatial] < 0) {
        return Status::InvalidArgument("Conv strides/dilations must be positive, pads non-negative");
      }
    }
    Shape in_sp(xs.begin() + 2, xs.end());
    Shape out_sp;
    CITADEL_RETURN_IF_ERROR(ComputeSpatialOutput(p, in_sp, &out_sp, &g.pad));
    g.pad_end.resize(spatial);
    for (size_t i = 0; i < spatial; ++i) {
      // The end padding the output size implies (may be negative when the
      // last input rows are never read).
      g.pad_end[i] = (out_sp[i] - 1) * p.strides[i] + (p.kernel[i] - 1) * p.dilations[i] + 1 -
                     in_sp[i] - g.pad[i];
    }
    g.out_shape = {N, M};
    g.out_shape.insert(g.out_shape.end(), out_sp.begin(), out_sp.end());
    return g;
  }

  // The cached primitive for this input shape, creating it on first use;
  // nullptr when oneDNN cannot do this convolution (reference path then).
  // 3x3 stride-1 convolutions that the Winograd rule admits get oneDNN's
  // Winograd primitive for one image (shared by every batch size); when
  // oneDNN declines it (no AVX-512, unsupported pads) the direct one.
  std::shared_ptr<const ConvPrim> GetPrim(const Shape& xs, const ConvGeometry& g) const {
    const Shape& ws = fast_w_.shape();
    if (winograd_ && xs.size() == 4 &&
        WinogradEligible(xs[1], ws[0], group_, g.p.kernel, g.p.strides, g.p.dilations,
                         {g.out_shape[2], g.out_shape[3]})) {
      Shape x1 = xs;
      x1[0] = 1;
      ConvGeometry g1 = g;
      g1.out_shape[0] = 1;
      auto prim = Cached(wino_cache_, x1, [&] { return Create(x1, g1, /*winograd=*/true); });
      if (prim) return prim;
    }
    return Cached(cache_, xs, [&] { return Create(xs, g, /*winograd=*/false); });
  }

  // A 1x1 Conv on a 1x1 map is a matrix-vector product per image: the
  // squeeze-excitation layers (EfficientNet-B0 has 32, 672 -> 28 -> 672
  // and the like). oneDNN runs each as a convolution with its fixed costs
  // (memory objects, a reorder in and out of the blocked layout, a
  // parallel region) that are larger than the ~20-60 K multiply-adds: 16-20
  // us each at 1 thread and slower at 2, 0.52 / 0.59 ms per batch-1 Run for
  // the 32 (1 / 2 threads), against ORT's 0.35. Here they are dot products
  // on the calling thread, the fused activations applied after; bounded to
  // 1 M multiply-adds per image (the weights stay in cache across images).
  bool PointwiseVector(const Shape& xs, const ConvGeometry& g) const {
    if (group_ != 1 || has_sum_ || xs.size() != 4 || fast_w_.rank() != 4) return false;
    const Shape& ws = fast_w_.shape();
    if (ws[2] != 1 || ws[3] != 1 || xs[2] != 1 || xs[3] != 1) return false;
    if (g.out_shape[2] != 1 || g.out_shape[3] != 1) return false;  // pads would widen the map
    return ws[0] * ws[1] <= (int64_t{1} << 20);
  }

  // x: [N, C, 1, 1] plain or blocked ([N, ceil(C/B), 1, 1, B], zero
  // padded); y likewise as the plan wants it.
  Status RunPointwiseVector(KernelContext& ctx, const Tensor& x, bool x_blocked, const ConvGeometry& g) const {
    const int64_t N = g.out_shape[0], M = g.out_shape[1], C = fast_w_.shape()[1];
    const bool y_blocked = ctx.output_blocked();
    const Shape y_physical = y_blocked ? BlockedPhysicalShape(g.out_shape) : g.out_shape;
    // Floats per image: with a 1x1 map, the (padded) channels.
    const int64_t x_stride = x_blocked ? x.shape()[1] * x.shape()[4] : C;
    const int64_t y_stride = y_blocked ? y_physical[1] * y_physical[4] : M;
    if (x.num_elements() != static_cast<size_t>(N * x_stride)) {
      return Status::Internal("Conv got a malformed 1x1 input");
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, DType::kFloat32, y_physical));
    const float* X = x.data<float>();
    const float* W = fast_w_.data<float>();
    const float* B = fast_b_.valid() ? fast_b_.data<float>() : nullptr;
    float* Y = y->data<float>();
    for (int64_t n = 0; n < N; ++n) {
      const float* xn = X + n * x_stride;
      float* yn = Y + n * y_stride;
      for (int64_t m = 0; m < M; ++m) {
        yn[m] = DotF32(W + m * C, xn, static_cast<size_t>(C)) + (B != nullptr ? B[m] : 0.f);
      }
      for (const PostOp& op : post_) ApplyEltwise<float>(op, yn, static_cast<size_t>(M));
      std::fill(yn + M, yn + y_stride, 0.f);  // a blocked layout's padding lanes are 0
    }
    g_pointwise_vector.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }

  // Direct convolutions with a kernel larger than 1x1 (3x3 stride 2,
  // 3x3 stride 1 where Winograd is not taken) run faster on NHWC with
  // oneDNN 2.6's brgemm kernel than on nChw16c with its older JIT kernel,
  // by more than the two reorders cost. Measured on this project's AVX-512
  // host, one thread, ReLU fused (docs/performance.md): ResNet-50's
  // 3x3 stride-2 layers 1.30 -> 1.08 ms (128 ch, 56 -> 28), 1.26 -> 1.06
  // (256, 28 -> 14), 1.54 -> 1.25 (512, 14 -> 7); the reorders of input
  // and output 0.01-0.05 ms. 1x1 kernels are as fast blocked (no gain), and
  // a first layer with fewer channels than a block (the 3-channel stem)
  // gained less than its NCHW -> NHWC reorder costs (conv.h has the
  // switch).
  bool UseNhwcDirect(const Shape& xs, const ConvGeometry& g) const {
    if (!nhwc_ || group_ != 1 || xs.size() != 4 || xs[1] < ActivationBlock()) return false;
    return g.p.kernel.size() == 2 && g.p.kernel[0] * g.p.kernel[1] > 1;
  }

  template <typename Make>
  std::shared_ptr<const ConvPrim> Cached(std::map<Shape, std::shared_ptr<const ConvPrim>>& cache,
                                         Shape key, Make make) const {
    key.push_back(ThreadsKey());  // oneDNN fixes a primitive's thread count
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    if (cache.size() >= 16) cache.erase(cache.begin());  // bound memory on shape churn
    std::shared_ptr<const ConvPrim> prim;
    try {
      prim = make();
    } catch (const dnnl::error&) {
      prim = nullptr;
    }
    cache[key] = prim;
    return prim;
  }

  std::shared_ptr<ConvPrim> Create(const Shape& xs, const ConvGeometry& g, bool winograd) const {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const size_t spatial = xs.size() - 2;
    dnnl::memory::dims strides(g.p.strides.begin(), g.p.strides.end());
    dnnl::memory::dims dil(spatial), pl(g.pad.begin(), g.pad.end()), pr(g.pad_end.begin(), g.pad_end.end());
    // A negative end pad means the last input rows/columns are never read
    // (e.g. 1x1 stride 2 on an even size: ResNet's downsample, SqueezeNet's
    // first layer). oneDNN wants pads >= 0; any end pad in
    // [pad_end, pad_end + stride) gives the same output size and reads the
    // same inputs, so 0 does when pad_end > -stride. (Before this, such
    // convolutions fell back to the reference loop: 100x slower.)
    for (size_t i = 0; i < spatial; ++i) {
      if (pr[i] < 0) {
        if (pr[i] <= -g.p.strides[i]) return nullptr;
        pr[i] = 0;
      }
    }
    for (size_t i = 0; i < spatial; ++i) dil[i] = g.p.dilations[i] - 1;
    const Shape& ws = fast_w_.shape();
    dnnl::memory::dims wdims;
    tag wtag;
    if (group_ > 1) {
      wdims = {group_, ws[0] / group_};
      wdims.insert(wdims.end(), ws.begin() + 1, ws.end());
      wtag = spatial == 1 ? tag::goiw : spatial == 2 ? tag::goihw : tag::goidhw;
    } else {
      wdims = ToDims(ws);
      wtag = spatial == 1 ? tag::oiw : spatial == 2 ? tag::oihw : tag::oidhw;
    }
    auto any = [](const dnnl::memory::dims& d) { return dnnl::memory::desc(d, dt::f32, tag::any); };
    dnnl::memory::desc bias_md;
    if (fast_b_.valid()) bias_md = dnnl::memory::desc({ws[0]}, dt::f32, tag::a);
    // Activations: channel-blocked (nChw16c / nChw8c by ISA; channels that
    // do not divide the block are padded), plain NCHW only for a first-layer
    // input with fewer channels than a block. Letting oneDNN choose ("any")
    // picks NHWC here, whose reorders to and from NCHW cost more than the
    // convolution itself; plain src with a blocked dst falls back to the
    // slow reference implementation except for such first layers.
    const int64_t block = ActivationBlock();
    auto act = [&](const Shape& s) {
      if (spatial != 2) return dnnl::memory::desc(ToDims(s), dt::f32, tag::any);
      return dnnl::memory::desc(ToDims(s), dt::f32, block == 16 ? tag::nChw16c : tag::nChw8c);
    };
    dnnl::memory::desc src_md = act(xs);
    if (spatial == 2 && xs[1] < block) src_md = PlainDesc(xs);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (!dnnl_post_.empty()) attr.set_post_ops(ToDnnl(dnnl_post_));
    const auto alg = winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
    // oneDNN 2.6's primitive_desc iterator keeps a pointer to the op
    // descriptor (next_impl below reads it), so each desc lives in this
    // frame for as long as its primitive_desc is iterated.
    std::optional<dnnl::convolution_forward::desc> nhwc_d;
    std::optional<dnnl::convolution_forward::primitive_desc> nhwc_pd;
    if (!winograd && UseNhwcDirect(xs, g)) {
      nhwc_d.emplace(dnnl::prop_kind::forward_inference, alg,
                     dnnl::memory::desc(ToDims(xs), dt::f32, tag::nhwc), any(wdims), bias_md,
                     dnnl::memory::desc(ToDims(g.out_shape), dt::f32, tag::nhwc), strides, dil, pl, pr);
      nhwc_pd.emplace(*nhwc_d, attr, CpuEngine());
      // Kept only when oneDNN really offers its brgemm kernel for it: its
      // other NHWC kernels are not faster than the blocked ones.
      if (std::string(nhwc_pd->impl_info_str()).find("brg") == std::string::npos) nhwc_pd.reset();
    }
    const bool nhwc = nhwc_pd.has_value();
    auto d = dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, alg, src_md, any(wdims),
                                             bias_md, act(g.out_shape), strides, dil, pl, pr);
    auto pd = nhwc ? *nhwc_pd : dnnl::convolution_forward::primitive_desc(d, attr, CpuEngine());
    if (winograd) {
      // oneDNN offers F(2x2,3x3) ("wino_2x3") before F(4x4,3x3)
      // ("wino_4x3") where it has both; pick by the rule in
      // conv_winograd.h (the first offered when the preferred is absent).
      const char* want = PreferWinogradF4(g.out_shape[2], g.out_shape[3]) ? "wino_4x3" : "wino_2x3";
      while (std::string(pd.impl_info_str()).find(want) == std::string::npos) {
        if (!pd.next_impl()) {
          pd = dnnl::convolution_forward::primitive_desc(d, attr, CpuEngine());
          break;
        }
      }
    }
    auto prim = std::make_shared<ConvPrim>();
    prim->winograd = winograd;
    prim->nhwc = nhwc;
    prim->conv = dnnl::convolution_forward(pd);
    prim->src_md = pd.src_desc();
    prim->dst_md = pd.dst_desc();
    prim->scratch_md = pd.scratchpad_desc();
    prim->plain_src = PlainDesc(xs);
    prim->plain_dst = PlainDesc(g.out_shape);
    prim->src_plain = prim->src_md == prim->plain_src;
    prim->dst_plain = prim->dst_md == prim->plain_dst;
    if (spatial == 2) {
      prim->src_blocked = prim->src_md == BlockedDesc(xs);
      prim->dst_blocked = prim->dst_md == BlockedDesc(g.out_shape);
    }
    dnnl::engine& eng = CpuEngine();
    // Pack the weights once (reusing an earlier shape's packing when equal).
    for (const auto* cache : {&cache_, &wino_cache_}) {
      for (const auto& [shape, other] : *cache) {
        if (other && other->weights.get_desc() == pd.weights_desc()) prim->weights = other->weights;
      }
    }
    if (!prim->weights) {
      dnnl::memory user_w(dnnl::memory::desc(wdims, dt::f32, wtag), eng,
                          const_cast<float*>(fast_w_.data<float>()));
      prim->weights = dnnl::memory(pd.weights_desc(), eng);
      dnnl::stream s(eng);
      dnnl::reorder(user_w, prim->weights).execute(s, user_w, prim->weights);
      s.wait();
    }
    if (nhwc && spatial == 2) {
      prim->blocked_src_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(eng, BlockedDesc(xs), eng, prim->src_md));
      prim->blocked_dst_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(eng, prim->dst_md, eng, BlockedDesc(g.out_shape)));
    }
    if (!prim->src_plain) prim->src_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, prim->plain_src, eng, prim->src_md));
    if (!prim->dst_plain) {
      prim->dst_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, prim->dst_md, eng, prim->plain_dst));
      if (has_sum_) {
        prim->sum_reorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, prim->plain_dst, eng, prim->dst_md));
      }
    }
    return prim;
  }

  // x_blocked / sum_blocked: those inputs are stored blocked (their
  // layout is then exactly the primitive's, see Create); the output is
  // written blocked when the plan says so. A per-image primitive runs once
  // per batch entry on that entry's slice (every layout here keeps an image
  // contiguous: NCHW and nChw16c alike).
  Status RunFast(KernelContext& ctx, const ConvPrim& prim, const Tensor& x, bool x_blocked,
                 const Tensor* sum, bool sum_blocked, const ConvGeometry& g) const {
    const bool y_blocked = ctx.output_blocked() && (prim.dst_blocked || prim.nhwc);
    // The primitive writes the output tensor itself, or a scratch buffer
    // reordered into it afterwards.
    const bool direct = y_blocked ? prim.dst_blocked : prim.dst_plain;
    const Shape y_physical = y_blocked ? BlockedPhysicalShape(g.out_shape) : g.out_shape;
    // A fused residual whose value dies here is written over in place: the
    // primitive's sum post-op then reads it straight from the destination,
    // which saves copying the whole residual (ResNet-50: ~22 MB a run) into
    // a fresh output first. Only when it is stored exactly as the
    // destination will be (same layout, so the same physical shape) and
    // the primitive writes that destination directly.
    bool in_place = false;
    if (sum != nullptr && sum_blocked == y_blocked && sum->shape() == y_physical &&
        direct && ctx.TakeInputAsOutput(kConvSumInput, 0)) {
      in_place = true;
      sum = nullptr;  // the input slot is now empty; the residual is in Y
      g_in_place_residuals.fetch_add(1, std::memory_order_relaxed);
    }
    Tensor* y = ctx.mutable_output(0);
    if (!in_place) {
      CITADEL_ASSIGN_OR_RETURN(y, ctx.AllocateUninitialized(0, DType::kFloat32, y_physical));
    }
    const int64_t images = g.out_shape[0] / prim.plain_dst.dims()[0];  // > 1: per-image primitive
    // The shapes one execution sees (the whole batch, or one image).
    const dnnl::memory::dims x_dims = prim.plain_src.dims(), y_dims = prim.plain_dst.dims();
    const Shape xs(x_dims.begin(), x_dims.end()), ys(y_dims.begin(), y_dims.end());
    auto count = [](const Shape& s) {
      size_t n = 1;
      for (int64_t d : s) n *= static_cast<size_t>(d);
      return n;
    };
    const size_t x_step = count(x_blocked ? BlockedPhysicalShape(xs) : xs);
    const size_t y_step = count(y_blocked ? BlockedPhysicalShape(ys) : ys);
    const size_t sum_step = count(sum_blocked ? BlockedPhysicalShape(ys) : ys);
    dnnl::engine& eng = CpuEngine();
    dnnl::stream s(eng);
    dnnl::memory bias;
    if (fast_b_.valid()) {
      bias = dnnl::memory(dnnl::memory::desc({fast_b_.shape()[0]}, dnnl::memory::data_type::f32,
                                             dnnl::memory::format_tag::a),
                          eng, const_cast<float*>(fast_b_.data<float>()));
    }
    const size_t scratch = prim.scratch_md.get_size();
    for (int64_t i = 0; i < images; ++i) {
      float* x_data = const_cast<float*>(x.data<float>()) + i * x_step;
      float* y_data = y->data<float>() + i * y_step;
      const float* sum_data = sum != nullptr ? sum->data<float>() + i * sum_step : nullptr;
      dnnl::memory src, dst;
      if (x_blocked) {
        dnnl::memory user_src(BlockedDesc(xs), eng, x_data);
        src = user_src;
        if (!prim.src_blocked) {
          src = dnnl::memory(prim.src_md, eng, ThreadBuffer(1, prim.src_md.get_size()));
          if (prim.nhwc) {
            prim.blocked_src_reorder.execute(s, user_src, src);
          } else {
            dnnl::reorder(user_src, src).execute(s, user_src, src);
          }
        }
      } else {
        dnnl::memory user_src(prim.plain_src, eng, x_data);
        src = user_src;
        if (!prim.src_plain) {
          src = dnnl::memory(prim.src_md, eng, ThreadBuffer(1, prim.src_md.get_size()));
          prim.src_reorder.execute(s, user_src, src);
        }
      }
      dnnl::memory user_dst(y_blocked ? BlockedDesc(ys) : prim.plain_dst, eng, y_data);
      dst = user_dst;
      if (!direct) {
        dst = dnnl::memory(prim.dst_md, eng, ThreadBuffer(2, prim.dst_md.get_size()));
      }
      if (sum != nullptr) {
        if (sum_blocked && prim.dst_blocked) {
          std::copy_n(sum_data, sum_step, static_cast<float*>(dst.get_data_handle()));
        } else if (sum_blocked || prim.dst_plain) {
          dnnl::memory user_sum(sum_blocked ? BlockedDesc(ys) : prim.plain_dst, eng,
                                const_cast<float*>(sum_data));
          dnnl::reorder(user_sum, dst).execute(s, user_sum, dst);
        } else {
          dnnl::memory user_sum(prim.plain_dst, eng, const_cast<float*>(sum_data));
          prim.sum_reorder.execute(s, user_sum, dst);
        }
      }
      std::unordered_map<int, dnnl::memory> args = {
          {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, prim.weights}, {DNNL_ARG_DST, dst}};
      if (bias) args.emplace(DNNL_ARG_BIAS, bias);
      if (scratch > 0) {
        args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(prim.scratch_md, eng, ThreadBuffer(0, scratch)));
      }
      prim.conv.execute(s, args);
      if (!direct) (y_blocked ? prim.blocked_dst_reorder : prim.dst_reorder).execute(s, dst, user_dst);
      // Elementwise, so any layout; a blocked layout's zero padding stays 0.
      if (silu_after_) SiluInPlace(y_data, y_step);
    }
    s.wait();
    if (prim.winograd) CountWinogradExecutions(static_cast<uint64_t>(images));
    if (prim.nhwc) g_nhwc_direct.fetch_add(1, std::memory_order_relaxed);
    if (ctx.output_blocked() && !y_blocked) {  // the primitive chose another layout
      Tensor plain = ctx.output(0);
      CITADEL_ASSIGN_OR_RETURN(Tensor yb, PlainToBlocked(plain, ctx.max_tensor_bytes()));
      ctx.SetOutput(0, std::move(yb));
    }
    return Status::Ok();
  }

  template <typename T>
  Status ApplyPostOpsTo(Tensor* y, const Tensor* sum) const {
    T* Y = y->data<T>();
    const size_t n = y->num_elements();
    for (const PostOp& op : post_) {
      if (op.kind != PostKind::kSum) {
        ApplyEltwise<T>(op, Y, n);
        continue;
      }
      auto bs = BroadcastShapes(sum->shape(), y->shape());
      if (!bs.ok() || *bs != y->shape()) {
        return Status::InvalidArgument("Add input " + ShapeToString(sum->shape()) +
                                       " cannot be broadcast to the Conv output " +
                                       ShapeToString(y->shape()));
      }
      const T* S = sum->data<T>();
      const std::array<const Shape*, 1> shapes = {&sum->shape()};
      ForEachBroadcast<1>(y->shape(), shapes,
                          [&](size_t i, const std::array<int64_t, 1>& o) { Y[i] += S[o[0]]; });
    }
    return Status::Ok();
  }
  template <typename T>
  Status Compute(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b,
                 const ConvGeometry& g, Tensor** y_out) const {
    const size_t spatial = x.rank() - 2;
    const int64_t N = x.shape()[0], C = x.shape()[1], M = w.shape()[0], CG = w.shape()[1];
    const SpatialParams& p = g.p;
    Shape in_sp(x.shape().begin() + 2, x.shape().end());
    Shape out_sp(g.out_shape.begin() + 2, g.out_shape.end());
    const std::vector<int64_t>& pad = g.pad;
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x.dtype(), g.out_shape));
    *y_out = y;

    // Pad everything to 3 spatial dims.
    auto to3 = [&](const std::vector<int64_t>& v, int64_t fill) {
      std::vector<int64_t> r(3 - spatial, fill);
      r.insert(r.end(), v.begin(), v.end());
      return r;
    };
    const auto in3 = to3(in_sp, 1), out3 = to3(out_sp, 1), k3 = to3(p.kernel, 1);
    const auto s3 = to3(p.strides, 1), d3 = to3(p.dilations, 1), pad3 = to3(pad, 0);
    const int64_t in_plane = in3[0] * in3[1] * in3[2];
    const int64_t out_plane = out3[0] * out3[1] * out3[2];
    const int64_t k_plane = k3[0] * k3[1] * k3[2];
    const int64_t MG = M / group_;

    // Valid output-W range per kernel column: iw = ow*s - pad + kw*d in [0, W).
    std::vector<int64_t> ow_lo(k3[2]), ow_hi(k3[2]);
    for (int64_t kw = 0; kw < k3[2]; ++kw) {
      const int64_t off = kw * d3[2] - pad3[2];
      // smallest ow with ow*s + off >= 0; largest with ow*s + off <= W-1
      int64_t lo = off >= 0 ? 0 : (-off + s3[2] - 1) / s3[2];
      int64_t hi = (in3[2] - 1 - off) < 0 ? -1 : (in3[2] - 1 - off) / s3[2];
      ow_lo[kw] = lo;
      ow_hi[kw] = std::min(hi, out3[2] - 1);
    }

    const T* X = x.data<T>();
    const T* W = w.data<T>();
    T* Y = y->data<T>();
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t m = 0; m < M; ++m) {
        const int64_t g = m / MG;
        T* yp = Y + (n * M + m) * out_plane;
        const T bias = b != nullptr ? b->data<T>()[m] : T(0);
        std::fill_n(yp, out_plane, bias);
        for (int64_t cg = 0; cg < CG; ++cg) {
          const T* xp = X + (n * C + g * CG + cg) * in_plane;
          const T* wp = W + (m * CG + cg) * k_plane;
          for (int64_t kd = 0; kd < k3[0]; ++kd) {
            for (int64_t kh = 0; kh < k3[1]; ++kh) {
              for (int64_t kw = 0; kw < k3[2]; ++kw) {
                const T wv = wp[(kd * k3[1] + kh) * k3[2] + kw];
                if (ow_lo[kw] > ow_hi[kw]) continue;
                for (int64_t od = 0; od < out3[0]; ++od) {
                  const int64_t id = od * s3[0] - pad3[0] + kd * d3[0];
                  if (id < 0 || id >= in3[0]) continue;
                  for (int64_t oh = 0; oh < out3[1]; ++oh) {
                    const int64_t ih = oh * s3[1] - pad3[1] + kh * d3[1];
                    if (ih < 0 || ih >= in3[1]) continue;
                    const T* xrow = xp + (id * in3[1] + ih) * in3[2];
                    T* yrow = yp + (od * out3[1] + oh) * out3[2];
                    const int64_t s = s3[2];
                    const int64_t off = kw * d3[2] - pad3[2];
                    for (int64_t ow = ow_lo[kw]; ow <= ow_hi[kw]; ++ow) {
                      yrow[ow] += wv * xrow[ow * s + off];
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return Status::Ok();
  }

  SpatialParams p_;
  int64_t group_;
  std::vector<PostOp> post_;       // all post-ops (the reference path applies these)
  std::vector<PostOp> dnnl_post_;  // those oneDNN applies
  bool silu_after_ = false;        // post_ ends with SiLU, applied by SiluInPlace
  bool has_sum_ = false;
  // Fast path state, set once at Load.
  bool fast_ = false;
  bool winograd_ = false;  // Winograd allowed (CITADEL_NO_WINOGRAD unset at Load)
  bool nhwc_ = false;      // NHWC brgemm allowed (CITADEL_NO_NHWC_CONV unset at Load)
  Tensor fast_w_, fast_b_;
  mutable std::mutex mu_;
  mutable std::map<Shape, std::shared_ptr<const ConvPrim>> cache_;       // by input shape, threads
  mutable std::map<Shape, std::shared_ptr<const ConvPrim>> wino_cache_;  // by one image's shape, threads
};

}  // namespace

void RegisterConvOps(OpRegistry& r) {
  r.Register("", "Conv", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const auto& attrs = init.node.attrs;
    CITADEL_ASSIGN_OR_RETURN(int64_t group, attrs.GetInt("group", 1));
    if (group <= 0) return Status::InvalidArgument("Conv group must be positive");
    // The spatial rank is known at Load when the weight is a constant;
    // otherwise attributes are checked against the input at Run.
    size_t spatial = 0;
    const Tensor* w = init.ConstantInput(1);
    if (w != nullptr && w->rank() >= 3) spatial = w->rank() - 2;
    CITADEL_ASSIGN_OR_RETURN(SpatialParams p, ReadSpatialParams(attrs, spatial, /*pool=*/false));
    CITADEL_ASSIGN_OR_RETURN(std::vector<PostOp> post, ReadPostOps(attrs));
    auto kernel = std::make_unique<ConvKernel>(std::move(p), group, std::move(post));
    const Tensor* b = init.ConstantInput(2);
    const bool b_ok = init.num_inputs() < 3 || init.node.inputs[2] == kNoValue ||
                      (b != nullptr && b->dtype() == DType::kFloat32);
    if (w != nullptr && w->dtype() == DType::kFloat32 && w->rank() >= 3 && w->rank() <= 5 && b_ok) {
      const ValueType* xt = init.InputType(0);
      kernel->PrepareFast(*w, b, xt != nullptr ? xt->shape : std::nullopt);
    }
    return std::unique_ptr<Kernel>(std::move(kernel));
  });
}

uint64_t InPlaceResidualConvs() { return g_in_place_residuals.load(std::memory_order_relaxed); }
bool NhwcDirectDisabled() { return NhwcDisabledFlag().load(std::memory_order_relaxed) != 0; }
void SetNhwcDirectDisabled(bool disabled) { NhwcDisabledFlag().store(disabled ? 1 : 0); }
uint64_t NhwcDirectExecutions() { return g_nhwc_direct.load(std::memory_order_relaxed); }
uint64_t PointwiseVectorConvs() { return g_pointwise_vector.load(std::memory_order_relaxed); }

}  // namespace citadel::engine::ops
