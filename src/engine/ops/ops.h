// Registration entry points of the built-in kernels, one per op file.
// Adding an op: write ops/<op>.cc with a Register<Op>Ops function, declare it
// here and call it from RegisterAll (ops/register.cc).
#ifndef CITADEL_ENGINE_OPS_OPS_H_
#define CITADEL_ENGINE_OPS_OPS_H_

namespace citadel::engine {
class OpRegistry;
}

namespace citadel::engine::ops {

void RegisterAll(OpRegistry& r);

void RegisterBinaryOps(OpRegistry& r);       // binary.cc: Add Sub Mul Div Pow Equal Less ...
void RegisterUnaryOps(OpRegistry& r);        // unary.cc: Relu Sigmoid Tanh Exp Log ...
void RegisterClipOps(OpRegistry& r);         // clip.cc
void RegisterIdentityOps(OpRegistry& r);     // identity.cc: Identity Dropout
void RegisterConvOps(OpRegistry& r);         // conv.cc
void RegisterConvDwOps(OpRegistry& r);       // conv_dw.cc: internal fused 1x1 + depthwise ConvDw
void RegisterPoolOps(OpRegistry& r);         // pool.cc: MaxPool AveragePool Global*Pool
void RegisterGemmOps(OpRegistry& r);         // gemm.cc
void RegisterMatMulOps(OpRegistry& r);       // matmul.cc
void RegisterShapeOps(OpRegistry& r);        // reshape.cc: Reshape Flatten Squeeze Unsqueeze
void RegisterSoftmaxOps(OpRegistry& r);      // softmax.cc: Softmax LogSoftmax
void RegisterConstantOps(OpRegistry& r);     // constant.cc: Constant ConstantOfShape Shape
void RegisterBatchNormOps(OpRegistry& r);    // batchnorm.cc
void RegisterConcatOps(OpRegistry& r);       // concat.cc: Concat Split
void RegisterTransposeOps(OpRegistry& r);    // transpose.cc
void RegisterGatherOps(OpRegistry& r);       // gather.cc
void RegisterCastOps(OpRegistry& r);         // cast.cc
void RegisterReduceOps(OpRegistry& r);       // reduce.cc
void RegisterSliceOps(OpRegistry& r);        // slice.cc
void RegisterExpandOps(OpRegistry& r);       // expand.cc: Expand Where
void RegisterPadOps(OpRegistry& r);          // pad.cc: Pad Tile
void RegisterRangeOps(OpRegistry& r);        // range.cc
void RegisterArgMaxOps(OpRegistry& r);       // argmax.cc: ArgMax ArgMin
void RegisterNormalizationOps(OpRegistry& r);  // normalization.cc: LayerNormalization InstanceNormalization
void RegisterTransformerOps(OpRegistry& r);    // transformer.cc: internal fused LayerNorm, Gelu
void RegisterGatherNDOps(OpRegistry& r);     // gather_nd.cc: GatherElements GatherND
void RegisterScatterOps(OpRegistry& r);      // scatter.cc: Scatter ScatterElements ScatterND
void RegisterCumSumOps(OpRegistry& r);       // cumsum.cc
void RegisterTriluOps(OpRegistry& r);        // trilu.cc
void RegisterNonZeroOps(OpRegistry& r);      // nonzero.cc
void RegisterTopKOps(OpRegistry& r);         // topk.cc
void RegisterResizeOps(OpRegistry& r);       // resize.cc: Resize Upsample
void RegisterActivationOps(OpRegistry& r);   // activation.cc: PRelu Not IsInf IsNaN Celu HardSwish Shrink
void RegisterConvTransposeOps(OpRegistry& r);  // conv_transpose.cc
void RegisterDepthSpaceOps(OpRegistry& r);   // depth_space.cc: DepthToSpace SpaceToDepth
void RegisterOneHotOps(OpRegistry& r);       // onehot.cc
void RegisterHardmaxOps(OpRegistry& r);      // onehot.cc
void RegisterEinsumOps(OpRegistry& r);       // einsum.cc
void RegisterLossOps(OpRegistry& r);         // loss.cc: NegativeLogLikelihoodLoss SoftmaxCrossEntropyLoss
void RegisterQuantizeLinearOps(OpRegistry& r);  // quantize_linear.cc: QuantizeLinear DequantizeLinear DynamicQuantizeLinear
void RegisterMatMulIntegerOps(OpRegistry& r);  // matmul_integer.cc: MatMulInteger QLinearMatMul
void RegisterConvIntegerOps(OpRegistry& r);    // conv_integer.cc: ConvInteger QLinearConv
void RegisterNonMaxSuppressionOps(OpRegistry& r);  // non_max_suppression.cc
// Control flow: kernels that run subgraphs (../subgraph.h).
void RegisterIfOps(OpRegistry& r);           // if.cc
void RegisterLoopOps(OpRegistry& r);         // loop.cc
void RegisterScanOps(OpRegistry& r);         // scan.cc
void RegisterRnnOps(OpRegistry& r);          // rnn.cc: RNN GRU LSTM
void RegisterRoiAlignOps(OpRegistry& r);     // roi_align.cc
void RegisterBitShiftOps(OpRegistry& r);          // bitshift.cc
void RegisterEyeLikeOps(OpRegistry& r);           // eyelike.cc
void RegisterCompressOps(OpRegistry& r);          // compress.cc
void RegisterUniqueOps(OpRegistry& r);            // unique.cc
void RegisterStringNormalizerOps(OpRegistry& r);  // string_normalizer.cc
void RegisterWindowOps(OpRegistry& r);            // window.cc: HannWindow HammingWindow BlackmanWindow
void RegisterLRNOps(OpRegistry& r);               // lrn.cc
void RegisterMeanVarianceNormalizationOps(OpRegistry& r); // mean_variance_normalization.cc
void RegisterReverseSequenceOps(OpRegistry& r);   // reverse_sequence.cc
void RegisterDetOps(OpRegistry& r);               // det.cc
void RegisterDFTOps(OpRegistry& r);               // dft.cc
void RegisterSTFTOps(OpRegistry& r);              // stft.cc
void RegisterMelWeightMatrixOps(OpRegistry& r);   // mel_weight_matrix.cc
void RegisterMaxUnpoolOps(OpRegistry& r);         // max_unpool.cc
void RegisterGridSampleOps(OpRegistry& r);        // grid_sample.cc
void RegisterTfIdfVectorizerOps(OpRegistry& r);   // tfidf_vectorizer.cc
// legacy.cc: opset 1-6 forms (Add Sub Mul Div Pow with broadcast/axis, Gemm,
// BatchNormalization, Sum Max Min Mean) wrapping the modern kernels; must be
// called after the modern ones are registered.
void RegisterLegacyOps(OpRegistry& r);

}  // namespace citadel::engine::ops

#endif  // CITADEL_ENGINE_OPS_OPS_H_
