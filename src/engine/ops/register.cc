#include "ops.h"

namespace citadel::engine::ops {

void RegisterAll(OpRegistry& r) {
  RegisterBinaryOps(r);
  RegisterUnaryOps(r);
  RegisterClipOps(r);
  RegisterIdentityOps(r);
  RegisterConvOps(r);
  RegisterConvDwOps(r);
  RegisterPoolOps(r);
  RegisterGemmOps(r);
  RegisterMatMulOps(r);
  RegisterShapeOps(r);
  RegisterSoftmaxOps(r);
  RegisterConstantOps(r);
  RegisterBatchNormOps(r);
  RegisterConcatOps(r);
  RegisterTransposeOps(r);
  RegisterGatherOps(r);
  RegisterCastOps(r);
  RegisterReduceOps(r);
  RegisterSliceOps(r);
  RegisterExpandOps(r);
  RegisterPadOps(r);
  RegisterRangeOps(r);
  RegisterArgMaxOps(r);
  RegisterNormalizationOps(r);
  RegisterTransformerOps(r);
  RegisterGatherNDOps(r);
  RegisterScatterOps(r);
  RegisterCumSumOps(r);
  RegisterTriluOps(r);
  RegisterNonZeroOps(r);
  RegisterTopKOps(r);
  RegisterResizeOps(r);
  RegisterActivationOps(r);
  RegisterConvTransposeOps(r);
  RegisterDepthSpaceOps(r);
  RegisterOneHotOps(r);
  RegisterHardmaxOps(r);
  RegisterEinsumOps(r);
  RegisterLossOps(r);
  RegisterQuantizeLinearOps(r);
  RegisterMatMulIntegerOps(r);
  RegisterConvIntegerOps(r);
  RegisterNonMaxSuppressionOps(r);
  RegisterIfOps(r);
  RegisterLoopOps(r);
  RegisterScanOps(r);
  RegisterRnnOps(r);
  RegisterRoiAlignOps(r);
  RegisterBitShiftOps(r);
  RegisterEyeLikeOps(r);
  RegisterCompressOps(r);
  RegisterUniqueOps(r);
  RegisterStringNormalizerOps(r);
  RegisterWindowOps(r);
  RegisterLRNOps(r);
  RegisterMeanVarianceNormalizationOps(r);
  RegisterReverseSequenceOps(r);
  RegisterDetOps(r);
  RegisterDFTOps(r);
  RegisterSTFTOps(r);
  RegisterMelWeightMatrixOps(r);
  RegisterMaxUnpoolOps(r);
  RegisterGridSampleOps(r);
  RegisterTfIdfVectorizerOps(r);
  RegisterLegacyOps(r);  // last: wraps the modern kernels above
}

}  // namespace citadel::engine::ops
