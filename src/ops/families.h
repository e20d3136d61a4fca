// Every op family registers its schemas (inference and traits).
// register_all_ops calls them all, in this order.
#pragma once

namespace dynrt {

class OpRegistry;

// Inference records (src/ops/*.cpp).
void register_elementwise_ops(OpRegistry& r);   // unary, binary, comparison, logic, Where, Cast, Clip
void register_shape_ops(OpRegistry& r);         // Shape, Size, Reshape, Flatten, Expand, ConstantOfShape, Range, Constant, Identity
void register_movement_ops(OpRegistry& r);      // Transpose, Concat, Split, Slice, Squeeze, Unsqueeze, Tile, Pad
void register_indexing_ops(OpRegistry& r);      // Gather, GatherElements, GatherND, NonZero, CumSum, TopK
void register_reduction_ops(OpRegistry& r);     // Reduce*, ArgMax/ArgMin
void register_normalization_ops(OpRegistry& r); // Softmax, LogSoftmax, LayerNormalization
void register_linalg_ops(OpRegistry& r);        // MatMul, Gemm
void register_nn_ops(OpRegistry& r);            // Conv, ConvTranspose, pools, BatchNormalization
void register_internal_ops(OpRegistry& r);      // dynrt.* ops made by passes
void register_loss_ops(OpRegistry& r);          // NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
void register_resize_ops(OpRegistry& r);        // Resize, Upsample, GridSample, AffineGrid
void register_attention_ops(OpRegistry& r);     // Attention, RotaryEmbedding
void register_quantize_ops(OpRegistry& r);      // QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv
void register_rnn_ops(OpRegistry& r);           // RNN, GRU, LSTM
void register_misc_ops(OpRegistry& r);          // CumProd, EyeLike, Det, ReverseSequence, TensorScatter, SwiGLU
void register_random_ops(OpRegistry& r);        // RandomUniform/Normal(Like), Bernoulli, Multinomial, Dropout
void register_vision_ops(OpRegistry& r);        // RoiAlign, NonMaxSuppression, Col2Im, CenterCropPad, MaxUnpool, DeformConv
void register_signal_ops(OpRegistry& r);        // DFT, STFT, Hann/Hamming/BlackmanWindow, MelWeightMatrix
void register_attention_variant_ops(OpRegistry& r); // LinearAttention, CausalConvWithState, FlexAttention
void register_training_ops(OpRegistry& r);      // Adagrad, Adam, Momentum (ai.onnx.preview.training)
void register_ml_ops(OpRegistry& r);            // TfIdfVectorizer, Binarizer, ArrayFeatureExtractor, TreeEnsemble (ai.onnx.ml)

void register_sequence_ops(OpRegistry& r);       // Sequence*, SplitToSequence, ConcatFromSequence, Optional* (boxed values)
void register_string_ops(OpRegistry& r);         // StringConcat, StringNormalizer, StringSplit, RegexFullMatch, LabelEncoder
void register_control_flow_ops(OpRegistry& r);   // dynrt.If, dynrt.Loop (subgraphs built as engines)

void register_all_ops(OpRegistry& r);

}  // namespace dynrt
