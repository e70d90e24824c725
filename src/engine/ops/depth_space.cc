// DepthToSpace (DCR and CRD modes) and SpaceToDepth on [N, C, H, W], any
// fixed-size element type (bytes are moved, not interpreted).
#include <cstring>
#include <string>

#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class DepthSpaceKernel : public Kernel {
 public:
  DepthSpaceKernel(bool to_space, bool crd, int64_t bs) : to_space_(to_space), crd_(crd), bs_(bs) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "input"));
    if (x->rank() != 4) return Status::InvalidArgument("DepthToSpace/SpaceToDepth input must have rank 4");
    if (x->dtype() == DType::kString) return Status::Unsupported("string tensors are not supported by this operator");
    const int64_t N = x->shape()[0], C = x->shape()[1], H = x->shape()[2], W = x->shape()[3];
    const int64_t b = bs_;
    Shape out;
    if (to_space_) {
      if (C % (b * b) != 0) return Status::InvalidArgument("DepthToSpace: channels not divisible by blocksize^2");
      int64_t oh, ow;
      if (__builtin_mul_overflow(H, b, &oh) || __builtin_mul_overflow(W, b, &ow)) {
        return Status::InvalidArgument("DepthToSpace output size overflows");
      }
      out = {N, C / (b * b), oh, ow};
    } else {
      if (H % b != 0 || W % b != 0) return Status::InvalidArgument("SpaceToDepth: H and W must be divisible by blocksize");
      int64_t oc;
      if (__builtin_mul_overflow(C, b * b, &oc)) return Status::InvalidArgument("SpaceToDepth output size overflows");
      out = {N, oc, H / b, W / b};
    }
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.Allocate(0, x->dtype(), out));
    if (y->num_elements() == 0) return Status::Ok();
    const size_t es = DTypeSize(x->dtype());
    const uint8_t* src = x->raw_data();
    uint8_t* dst = y->raw_data();
    // Walk the space-side tensor [N, Cs, Hs, Ws] (the output of DepthToSpace,
    // the input of SpaceToDepth); Cd is the depth-side channel of each element.
    const Shape& space = to_space_ ? out : x->shape();
    const Shape& depth = to_space_ ? x->shape() : out;
    const int64_t Cs = space[1], Hs = space[2], Ws = space[3];
    const int64_t Hd = depth[2], Wd = depth[3], Cd_n = depth[1];
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < Cs; ++c)
        for (int64_t h = 0; h < Hs; ++h)
          for (int64_t w = 0; w < Ws; ++w) {
            const int64_t i = h % b, j = w % b;
            const int64_t cd = crd_ ? (c * b + i) * b + j : (i * b + j) * Cs + c;
            const int64_t s_off = ((n * Cs + c) * Hs + h) * Ws + w;
            const int64_t d_off = ((n * Cd_n + cd) * Hd + h / b) * Wd + w / b;
            if (to_space_) std::memcpy(dst + s_off * es, src + d_off * es, es);
            else std::memcpy(dst + d_off * es, src + s_off * es, es);
          }
    return Status::Ok();
  }

 private:
  bool to_space_, crd_;
  int64_t bs_;
};

Result<int64_t> BlockSize(const KernelInit& init) {
  const Attribute* a = init.node.attrs.Find("blocksize");
  if (a == nullptr) return Status::InvalidArgument("blocksize attribute is required");
  CITADEL_ASSIGN_OR_RETURN(int64_t bs, init.node.attrs.GetInt("blocksize", 0));
  if (bs <= 0 || bs > (int64_t{1} << 20)) return Status::InvalidArgument("blocksize must be in [1, 2^20]");
  return bs;
}

}  // namespace

void RegisterDepthSpaceOps(OpRegistry& r) {
  r.Register("", "DepthToSpace", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t bs, BlockSize(init));
    CITADEL_ASSIGN_OR_RETURN(std::string mode, init.node.attrs.GetString("mode", "DCR"));
    if (mode != "DCR" && mode != "CRD") return Status::InvalidArgument("DepthToSpace mode must be DCR or CRD");
    return std::unique_ptr<Kernel>(std::make_unique<DepthSpaceKernel>(true, mode == "CRD", bs));
  });
  r.Register("", "SpaceToDepth", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(int64_t bs, BlockSize(init));
    return std::unique_ptr<Kernel>(std::make_unique<DepthSpaceKernel>(false, false, bs));
  });
}

}  // namespace citadel::engine::ops
