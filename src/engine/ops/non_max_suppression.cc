// NonMaxSuppression (10, 11): greedy per-(batch, class) box selection, as
// detection heads (SSD, YOLO, torchvision's exported post-processing) use.
//
// For each batch b and class c: candidates are the boxes whose score is
// strictly above score_threshold, taken in decreasing score order (ties: the
// lower box index first, so the result is deterministic); a candidate is
// kept unless its IoU with an already kept box is above iou_threshold; at
// most max_output_boxes_per_class are kept. Output: int64 [num_selected, 3]
// rows (b, c, box), ordered by batch, class, then selection order.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

struct Box {
  float y1, x1, y2, x2;  // normalised: y1 <= y2, x1 <= x2
};

// center_point_box 0: [y1, x1, y2, x2] with the corners in either order;
// 1: [x_center, y_center, width, height].
Box ReadBox(const float* p, bool center) {
  if (center) {
    const float hw = p[2] / 2, hh = p[3] / 2;
    return Box{p[1] - hh, p[0] - hw, p[1] + hh, p[0] + hw};
  }
  return Box{std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]),
             std::max(p[1], p[3])};
}

// A degenerate box (zero area) overlaps nothing, so it never suppresses and
// is never suppressed.
bool SuppressedBy(const Box& a, const Box& b, float iou_threshold) {
  const float area_a = (a.y2 - a.y1) * (a.x2 - a.x1);
  const float area_b = (b.y2 - b.y1) * (b.x2 - b.x1);
  if (area_a <= 0 || area_b <= 0) return false;
  const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (ih <= 0 || iw <= 0) return false;
  const float inter = ih * iw;
  return inter / (area_a + area_b - inter) > iou_threshold;
}

Result<float> OptionalScalarFloat(const Tensor* t, const char* what, float def) {
  if (t == nullptr) return def;
  if (t->dtype() != DType::kFloat32 || t->num_elements() != 1) {
    return Status::InvalidArgument(std::string(what) + " must be a float32 scalar, got " +
                                   std::string(DTypeName(t->dtype())) + " " +
                                   ShapeToString(t->shape()));
  }
  return t->data<float>()[0];
}

class NonMaxSuppressionKernel final : public Kernel {
 public:
  explicit NonMaxSuppressionKernel(bool center) : center_(center) {}

  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* boxes, RequireInput(ctx, 0, "boxes"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* scores, RequireInput(ctx, 1, "scores"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*boxes, DType::kFloat32, "NonMaxSuppression boxes"));
    CITADEL_RETURN_IF_ERROR(ExpectDType(*scores, DType::kFloat32, "NonMaxSuppression scores"));
    const Shape& bs = boxes->shape();
    const Shape& ss = scores->shape();
    if (bs.size() != 3 || bs[2] != 4 || ss.size() != 3 || ss[0] != bs[0] || ss[2] != bs[1]) {
      return Status::InvalidArgument(
          "NonMaxSuppression needs boxes [batches, boxes, 4] and scores [batches, classes, boxes], got " +
          ShapeToString(bs) + " and " + ShapeToString(ss));
    }
    int64_t max_out = 0;
    if (const Tensor* m = ctx.input(2)) {
      CITADEL_ASSIGN_OR_RETURN(std::vector<int64_t> v, ReadInt64s(*m, "max_output_boxes_per_class"));
      if (v.size() != 1) return Status::InvalidArgument("max_output_boxes_per_class must be a scalar");
      max_out = std::max<int64_t>(0, v[0]);
    }
    CITADEL_ASSIGN_OR_RETURN(float iou, OptionalScalarFloat(ctx.input(3), "iou_threshold", 0.f));
    const bool has_score_threshold = ctx.input(4) != nullptr;
    CITADEL_ASSIGN_OR_RETURN(float score_threshold,
                             OptionalScalarFloat(ctx.input(4), "score_threshold", 0.f));

    const int64_t batches = bs[0], n = bs[1], classes = ss[1];
    std::vector<int64_t> selected;  // flattened (b, c, i) triples
    std::vector<Box> decoded(static_cast<size_t>(n));
    std::vector<int64_t> order;
    std::vector<int64_t> kept;
    for (int64_t b = 0; b < batches && max_out > 0; ++b) {
      const float* bp = boxes->data<float>() + b * n * 4;
      for (int64_t i = 0; i < n; ++i) decoded[i] = ReadBox(bp + i * 4, center_);
      for (int64_t c = 0; c < classes; ++c) {
        const float* sp = scores->data<float>() + (b * classes + c) * n;
        order.clear();
        for (int64_t i = 0; i < n; ++i) {
          if (std::isnan(sp[i])) continue;
          if (!has_score_threshold || sp[i] > score_threshold) order.push_back(i);
        }
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t x, int64_t y) { return sp[x] > sp[y]; });
        kept.clear();
        for (int64_t i : order) {
          if (static_cast<int64_t>(kept.size()) >= max_out) break;
          bool drop = false;
          for (int64_t k : kept) {
            if (SuppressedBy(decoded[i], decoded[k], iou)) {
              drop = true;
              break;
            }
          }
          if (drop) continue;
          kept.push_back(i);
          selected.insert(selected.end(), {b, c, i});
        }
      }
    }
    const int64_t rows = static_cast<int64_t>(selected.size() / 3);
    CITADEL_ASSIGN_OR_RETURN(Tensor* out, ctx.Allocate(0, DType::kInt64, Shape{rows, 3}));
    std::copy(selected.begin(), selected.end(), out->data<int64_t>());
    return Status::Ok();
  }

 private:
  bool center_;
};

}  // namespace

void RegisterNonMaxSuppressionOps(OpRegistry& r) {
  r.Register("", "NonMaxSuppression", 10, kMaxOnnxOpset,
             [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
               CITADEL_ASSIGN_OR_RETURN(int64_t center, init.node.attrs.GetInt("center_point_box", 0));
               if (center != 0 && center != 1) {
                 return Status::InvalidArgument("center_point_box must be 0 or 1");
               }
               return std::unique_ptr<Kernel>(std::make_unique<NonMaxSuppressionKernel>(center == 1));
             });
}

}  // namespace citadel::engine::ops
