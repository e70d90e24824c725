// GridSample (opset 16): samples X [N, C, H, W] at the normalised
// coordinates of Grid [N, Ho, Wo, 2] ((x, y) in [-1, 1]), bilinear,
// nearest (round half to even) or bicubic (A = -0.75), with zeros, border
// or reflection padding and align_corners; the semantics of PyTorch's
// grid_sample, which the ONNX op was defined from and its test data
// generated with. Coordinates are computed in double.
#include <cmath>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

enum class Mode { kBilinear, kNearest, kBicubic };
enum class Padding { kZeros, kBorder, kReflection };

// Reflects x into [low2 / 2, high2 / 2] (bounds given doubled).
double Reflect(double x, double low2, double high2) {
  if (low2 == high2) return 0;
  const double mn = low2 / 2, span = (high2 - low2) / 2;
  x = std::fabs(x - mn);
  const double extra = std::fmod(x, span);
  const int64_t flips = static_cast<int64_t>(std::floor(x / span));
  return flips % 2 == 0 ? extra + mn : span - extra + mn;
}

double Clip(double x, int64_t size) { return std::min(static_cast<double>(size - 1), std::max(0.0, x)); }

double Cubic1(double x, double a) { return ((a + 2) * x - (a + 3)) * x * x + 1; }
double Cubic2(double x, double a) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; }

class GridSampleKernel : public Kernel {
 public:
  GridSampleKernel(Mode mode, Padding padding, bool align) : mode_(mode), padding_(padding), align_(align) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* g, RequireInput(ctx, 1, "Grid"));
    if (x->rank() != 4 || g->rank() != 4 || g->shape()[0] != x->shape()[0] || g->shape()[3] != 2) {
      return Status::InvalidArgument("GridSample needs X [N, C, H, W] and Grid [N, Ho, Wo, 2], got " +
                                     ShapeToString(x->shape()) + " and " + ShapeToString(g->shape()));
    }
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *g, "GridSample X and Grid"));
    const int64_t N = x->shape()[0], C = x->shape()[1], H = x->shape()[2], W = x->shape()[3];
    const int64_t Ho = g->shape()[1], Wo = g->shape()[2];
    return DispatchFloat(x->dtype(), [&]<typename T>() -> Status {
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, x->dtype(), {N, C, Ho, Wo}));
      const T* X = x->data<T>();
      const T* G = g->data<T>();
      T* Y = y->data<T>();
      for (int64_t n = 0; n < N; ++n) {
        for (int64_t h = 0; h < Ho; ++h) {
          for (int64_t w = 0; w < Wo; ++w) {
            const T* gp = G + ((n * Ho + h) * Wo + w) * 2;
            for (int64_t c = 0; c < C; ++c) {
              const T* plane = X + (n * C + c) * H * W;
              Y[((n * C + c) * Ho + h) * Wo + w] = static_cast<T>(Sample(plane, H, W, gp[0], gp[1]));
            }
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  double Unnormalize(double v, int64_t size) const {
    return align_ ? (v + 1) / 2 * static_cast<double>(size - 1) : ((v + 1) * static_cast<double>(size) - 1) / 2;
  }

  // Applies the padding mode to an unnormalised coordinate.
  double Pad(double v, int64_t size) const {
    if (padding_ == Padding::kBorder) return Clip(v, size);
    if (padding_ == Padding::kReflection) {
      v = align_ ? Reflect(v, 0, 2.0 * static_cast<double>(size - 1)) : Reflect(v, -1, 2.0 * static_cast<double>(size) - 1);
      return Clip(v, size);
    }
    return v;
  }

  template <typename T>
  static double At(const T* p, int64_t H, int64_t W, int64_t yy, int64_t xx) {
    return yy >= 0 && yy < H && xx >= 0 && xx < W ? static_cast<double>(p[yy * W + xx]) : 0.0;
  }

  template <typename T>
  double Sample(const T* p, int64_t H, int64_t W, double gx, double gy) const {
    if (!std::isfinite(gx) || !std::isfinite(gy)) return 0;
    if (mode_ == Mode::kBicubic) {
      const double ix = Unnormalize(gx, W), iy = Unnormalize(gy, H);
      const double fx = std::floor(ix), fy = std::floor(iy);
      const double tx = ix - fx, ty = iy - fy;
      const double a = -0.75;
      const double cx[4] = {Cubic2(tx + 1, a), Cubic1(tx, a), Cubic1(1 - tx, a), Cubic2(2 - tx, a)};
      const double cy[4] = {Cubic2(ty + 1, a), Cubic1(ty, a), Cubic1(1 - ty, a), Cubic2(2 - ty, a)};
      double acc = 0;
      for (int j = 0; j < 4; ++j) {
        double row = 0;
        for (int i = 0; i < 4; ++i) {
          // Each tap is padded on its own (border/reflection move it inside).
          const double tapx = Pad(fx - 1 + i, W), tapy = Pad(fy - 1 + j, H);
          row += cx[i] * BoundedAt(p, H, W, tapy, tapx);
        }
        acc += cy[j] * row;
      }
      return acc;
    }
    const double ix = Pad(Unnormalize(gx, W), W), iy = Pad(Unnormalize(gy, H), H);
    if (mode_ == Mode::kNearest) {
      return BoundedAt(p, H, W, std::nearbyint(iy), std::nearbyint(ix));
    }
    const double x0 = std::floor(ix), y0 = std::floor(iy);
    const double tx = ix - x0, ty = iy - y0;
    return BoundedAt(p, H, W, y0, x0) * (1 - tx) * (1 - ty) + BoundedAt(p, H, W, y0, x0 + 1) * tx * (1 - ty) +
           BoundedAt(p, H, W, y0 + 1, x0) * (1 - tx) * ty + BoundedAt(p, H, W, y0 + 1, x0 + 1) * tx * ty;
  }

  // Value at integral (yy, xx) given as doubles, 0 outside (and for
  // coordinates too large to convert).
  template <typename T>
  static double BoundedAt(const T* p, int64_t H, int64_t W, double yy, double xx) {
    if (!(yy >= 0 && yy < static_cast<double>(H) && xx >= 0 && xx < static_cast<double>(W))) return 0;
    return At(p, H, W, static_cast<int64_t>(yy), static_cast<int64_t>(xx));
  }

  Mode mode_;
  Padding padding_;
  bool align_;
};

}  // namespace

void RegisterGridSampleOps(OpRegistry& r) {
  r.Register("", "GridSample", 16, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const Attributes& a = init.node.attrs;
    CITADEL_ASSIGN_OR_RETURN(std::string mode, a.GetString("mode", "bilinear"));
    CITADEL_ASSIGN_OR_RETURN(std::string padding, a.GetString("padding_mode", "zeros"));
    CITADEL_ASSIGN_OR_RETURN(int64_t align, a.GetInt("align_corners", 0));
    Mode m;
    if (mode == "bilinear") m = Mode::kBilinear;
    else if (mode == "nearest") m = Mode::kNearest;
    else if (mode == "bicubic") m = Mode::kBicubic;
    else return Status::InvalidArgument("GridSample mode '" + mode + "' is not bilinear, nearest or bicubic");
    Padding p;
    if (padding == "zeros") p = Padding::kZeros;
    else if (padding == "border") p = Padding::kBorder;
    else if (padding == "reflection") p = Padding::kReflection;
    else return Status::InvalidArgument("GridSample padding_mode '" + padding + "' is not zeros, border or reflection");
    return std::unique_ptr<Kernel>(std::make_unique<GridSampleKernel>(m, p, align != 0));
  });
}

}  // namespace citadel::engine::ops
