#include "common.h"

#include <algorithm>

namespace citadel::engine::ops {

Result<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return Status::InvalidArgument("shapes " + ShapeToString(a) + " and " + ShapeToString(b) +
                                     " cannot be broadcast together");
    }
  }
  return out;
}

std::vector<int64_t> Strides(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

std::vector<int64_t> BroadcastStrides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  std::vector<int64_t> own = Strides(in);
  const size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    st[lead + i] = in[i] == 1 ? 0 : own[i];
  }
  return st;
}

Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank) {
    return Status::InvalidArgument(std::string(what) + " " + std::to_string(axis) +
                                   " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

Result<std::vector<int64_t>> ReadInt64s(const Tensor& t, const char* what) {
  if (t.rank() > 1) {
    return Status::InvalidArgument(std::string(what) + " must be a 1-D tensor, got " +
                                   ShapeToString(t.shape()));
  }
  std::vector<int64_t> v(t.num_elements());
  if (t.dtype() == DType::kInt64) {
    std::copy_n(t.data<int64_t>(), v.size(), v.begin());
  } else if (t.dtype() == DType::kInt32) {
    std::copy_n(t.data<int32_t>(), v.size(), v.begin());
  } else {
    return Status::InvalidArgument(std::string(what) + " must be int64 or int32, got " +
                                   std::string(DTypeName(t.dtype())));
  }
  return v;
}

Result<const Tensor*> RequireInput(const KernelContext& ctx, size_t i, const char* what) {
  const Tensor* t = ctx.input(i);
  if (t == nullptr) {
    return Status::InvalidArgument(std::string("missing required input ") + what);
  }
  return t;
}

Status ExpectDType(const Tensor& t, DType want, const char* what) {
  if (t.dtype() != want) {
    return Status::InvalidArgument(std::string(what) + " must be " + std::string(DTypeName(want)) +
                                   ", got " + std::string(DTypeName(t.dtype())));
  }
  return Status::Ok();
}

Status ExpectSameDType(const Tensor& a, const Tensor& b, const char* what) {
  if (a.dtype() != b.dtype()) {
    return Status::InvalidArgument(std::string(what) + ": element types differ (" +
                                   std::string(DTypeName(a.dtype())) + " vs " +
                                   std::string(DTypeName(b.dtype())) + ")");
  }
  return Status::Ok();
}

Result<SpatialParams> ReadSpatialParams(const Attributes& attrs, size_t spatial, bool pool) {
  SpatialParams p;
  CITADEL_ASSIGN_OR_RETURN(p.kernel, attrs.GetInts("kernel_shape", {}));
  CITADEL_ASSIGN_OR_RETURN(p.strides, attrs.GetInts("strides", {}));
  CITADEL_ASSIGN_OR_RETURN(p.dilations, attrs.GetInts("dilations", {}));
  CITADEL_ASSIGN_OR_RETURN(p.pads, attrs.GetInts("pads", {}));
  CITADEL_ASSIGN_OR_RETURN(p.auto_pad, attrs.GetString("auto_pad", "NOTSET"));
  if (pool) {
    CITADEL_ASSIGN_OR_RETURN(int64_t ceil, attrs.GetInt("ceil_mode", 0));
    p.ceil_mode = ceil != 0;
  }
  if (p.auto_pad != "NOTSET" && p.auto_pad != "VALID" && p.auto_pad != "SAME_UPPER" &&
      p.auto_pad != "SAME_LOWER") {
    return Status::InvalidArgument("unknown auto_pad '" + p.auto_pad + "'");
  }
  if (spatial == 0) return p;  // rank known only at run time; checked then
  if (p.strides.empty()) p.strides.assign(spatial, 1);
  if (p.dilations.empty()) p.dilations.assign(spatial, 1);
  if (p.pads.empty()) p.pads.assign(2 * spatial, 0);
  if (p.strides.size() != spatial || p.dilations.size() != spatial ||
      p.pads.size() != 2 * spatial || (!p.kernel.empty() && p.kernel.size() != spatial)) {
    return Status::InvalidArgument("kernel_shape/strides/dilations/pads do not match " +
                                   std::to_string(spatial) + " spatial dimensions");
  }
  for (size_t i = 0; i < spatial; ++i) {
    if (p.strides[i] <= 0 || p.dilations[i] <= 0) {
      return Status::InvalidArgument("strides and dilations must be positive");
    }
    if (p.pads[i] < 0 || p.pads[i + spatial] < 0) {
      return Status::InvalidArgument("pads must be non-negative");
    }
    if (!p.kernel.empty() && p.kernel[i] <= 0) {
      return Status::InvalidArgument("kernel_shape must be positive");
    }
  }
  return p;
}

Status ComputeSpatialOutput(const SpatialParams& p, const Shape& in, Shape* out,
                            std::vector<int64_t>* pad_begin) {
  const size_t n = in.size();
  out->assign(n, 0);
  pad_begin->assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t k_eff = (p.kernel[i] - 1) * p.dilations[i] + 1;
    const int64_t s = p.strides[i];
    int64_t o = 0;
    if (p.auto_pad == "VALID") {
      o = in[i] >= k_eff ? (in[i] - k_eff) / s + 1 : 0;
    } else if (p.auto_pad == "SAME_UPPER" || p.auto_pad == "SAME_LOWER") {
      o = (in[i] + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (o - 1) * s + k_eff - in[i]);
      (*pad_begin)[i] = p.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else {
      const int64_t span = in[i] + p.pads[i] + p.pads[i + n] - k_eff;
      if (span < 0) {
        o = 0;
      } else if (p.ceil_mode) {
        o = (span + s - 1) / s + 1;
        // The last window must start inside the input or the begin padding.
        if ((o - 1) * s >= in[i] + p.pads[i]) --o;
      } else {
        o = span / s + 1;
      }
      (*pad_begin)[i] = p.pads[i];
    }
    if (o <= 0) {
      return Status::InvalidArgument("input spatial size " + ShapeToString(in) +
                                     " is too small for kernel " + ShapeToString(p.kernel));
    }
    (*out)[i] = o;
  }
  return Status::Ok();
}

Status SetStringOutput(KernelContext& ctx, size_t i, const Shape& shape, std::vector<std::string> values) {
  size_t bytes = 0;
  for (const std::string& s : values) bytes += s.size() + sizeof(std::string);
  if (bytes > ctx.max_tensor_bytes()) {
    return Status::ResourceExhausted("string output " + ShapeToString(shape) + " exceeds the per-tensor limit of " +
                                     std::to_string(ctx.max_tensor_bytes()) + " bytes");
  }
  CITADEL_ASSIGN_OR_RETURN(Tensor t, Tensor::FromStrings(shape, std::move(values)));
  ctx.SetOutput(i, std::move(t));
  return Status::Ok();
}

}  // namespace citadel::engine::ops
