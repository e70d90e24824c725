// Transpose: a strided gather, dispatched on element size.
//
// Fast path (oneDNN fast paths on): the output is copied row by row (its
// last dimension), each row one memcpy when the input is contiguous along
// it (attention's [B,S,H,D] -> [B,H,S,D]) or a typed strided loop, and the
// rows are spread over the threads. The element-at-a-time loop below is
// the reference the tests compare it with.
#include <cstring>
#include <numeric>

#include "../dnnl_util.h"
#include "../kernel.h"
#include "common.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

class TransposeKernel : public Kernel {
 public:
  explicit TransposeKernel(std::vector<int64_t> perm) : perm_(std::move(perm)) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0, "data"));
    const size_t rank = x->rank();
    std::vector<int64_t> perm = perm_;
    if (perm.empty()) {
      perm.resize(rank);
      std::iota(perm.rbegin(), perm.rend(), 0);
    }
    if (perm.size() != rank) {
      return Status::InvalidArgument("Transpose perm " + ShapeToString(perm) +
                                     " does not match rank " + std::to_string(rank));
    }
    std::vector<bool> used(rank, false);
    for (int64_t p : perm) {
      if (p < 0 || p >= static_cast<int64_t>(rank) || used[p]) {
        return Status::InvalidArgument("Transpose perm " + ShapeToString(perm) + " is not a permutation");
      }
      used[p] = true;
    }
    Shape out_shape(rank);
    for (size_t i = 0; i < rank; ++i) out_shape[i] = x->shape()[perm[i]];
    // Both paths below write every element.
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, x->dtype(), out_shape));
    // in_strides permuted: walking the output row-major reads the input here.
    const auto in_strides = Strides(x->shape());
    Shape permuted_strides(rank);
    for (size_t i = 0; i < rank; ++i) permuted_strides[i] = in_strides[perm[i]];
    const size_t w = DTypeSize(x->dtype());
    const uint8_t* src = x->raw_data();
    uint8_t* dst = y->raw_data();
    if (fast_ && rank >= 1 && w > 0 && y->num_elements() > 0) {
      CopyRows(src, dst, w, out_shape, permuted_strides);
      return Status::Ok();
    }
    std::vector<int64_t> idx(rank, 0);
    int64_t off = 0;
    for (size_t i = 0; i < y->num_elements(); ++i) {
      std::memcpy(dst + i * w, src + off * w, w);
      for (size_t d = rank; d-- > 0;) {
        ++idx[d];
        off += permuted_strides[d];
        if (idx[d] < out_shape[d]) break;
        off -= permuted_strides[d] * out_shape[d];
        idx[d] = 0;
      }
    }
    return Status::Ok();
  }

 private:
  template <typename T>
  static void StridedRow(const uint8_t* src, uint8_t* dst, int64_t n, int64_t stride) {
    const T* s = reinterpret_cast<const T*>(src);
    T* d = reinterpret_cast<T*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = s[i * stride];
  }

  // Output rows (last output dim, length L, input stride `ps.back()`).
  static void CopyRows(const uint8_t* src, uint8_t* dst, size_t w, const Shape& out_shape,
                       const Shape& ps) {
    const size_t rank = out_shape.size();
    const int64_t L = out_shape.back(), s = ps.back();
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < rank; ++d) rows *= out_shape[d];
    const int64_t total = rows * L;
#pragma omp parallel for schedule(static) if (total >= (1 << 15))
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = 0, rem = r;  // input offset of the row's first element
      for (size_t d = rank - 1; d-- > 0;) {
        off += (rem % out_shape[d]) * ps[d];
        rem /= out_shape[d];
      }
      const uint8_t* in = src + off * w;
      uint8_t* out = dst + r * L * w;
      if (s == 1) {
        std::memcpy(out, in, L * w);
      } else if (w == 4) {
        StridedRow<uint32_t>(in, out, L, s);
      } else if (w == 8) {
        StridedRow<uint64_t>(in, out, L, s);
      } else if (w == 2) {
        StridedRow<uint16_t>(in, out, L, s);
      } else {
        for (int64_t i = 0; i < L; ++i) std::memcpy(out + i * w, in + i * s * w, w);
      }
    }
  }

  std::vector<int64_t> perm_;
  bool fast_ = !DnnlDisabled();
};

}  // namespace

void RegisterTransposeOps(OpRegistry& r) {
  r.Register("", "Transpose", 1, kMaxOnnxOpset, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    CITADEL_ASSIGN_OR_RETURN(auto perm, init.node.attrs.GetInts("perm", {}));
    return std::unique_ptr<Kernel>(std::make_unique<TransposeKernel>(perm));
  });
}

}  // namespace citadel::engine::ops
