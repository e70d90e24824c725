// MatMul with numpy semantics: 1-D operands are promoted (and the added dim
// removed again), leading batch dims broadcast. float32 runs on dnnl_sgemm:
// one call when B is a single matrix (the batch folds into M), else one per
// batch entry.
//
// FusedMatMul (domain ai.citadel, created only by the optimiser,
// optimizer.cc FuseMatMulEpilogues) is a float32 MatMul with an epilogue:
//   Y = gelu?(alpha * (A x B) + Bias) + Residual
// inputs A, B, Bias ([N], optional), Residual (Y's shape, optional);
// attributes alpha (float, 1) and gelu (int, 0; exact erf GELU, not
// together with Residual). Transformer exports write these as separate
// MatMul, Add bias, Div scale, GELU and residual Add nodes; fused, the bias
// and residual are written into Y before the product and dnnl_sgemm adds
// into them (beta = 1), so Y is written once instead of 2-3 times.
#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>
#include <vector>

#include "../dnnl_util.h"
#include "../kernel.h"
#include "common.h"
#include "gemm_impl.h"
#include "post_ops.h"
#include "ops.h"

namespace citadel::engine::ops {
namespace {

struct Epilogue {
  float alpha = 1.f;
  bool gelu = false;
  bool fused = false;  // FusedMatMul: inputs 2 (Bias) and 3 (Residual) are read
};

struct GeluPrim {
  dnnl::primitive prim;
  dnnl::memory::desc scratch_md;
};

class MatMulKernel : public Kernel {
 public:
  explicit MatMulKernel(Epilogue ep = {}) : fast_(!DnnlDisabled()), ep_(ep) {}
  Status Run(KernelContext& ctx) const override {
    CITADEL_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0, "A"));
    CITADEL_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1, "B"));
    CITADEL_RETURN_IF_ERROR(ExpectSameDType(*a, *b, "MatMul inputs"));
    const Tensor* bias = ep_.fused ? ctx.input(2) : nullptr;
    const Tensor* residual = ep_.fused ? ctx.input(3) : nullptr;
    if (ep_.fused && a->dtype() != DType::kFloat32) {
      return Status::InvalidArgument("FusedMatMul is float32 only");
    }
    if (a->rank() == 0 || b->rank() == 0) {
      return Status::InvalidArgument("MatMul inputs must have rank >= 1");
    }
    Shape sa = a->shape(), sb = b->shape();
    const bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
    if (a_vec) sa.insert(sa.begin(), 1);
    if (b_vec) sb.push_back(1);
    const int64_t M = sa[sa.size() - 2], K = sa.back();
    const int64_t KB = sb[sb.size() - 2], N = sb.back();
    if (K != KB) {
      return Status::InvalidArgument("MatMul inner dimensions differ: " +
                                     ShapeToString(a->shape()) + " x " + ShapeToString(b->shape()));
    }
    const Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
    CITADEL_ASSIGN_OR_RETURN(Shape batch, BroadcastShapes(batch_a, batch_b));
    Shape out_shape = batch;
    if (!a_vec) out_shape.push_back(M);
    if (!b_vec) out_shape.push_back(N);
    if (bias != nullptr && (bias->dtype() != DType::kFloat32 || bias->rank() != 1 ||
                            bias->shape()[0] != N)) {
      return Status::InvalidArgument("FusedMatMul bias must be float32 [" + std::to_string(N) +
                                     "], got " + ShapeToString(bias->shape()));
    }
    if (residual != nullptr && residual->dtype() != DType::kFloat32) {
      return Status::InvalidArgument("FusedMatMul residual must be float32");
    }
    // The fuser matches shapes with unknown (symbolic) dims, so the residual
    // may still broadcast at run time: then the product goes to a temporary
    // and the Add runs with numpy broadcasting, as it did unfused.
    const bool bcast_residual = residual != nullptr && residual->shape() != out_shape;
    Shape final_shape = out_shape;
    if (bcast_residual) {
      CITADEL_ASSIGN_OR_RETURN(final_shape, BroadcastShapes(out_shape, residual->shape()));
    }
    const Tensor* res_in = bcast_residual ? nullptr : residual;
    Tensor tmp;
    auto alloc = [&](bool zero) -> Result<Tensor*> {
      if (!bcast_residual) {
        return zero ? ctx.Allocate(0, a->dtype(), out_shape)
                    : ctx.AllocateUninitialized(0, a->dtype(), out_shape);
      }
      CITADEL_ASSIGN_OR_RETURN(tmp, ctx.NewTensor(a->dtype(), out_shape, zero));
      return &tmp;
    };

    Status st = DispatchNumeric(a->dtype(), [&]<typename T>() -> Status {
      const T* A = a->data<T>();
      const T* B = b->data<T>();
      if constexpr (std::is_same_v<T, float>) {
        if (fast_ && M > 0 && N > 0 && K > 0) {
          size_t nb = 1, na = 1, nbb = 1;
          for (int64_t d : batch) nb *= static_cast<size_t>(d);
          for (int64_t d : batch_a) na *= static_cast<size_t>(d);
          for (int64_t d : batch_b) nbb *= static_cast<size_t>(d);
          if (nbb == 1 && na == nb) {
            // A's batch folds into M: one [nb*M, K] x [K, N] product, which
            // writes every element (beta = 0) or adds into the epilogue's
            // bias/residual written first (beta = 1).
            CITADEL_ASSIGN_OR_RETURN(Tensor * y, alloc(false));
            float* Y = y->data<float>();
            const int64_t rows = static_cast<int64_t>(nb) * M;
            const float beta = PrefillEpilogue(bias, res_in, rows, N, Y) ? 1.f : 0.f;
            if (nb > 0 && dnnl_sgemm('N', 'N', rows, N, K, ep_.alpha, A, K, B, N, beta, Y, N) !=
                              dnnl_success) {
              return Status::Internal("dnnl_sgemm failed");
            }
            if (ep_.gelu) return GeluInPlace(Y, rows * N);
            return Status::Ok();
          }
          CITADEL_ASSIGN_OR_RETURN(Tensor * y, alloc(false));
          float* Y = y->data<float>();
          // Many small products (attention: batch x heads): one sgemm per
          // entry, the entries spread over the threads (each sgemm then
          // runs single-threaded inside the parallel region).
          const std::array<const Shape*, 2> shapes = {&batch_a, &batch_b};
          std::vector<std::array<int64_t, 2>> offs(nb);
          ForEachBroadcast<2>(batch, shapes,
                              [&](size_t i, const std::array<int64_t, 2>& o) { offs[i] = o; });
          int failed = 0;
          const int64_t entries = static_cast<int64_t>(nb);
#pragma omp parallel for schedule(static) reduction(+ : failed) if (entries > 1)
          for (int64_t i = 0; i < entries; ++i) {
            failed += dnnl_sgemm('N', 'N', M, N, K, ep_.alpha, A + offs[i][0] * M * K, K,
                                 B + offs[i][1] * K * N, N, 0.f, Y + i * M * N, N) != dnnl_success;
          }
          if (failed != 0) return Status::Internal("dnnl_sgemm failed");
          return ReferenceEpilogue(bias, res_in, static_cast<int64_t>(y->num_elements()), N, Y);
        }
      }
      CITADEL_ASSIGN_OR_RETURN(Tensor * y, alloc(true));
      T* Y = y->data<T>();
      const std::array<const Shape*, 2> shapes = {&batch_a, &batch_b};
      // Batch offsets come in units of whole matrices.
      ForEachBroadcast<2>(batch, shapes, [&](size_t i, const std::array<int64_t, 2>& o) {
        GemmAccumulate<T>(false, false, M, N, K, static_cast<T>(ep_.alpha), A + o[0] * M * K, K,
                          B + o[1] * K * N, N, Y + i * M * N, N);
      });
      if constexpr (std::is_same_v<T, float>) {
        return ReferenceEpilogue(bias, res_in, static_cast<int64_t>(y->num_elements()), N, Y);
      }
      return Status::Ok();
    });
    if (!st.ok() || !bcast_residual) return st;
    CITADEL_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitialized(0, DType::kFloat32, final_shape));
    const float* P = tmp.data<float>();
    const float* R = residual->data<float>();
    float* Y = y->data<float>();
    const std::array<const Shape*, 2> shapes = {&out_shape, &residual->shape()};
    ForEachBroadcast<2>(final_shape, shapes, [&](size_t i, const std::array<int64_t, 2>& o) {
      Y[i] = P[o[0]] + R[o[1]];
    });
    return Status::Ok();
  }

 private:
  // Writes what sgemm then adds to (beta = 1): Bias broadcast over the rows,
  // plus Residual when there is no GELU between them (the fuser never
  // combines the two). False when there is nothing to add.
  bool PrefillEpilogue(const Tensor* bias, const Tensor* residual, int64_t rows, int64_t n,
                       float* y) const {
    const float* b = bias != nullptr ? bias->data<float>() : nullptr;
    const float* r = residual != nullptr && !ep_.gelu ? residual->data<float>() : nullptr;
    if (b == nullptr && r == nullptr) return false;
#pragma omp parallel for schedule(static) if (rows * n > (1 << 15))
    for (int64_t i = 0; i < rows; ++i) {
      float* yr = y + i * n;
      if (r != nullptr && b != nullptr) {
        const float* rr = r + i * n;
        for (int64_t j = 0; j < n; ++j) yr[j] = rr[j] + b[j];
      } else if (r != nullptr) {
        std::copy(r + i * n, r + (i + 1) * n, yr);
      } else {
        std::copy(b, b + n, yr);
      }
    }
    return true;
  }

  // The epilogue after a plain product (reference order of the unfused ops).
  Status ReferenceEpilogue(const Tensor* bias, const Tensor* residual, int64_t count, int64_t n,
                           float* y) const {
    if (bias != nullptr) {
      const float* b = bias->data<float>();
      for (int64_t i = 0; i < count; ++i) y[i] += b[i % n];
    }
    if (ep_.gelu) CITADEL_RETURN_IF_ERROR(GeluInPlace(y, count));
    if (residual != nullptr) {
      const float* r = residual->data<float>();
      for (int64_t i = 0; i < count; ++i) y[i] += r[i];
    }
    return Status::Ok();
  }

  Status GeluInPlace(float* y, int64_t count) const {
    if (count == 0) return Status::Ok();
    if (fast_) {
      auto prim = gelu_cache_.Get({count}, [&] {
        dnnl::memory::desc md({count}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
        auto d = dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference,
                                             dnnl::algorithm::eltwise_gelu_erf, md);
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        auto pd = dnnl::eltwise_forward::primitive_desc(d, attr, CpuEngine());
        return std::make_shared<const GeluPrim>(
            GeluPrim{dnnl::eltwise_forward(pd), pd.scratchpad_desc()});
      });
      if (prim) {
        dnnl::memory::desc md({count}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
        dnnl::memory m(md, CpuEngine(), y);  // in place: oneDNN eltwise allows src == dst
        ExecuteWithScratchpad(prim->prim, prim->scratch_md, {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}});
        return Status::Ok();
      }
    }
    for (int64_t i = 0; i < count; ++i) {
      y[i] = 0.5f * y[i] * (1.f + std::erf(y[i] / std::sqrt(2.f)));
    }
    return Status::Ok();
  }

  bool fast_;
  Epilogue ep_;
  ShapeCache<GeluPrim> gelu_cache_;
};

}  // namespace

void RegisterMatMulOps(OpRegistry& r) {
  r.Register("", "MatMul", 1, kMaxOnnxOpset, SimpleFactory<MatMulKernel>());  // fast_ set at Load
  r.Register(kCitadelDomain, "FusedMatMul", 1, 1,
             [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
               Epilogue ep;
               ep.fused = true;
               CITADEL_ASSIGN_OR_RETURN(ep.alpha, init.node.attrs.GetFloat("alpha", 1.f));
               CITADEL_ASSIGN_OR_RETURN(int64_t gelu, init.node.attrs.GetInt("gelu", 0));
               if (gelu != 0 && gelu != 1) return Status::InvalidArgument("FusedMatMul gelu must be 0 or 1");
               ep.gelu = gelu == 1;
               if (ep.gelu && init.node.inputs.size() > 3 && init.node.inputs[3] != kNoValue) {
                 return Status::InvalidArgument("FusedMatMul cannot take both gelu and a residual");
               }
               return std::unique_ptr<Kernel>(std::make_unique<MatMulKernel>(ep));
             });
}

}  // namespace citadel::engine::ops
