// Resize (opsets 10-17) and Upsample (7-9): nearest, (n-)linear and cubic,
// with every coordinate_transformation_mode of opset 13 (half_pixel,
// pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn,
// tf_crop_and_resize) and nearest_mode. Nearest is an index-map copy (any
// element type); linear/cubic are applied one axis at a time in double
// (they are separable), integers rounded and saturated at the end.
#include <cmath>
#include <limits>
#include <type_traits>

#include "../kernel.h"
#include "axis_map.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class Mode { kNearest, kLinear, kCubic };
enum class Ctm { kHalfPixel, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfHalfPixelForNN, kTfCropAndResize };
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

struct Params {
  Mode mode = Mode::kNearest;
  Ctm ctm = Ctm::kHalfPixel;
  Nearest nearest = Nearest::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
  // Where the inputs are: opset 10 / Upsample-9 have (X, scales); 11+ have
  // (X, roi, scales, sizes); Upsample-7 has scales as an attribute.
  int scales_input = 2;
  int sizes_input = 3;
  int roi_input = 1;
  std::vector<float> attr_scales;
};

// One output position along one axis: taps (input index, weight); `outside`
// means tf_crop_and_resize sampled outside the input (extrapolation value).
struct Taps {
  bool outside = false;
  std::vector<std::pair<int64_t, double>> taps;
};

double SourceCoord(const Params& p, int64_t o, double scale, int64_t in, int64_t out,
                   double roi_start, double roi_end) {
  const double x = static_cast<double>(o);
  switch (p.ctm) {
    case Ctm::kHalfPixel: return (x + 0.5) / scale - 0.5;
    case Ctm::kPytorchHalfPixel: return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Ctm::kAlignCorners:
      return out == 1 ? 0.0 : x * static_cast<double>(in - 1) / static_cast<double>(out - 1);
    case Ctm::kAsymmetric: return x / scale;
    case Ctm::kTfHalfPixelForNN: return (x + 0.5) / scale;
    case Ctm::kTfCropAndResize:
      return out > 1 ? roi_start * static_cast<double>(in - 1) +
                           x * (roi_end - roi_start) * static_cast<double>(in - 1) /
                               static_cast<double>(out - 1)
                     : 0.5 * (roi_start + roi_end) * static_cast<double>(in - 1);
  }
  return x;
}

int64_t NearestIndex(Nearest m, double x, double scale) {
  switch (m) {
    case Nearest::kRoundPreferFloor:
      return x == std::floor(x) + 0.5 ? static_cast<int64_t>(std::floor(x))
                                       : static_cast<int64_t>(std::round(x));
    case Nearest::kRoundPreferCeil: return static_cast<int64_t>(std::round(x) == x - 0.5 ? std::ceil(x) : std::round(x));
    case Nearest::kFloor: return static_cast<int64_t>(std::floor(x));
    case Nearest::kCeil: return static_cast<int64_t>(std::ceil(x));
    case Nearest::kSimple:
      return scale < 1 ? static_cast<int64_t>(std::ceil(x)) : static_cast<int64_t>(std::floor(x));
  }
  return 0;
}

std::vector<double> CubicCoeffs(double r, double a) {
  const double r1 = r + 1, r2 = 1 - r, r3 = 2 - r;
  return {((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a, ((a + 2) * r - (a + 3)) * r * r + 1,
          ((a + 2) * r2 - (a + 3)) * r2 * r2 + 1, ((a * r3 - 5 * a) * r3 + 8 * a) * r3 - 4 * a};
}

Taps AxisTaps(const Params& p, int64_t o, double scale, int64_t in, int64_t out, double rs,
              double re) {
  Taps t;
  const double x = SourceCoord(p, o, scale, in, out, rs, re);
  if (p.ctm == Ctm::kTfCropAndResize && (x < 0 || x > static_cast<double>(in - 1))) {
    t.outside = true;
    return t;
  }
  auto clamp = [&](int64_t i) { return std::min<int64_t>(std::max<int64_t>(i, 0), in - 1); };
  if (p.mode == Mode::kNearest) {
    t.taps.push_back({clamp(NearestIndex(p.nearest, x, scale)), 1.0});
    return t;
  }
  const double fl = std::floor(x);
  const int64_t i0 = static_cast<int64_t>(fl);
  const double r = x - fl;
  if (p.mode == Mode::kLinear) {
    t.taps.push_back({clamp(i0), 1 - r});
    t.taps.push_back({clamp(i0 + 1), r});
    return t;
  }
  std::vector<double> c = CubicCoeffs(r, p.cubic_a);
  double sum = 0;
  for (int k = 0; k < 4; ++k) {
    const int64_t i = i0 - 1 + k;
    if (p.exclude_outside && (i < 0 || i >= in)) c[k] = 0;
    sum += c[k];
  }
  for (int k = 0; k < 4; ++k) {
    t.taps.push_back({clamp(i0 - 1 + k), p.exclude_outside && sum != 0 ? c[k] / sum : c[k]});
  }
  return t;
}

class ResizeKernel : public Kernel {
 public:
  explicit ResizeKernel(Params p) : p_(std::move(p)) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    const size_t rank = x->rank();
    std::vector<double> scales(rank, 1.0);
    Shape out_shape = x->shape();
    const Tensor* sc = p_.scales_input >= 0 ? ctx.input(p_.scales_input) : nullptr;
    const Tensor* sz = p_.sizes_input >= 0 ? ctx.input(p_.sizes_input) : nullptr;
    if (sc != nullptr && sc->num_elements() == 0) sc = nullptr;
    if (sz != nullptr && sz->num_elements() == 0) sz = nullptr;
    if (!p_.attr_scales.empty() || sc != nullptr) {
      if (sz != nullptr) return Status::InvalidArgument("Resize: give scales or sizes, not both");
      std::vector<double> s;
      if (sc != nullptr) {
        CITADEL_RETURN_IF_ERROR(DispatchFloat(sc->dtype(), [&]<typename T>() -> Status {
          for (size_t i = 0; i < sc->num_elements(); ++i) s.push_back(sc->data<T>()[i]);
          return Status::Ok();
        }));
      } else {
        s.assign(p_.attr_scales.begin(), p_.attr_scales.end());
      }
      if (s.size() != rank) return Status::InvalidArgument("Resize scales must have one value per dimension");
      for (size_t a = 0; a < rank; ++a) {
        const double o = std::floor(static_cast<double>(x->shape()[a]) * s[a]);
        if (!(s[a] > 0) || !(o < 1e12)) return Status::InvalidArgument("Resize scale is invalid");
        scales[a] = s[a];
        out_shape[a] = static_cast<int64_t>(o);
      }
    } else if (sz != nullptr) {
      CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> s, ReadInt64s(*sz, "Resize sizes"));
      if (s.size() != rank) return Status::InvalidArgument("Resize sizes must have one value per dimension");
      for (size_t a = 0; a < rank; ++a) {
        if (s[a] < 0) return Status::InvalidArgument("Resize sizes must be non-negative");
        out_shape[a] = s[a];
        scales[a] = x->shape()[a] == 0 ? 1.0 : static_cast<double>(s[a]) / static_cast<double>(x->shape()[a]);
      }
    } else {
      return Status::InvalidArgument("Resize needs scales or sizes");
    }
    std::vector<double> roi(2 * rank, 0.0);
    for (size_t a = 0; a < rank; ++a) roi[rank + a] = 1.0;
    if (p_.ctm == Ctm::kTfCropAndResize) {
      const Tensor* r = p_.roi_input >= 0 ? ctx.input(p_.roi_input) : nullptr;
      if (r == nullptr || r->num_elements() != 2 * rank) {
        return Status::InvalidArgument("Resize tf_crop_and_resize needs roi with 2*rank values");
      }
      CITADEL_RETURN_IF_ERROR(DispatchFloat(r->dtype(), [&]<typename T>() -> Status {
        for (size_t i = 0; i < 2 * rank; ++i) roi[i] = r->data<T>()[i];
        return Status::Ok();
      }));
    }
    for (size_t a = 0; a < rank; ++a) {
      if (x->shape()[a] == 0 && out_shape[a] > 0) return Status::InvalidArgument("Resize of an empty dimension");
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out_shape));
    if (y->num_elements() == 0) return Status::Ok();

    // Per-axis taps.
    std::vector<std::vector<Taps>> taps(rank);
    for (size_t a = 0; a < rank; ++a) {
      taps[a].resize(out_shape[a]);
      for (int64_t o = 0; o < out_shape[a]; ++o) {
        taps[a][o] = AxisTaps(p_, o, scales[a], x->shape()[a], out_shape[a], roi[a], roi[rank + a]);
      }
    }

    if (p_.mode == Mode::kNearest) {
      AxisMaps maps(rank);
      for (size_t a = 0; a < rank; ++a) {
        for (const Taps& t : taps[a]) maps[a].push_back(t.outside ? -1 : t.taps[0].first);
      }
      CITADEL_ASSIGN_OR_RETURN(Tensor fill, ctx.NewTensor(x->dtype(), {}));
      if (p_.extrapolation != 0) {
        Status st = DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
          *fill.data<T>() = static_cast<T>(p_.extrapolation);
          return Status::Ok();
        });
        (void)st;  // other types keep a zero fill
      }
      return CopyThroughAxisMaps(*x, maps, fill.raw_data(), y);
    }

    return DispatchNumeric(x->dtype(), [&]<typename T>() -> Status {
      std::vector<double> cur(x->num_elements());
      for (size_t i = 0; i < cur.size(); ++i) cur[i] = static_cast<double>(x->data<T>()[i]);
      Shape cur_shape = x->shape();
      for (size_t a = 0; a < rank; ++a) {
        const bool identity = out_shape[a] == cur_shape[a] && scales[a] == 1.0 &&
                              p_.ctm != Ctm::kTfCropAndResize;
        if (identity) continue;
        int64_t outer = 1, inner = 1;
        for (size_t d = 0; d < a; ++d) outer *= cur_shape[d];
        for (size_t d = a + 1; d < rank; ++d) inner *= cur_shape[d];
        const int64_t in_dim = cur_shape[a], out_dim = out_shape[a];
        // Bounded by the output's own limit: every intermediate is at most
        // as large as the larger of input and output along each axis.
        CITADEL_ASSIGN_OR_RETURN(Tensor scratch, ctx.NewTensor(DType::kFloat64, {outer, out_dim, inner}));
        double* next = scratch.data<double>();
        for (int64_t o = 0; o < outer; ++o) {
          for (int64_t j = 0; j < out_dim; ++j) {
            const Taps& t = taps[a][j];
            double* dst = next + (o * out_dim + j) * inner;
            if (t.outside) {
              for (int64_t i = 0; i < inner; ++i) dst[i] = p_.extrapolation;
              continue;
            }
            for (const auto& [src_idx, w] : t.taps) {
              const double* src = cur.data() + (o * in_dim + src_idx) * inner;
              for (int64_t i = 0; i < inner; ++i) dst[i] += w * src[i];
            }
          }
        }
        cur.assign(next, next + scratch.num_elements());
        cur_shape[a] = out_dim;
      }
      T* out = y->data<T>();
      for (size_t i = 0; i < cur.size(); ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          out[i] = static_cast<T>(cur[i]);
        } else {
          double v = std::nearbyint(cur[i]);
          v = std::min<double>(std::max<double>(v, static_cast<double>(std::numeric_limits<T>::lowest())),
                               static_cast<double>(std::numeric_limits<T>::max()));
          out[i] = std::isnan(v) ? T{0} : static_cast<T>(v);
        }
      }
      return Status::Ok();
    });
  }

 private:
  Params p_;
};

Result<Params> ReadParams(const KernelInit& init, bool upsample) {
  Params p;
  const Attributes& at = init.node.attrs;
  CITADEL_ASSIGN_OR_RETURN(std::string mode, at.GetString("mode", "nearest"));
  if (mode == "nearest") p.mode = Mode::kNearest;
  else if (mode == "linear" || mode == "bilinear") p.mode = Mode::kLinear;
  else if (mode == "cubic" && !upsample && init.opset >= 11) p.mode = Mode::kCubic;
  else return Status::InvalidArgument("Resize mode '" + mode + "' is not supported");
  if (upsample || init.opset < 11) {
    p.ctm = Ctm::kAsymmetric;
    p.nearest = Nearest::kSimple;
    p.roi_input = -1;
    p.sizes_input = -1;
    p.scales_input = upsample && init.opset < 9 ? -1 : 1;
    if (upsample && init.opset < 9) {
      CITADEL_ASSIGN_OR_RETURN(p.attr_scales, at.GetFloats("scales"));
    }
    return p;
  }
  CITADEL_ASSIGN_OR_RETURN(std::string ctm, at.GetString("coordinate_transformation_mode", "half_pixel"));
  if (ctm == "half_pixel") p.ctm = Ctm::kHalfPixel;
  else if (ctm == "pytorch_half_pixel") p.ctm = Ctm::kPytorchHalfPixel;
  else if (ctm == "align_corners") p.ctm = Ctm::kAlignCorners;
  else if (ctm == "asymmetric") p.ctm = Ctm::kAsymmetric;
  else if (ctm == "tf_half_pixel_for_nn") p.ctm = Ctm::kTfHalfPixelForNN;
  else if (ctm == "tf_crop_and_resize") p.ctm = Ctm::kTfCropAndResize;
  else return Status::InvalidArgument("Resize coordinate_transformation_mode '" + ctm + "' is not supported");
  CITADEL_ASSIGN_OR_RETURN(std::string nm, at.GetString("nearest_mode", "round_prefer_floor"));
  if (nm == "round_prefer_floor") p.nearest = Nearest::kRoundPreferFloor;
  else if (nm == "round_prefer_ceil") p.nearest = Nearest::kRoundPreferCeil;
  else if (nm == "floor") p.nearest = Nearest::kFloor;
  else if (nm == "ceil") p.nearest = Nearest::kCeil;
  else return Status::InvalidArgument("Resize nearest_mode '" + nm + "' is not supported");
  CITADEL_ASSIGN_OR_RETURN(float a, at.GetFloat("cubic_coeff_a", -0.75f));
  CITADEL_ASSIGN_OR_RETURN(int64_t ex, at.GetInt("exclude_outside", 0));
  CITADEL_ASSIGN_OR_RETURN(float ev, at.GetFloat("extrapolation_value", 0.0f));
  p.cubic_a = a;
  p.exclude_outside = ex != 0;
  p.extrapolation = ev;
  return p;
}

KernelFactory ResizeFactory(bool upsample) {
  return [upsample](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(Params p, ReadParams(init, upsample));
    return std::unique_ptr<Kernel>(std::make_unique<ResizeKernel>(std::move(p)));
  };
}

}  // namespace

void RegisterResizeOps(OpRegistry& r) {
  r.Register("", "Resize", 10, kMaxOnnxOpset, ResizeFactory(false));
  r.Register("", "Upsample", 7, 9, ResizeFactory(true));
}

}  // namespace citadel::engine::ops
