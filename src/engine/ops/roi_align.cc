// RoiAlign (opsets 10-17): average or max of bilinear samples over a grid
// in each output bin of each region of interest.
//
//   X [N, C, H, W], rois [R, 4] (x1, y1, x2, y2 in input coordinates before
//   spatial_scale), batch_indices [R] (int64) -> Y [R, C, output_height,
//   output_width].
//
// coordinate_transformation_mode (opset 16+, default half_pixel) shifts the
// scaled box by -0.5; opset 10 behaves as output_half_pixel (no shift, and
// the box is at least 1x1). sampling_ratio 0 means ceil(roi size / bins)
// samples per bin. Samples more than one pixel outside the input count as
// zero. "max" takes, per bin, the largest of the four weighted corner
// values of every sample (what the ONNX reference and ONNX Runtime do).
#include <algorithm>
#include <cmath>

#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class RoiAlignKernel final : public Kernel {
 public:
  RoiAlignKernel(bool max_mode, int64_t oh, int64_t ow, int64_t sampling, float scale, bool half_pixel)
      : max_(max_mode), oh_(oh), ow_(ow), sampling_(sampling), scale_(scale), half_pixel_(half_pixel) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "X"));
    return DispatchFloat(x->dtype(), [&]<typename T>() { return RunT<T>(ctx); });
  }

 private:
  template <typename T>
  Status RunT(KernelContext& ctx) const {
    const Tensor* x = ctx.input(0);
    CITADEL_ASSIGN_OR_RETURN(const Tensor* rois, RequireInput(ctx, 1, "rois"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* idx, RequireInput(ctx, 2, "batch_indices"));
    if (x->rank() != 4) return Status::InvalidArgument("X must be 4-D, got " + ShapeToString(x->shape()));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*x, *rois, "rois"));
    if (rois->rank() != 2 || rois->shape()[1] != 4) {
      return Status::InvalidArgument("rois must be [num_rois, 4], got " + ShapeToString(rois->shape()));
    }
    const int64_t R = rois->shape()[0];
    CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> bidx, ReadInt64s(*idx, "batch_indices"));
    if (static_cast<int64_t>(bidx.size()) != R || idx->rank() != 1) {
      return Status::InvalidArgument("batch_indices must be [" + std::to_string(R) + "]");
    }
    const int64_t N = x->shape()[0], C = x->shape()[1], H = x->shape()[2], W = x->shape()[3];
    for (int64_t b : bidx) {
      if (b < 0 || b >= N) {
        return Status::InvalidArgument("batch index " + std::to_string(b) + " is outside [0, " +
                                       std::to_string(N) + ")");
      }
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor* y, ctx.Allocate(0, x->dtype(), {R, C, oh_, ow_}));
    const T* X = x->data<T>();
    const T* B = rois->data<T>();
    T* Y = y->data<T>();
    const double off = half_pixel_ ? 0.5 : 0.0;
    struct Sample {
      int64_t p1, p2, p3, p4;
      double w1, w2, w3, w4;
      bool valid;
    };
    std::vector<Sample> samples;
    for (int64_t r = 0; r < R; ++r) {
      const double x1 = B[r * 4 + 0] * static_cast<double>(scale_) - off;
      const double y1 = B[r * 4 + 1] * static_cast<double>(scale_) - off;
      const double x2 = B[r * 4 + 2] * static_cast<double>(scale_) - off;
      const double y2 = B[r * 4 + 3] * static_cast<double>(scale_) - off;
      double rw = x2 - x1, rh = y2 - y1;
      if (!half_pixel_) {
        rw = std::max(rw, 1.0);
        rh = std::max(rh, 1.0);
      }
      const double bh = rh / static_cast<double>(oh_), bw = rw / static_cast<double>(ow_);
      const int64_t gh = sampling_ > 0 ? sampling_ : static_cast<int64_t>(std::ceil(rh / oh_));
      const int64_t gw = sampling_ > 0 ? sampling_ : static_cast<int64_t>(std::ceil(rw / ow_));
      if (gh > (int64_t{1} << 16) || gw > (int64_t{1} << 16)) {
        return Status::InvalidArgument("region of interest " + std::to_string(r) + " is too large");
      }
      const double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
      // Sample positions and weights are the same for every channel.
      samples.clear();
      for (int64_t ph = 0; ph < oh_; ++ph) {
        for (int64_t pw = 0; pw < ow_; ++pw) {
          for (int64_t iy = 0; iy < gh; ++iy) {
            double yy = y1 + ph * bh + (iy + 0.5) * bh / static_cast<double>(gh);
            for (int64_t ix = 0; ix < gw; ++ix) {
              double xx = x1 + pw * bw + (ix + 0.5) * bw / static_cast<double>(gw);
              Sample s{};
              if (yy < -1.0 || yy > H || xx < -1.0 || xx > W) {
                s.valid = false;
                samples.push_back(s);
                continue;
              }
              double sy = std::max(yy, 0.0), sx = std::max(xx, 0.0);
              int64_t yl = static_cast<int64_t>(sy), xl = static_cast<int64_t>(sx), yh, xh;
              if (yl >= H - 1) {
                yh = yl = H - 1;
                sy = static_cast<double>(yl);
              } else {
                yh = yl + 1;
              }
              if (xl >= W - 1) {
                xh = xl = W - 1;
                sx = static_cast<double>(xl);
              } else {
                xh = xl + 1;
              }
              const double ly = sy - yl, lx = sx - xl, hy = 1 - ly, hx = 1 - lx;
              s = Sample{yl * W + xl, yl * W + xh, yh * W + xl, yh * W + xh,
                         hy * hx,     hy * lx,     ly * hx,     ly * lx,     true};
              samples.push_back(s);
            }
          }
        }
      }
      const int64_t per_bin = gh * gw;
      for (int64_t c = 0; c < C; ++c) {
        const T* plane = X + (bidx[r] * C + c) * H * W;
        T* out = Y + (r * C + c) * oh_ * ow_;
        for (int64_t bin = 0; bin < oh_ * ow_; ++bin) {
          double acc = 0;
          bool any = false;
          for (int64_t k = 0; k < per_bin; ++k) {
            const Sample& s = samples[bin * per_bin + k];
            if (!max_) {
              if (s.valid) {
                acc += s.w1 * plane[s.p1] + s.w2 * plane[s.p2] + s.w3 * plane[s.p3] +
                       s.w4 * plane[s.p4];
              }
              continue;
            }
            const double v = s.valid ? std::max(std::max(s.w1 * plane[s.p1], s.w2 * plane[s.p2]),
                                                std::max(s.w3 * plane[s.p3], s.w4 * plane[s.p4]))
                                     : 0.0;
            acc = any ? std::max(acc, v) : v;
            any = true;
          }
          out[bin] = static_cast<T>(max_ ? acc : acc / count);
        }
      }
    }
    return Status::Ok();
  }

  bool max_;
  int64_t oh_, ow_, sampling_;
  float scale_;
  bool half_pixel_;
};

Result<std::unique_ptr<Kernel>> MakeRoiAlign(const KernelInit& init) {
  const Attributes& a = init.node.attrs;
  CITADEL_ASSIGN_OR_RETURN(std::string mode, a.GetString("mode", "avg"));
  if (mode != "avg" && mode != "max") {
    return Status::InvalidArgument("mode must be avg or max, got '" + mode + "'");
  }
  CITADEL_ASSIGN_OR_RETURN(int64_t oh, a.GetInt("output_height", 1));
  CITADEL_ASSIGN_OR_RETURN(int64_t ow, a.GetInt("output_width", 1));
  CITADEL_ASSIGN_OR_RETURN(int64_t sampling, a.GetInt("sampling_ratio", 0));
  CITADEL_ASSIGN_OR_RETURN(float scale, a.GetFloat("spatial_scale", 1.0f));
  if (oh < 1 || ow < 1 || oh > 4096 || ow > 4096) {
    return Status::InvalidArgument("output_height/output_width must be in [1, 4096]");
  }
  if (sampling < 0 || sampling > 1024) return Status::InvalidArgument("sampling_ratio must be in [0, 1024]");
  bool half_pixel = false;
  if (init.opset >= 16) {
    CITADEL_ASSIGN_OR_RETURN(std::string ctm, a.GetString("coordinate_transformation_mode", "half_pixel"));
    if (ctm != "half_pixel" && ctm != "output_half_pixel") {
      return Status::InvalidArgument("coordinate_transformation_mode must be half_pixel or "
                                     "output_half_pixel, got '" + ctm + "'");
    }
    half_pixel = ctm == "half_pixel";
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<RoiAlignKernel>(mode == "max", oh, ow, sampling, scale, half_pixel));
}

}  // namespace

void RegisterRoiAlignOps(OpRegistry& r) { r.Register("", "RoiAlign", 10, kMaxOnnxOpset, MakeRoiAlign); }

}  // namespace citadel::engine::ops
