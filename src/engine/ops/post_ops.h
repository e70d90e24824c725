// Post-ops fused into Conv (and Gemm) by the optimiser: an ordered list of
// elementwise activations and at most one residual sum, stored on the node
// as internal attributes so the fused node is still one IR node.
//   "_citadel_post_kinds":  ints, one PostKind per post-op, in order
//   "_citadel_post_params": floats, two per post-op (alpha, beta)
//   a kSum post-op adds the node's input `kSumInput` (same shape as Y)
#ifndef CITADEL_ENGINE_OPS_POST_OPS_H_
#define CITADEL_ENGINE_OPS_POST_OPS_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "../graph.h"
#include "citadel/status.h"

namespace citadel::engine::ops {

enum class PostKind : int64_t {
  kRelu = 1,       // max(x, 0)
  kClip = 2,       // min(max(x, alpha), beta)
  kLeakyRelu = 3,  // x >= 0 ? x : alpha * x
  kSigmoid = 4,    // 1 / (1 + exp(-x))
  kSwish = 5,      // x * sigmoid(x)
  kSum = 6,        // x + residual input
};

struct PostOp {
  PostKind kind;
  float alpha = 0, beta = 0;
};

// Domain of the internal ops the optimiser creates (transformer.cc).
inline constexpr const char* kCitadelDomain = "ai.citadel";

inline constexpr const char* kPostKindsAttr = "_citadel_post_kinds";
inline constexpr const char* kPostParamsAttr = "_citadel_post_params";
inline constexpr size_t kConvSumInput = 3;

// The depthwise half of ai.citadel ConvDw (conv_dw.cc) keeps its own list.
inline constexpr const char* kDwPostKindsAttr = "_citadel_dw_post_kinds";
inline constexpr const char* kDwPostParamsAttr = "_citadel_dw_post_params";

inline Result<std::vector<PostOp>> ReadPostOps(const Attributes& attrs,
                                               const char* kinds_attr = kPostKindsAttr,
                                               const char* params_attr = kPostParamsAttr) {
  std::vector<PostOp> ops;
  if (!attrs.Has(kinds_attr)) return ops;
  CITADEL_ASSIGN_OR_RETURN(auto kinds, attrs.GetInts(kinds_attr, {}));
  CITADEL_ASSIGN_OR_RETURN(auto params, attrs.GetFloats(params_attr));
  if (params.size() != 2 * kinds.size()) return Status::Internal("bad fused post-op attributes");
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (kinds[i] < 1 || kinds[i] > 6) return Status::Internal("bad fused post-op kind");
    ops.push_back(PostOp{static_cast<PostKind>(kinds[i]), params[2 * i], params[2 * i + 1]});
  }
  return ops;
}

inline void AppendPostOps(Attributes* attrs, const std::vector<PostOp>& ops,
                          const char* kinds_attr = kPostKindsAttr,
                          const char* params_attr = kPostParamsAttr) {
  Attribute k, p;
  k.kind = Attribute::Kind::kInts;
  p.kind = Attribute::Kind::kFloats;
  for (const PostOp& op : ops) {
    k.ints.push_back(static_cast<int64_t>(op.kind));
    p.floats.push_back(op.alpha);
    p.floats.push_back(op.beta);
  }
  attrs->Set(kinds_attr, std::move(k));
  attrs->Set(params_attr, std::move(p));
}

// Reference: applies one elementwise post-op in place (not kSum).
template <typename T>
void ApplyEltwise(const PostOp& op, T* y, size_t n) {
  switch (op.kind) {
    case PostKind::kRelu: for (size_t i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : T(0); break;
    case PostKind::kClip:
      for (size_t i = 0; i < n; ++i) y[i] = std::min<T>(std::max<T>(y[i], op.alpha), op.beta);
      break;
    case PostKind::kLeakyRelu:
      for (size_t i = 0; i < n; ++i) y[i] = y[i] >= T(0) ? y[i] : static_cast<T>(op.alpha * y[i]);
      break;
    case PostKind::kSigmoid:
      for (size_t i = 0; i < n; ++i) y[i] = T(1) / (T(1) + std::exp(-y[i]));
      break;
    case PostKind::kSwish:
      for (size_t i = 0; i < n; ++i) y[i] = y[i] / (T(1) + std::exp(-y[i]));
      break;
    case PostKind::kSum: break;
  }
}

// Appends `ops` to a oneDNN post-op chain.
inline void AppendDnnl(const std::vector<PostOp>& ops, dnnl::post_ops* out) {
  dnnl::post_ops& po = *out;
  for (const PostOp& op : ops) {
    switch (op.kind) {
      case PostKind::kRelu: po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
      case PostKind::kClip:
        po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip_v2, op.alpha, op.beta);
        break;
      case PostKind::kLeakyRelu:
        po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, op.alpha, 0.f);
        break;
      case PostKind::kSigmoid:
        po.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f);
        break;
      case PostKind::kSwish: po.append_eltwise(1.f, dnnl::algorithm::eltwise_swish, 1.f, 0.f); break;
      case PostKind::kSum: po.append_sum(1.f); break;
    }
  }
}

// The oneDNN post-op chain for `ops`.
inline dnnl::post_ops ToDnnl(const std::vector<PostOp>& ops) {
  dnnl::post_ops po;
  AppendDnnl(ops, &po);
  return po;
}

}  // namespace citadel::engine::ops

#endif  // CITADEL_ENGINE_OPS_POST_OPS_H_
