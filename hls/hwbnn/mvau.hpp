/// \file mvau.hpp
/// Matrix-vector-activation unit (MVAU): a folded, streaming fully connected layer with bipolar
/// weights, the core of every layer of a binary network.
///
/// The unit multiplies a weight matrix W (MH rows = output channels, MW columns = fan-in) with
/// each input vector of a stream and applies an output activation policy (activations.hpp).
/// It computes PE channels with SIMD inputs each per clock cycle, so one vector takes
/// (MH/PE) * (MW/SIMD) cycles: neuron fold nf (0..MH/PE-1) covers channels nf*PE..nf*PE+PE-1
/// and synapse fold sf (0..MW/SIMD-1) covers columns sf*SIMD..sf*SIMD+SIMD-1.
///
/// A frame is PIXELS vectors (1 for a dense layer; OH*OW for a convolution, whose vectors are
/// the windows of a sliding window generator, swg.hpp, and whose output is then the OH x OW x MH
/// image in stream order, channel innermost). Each vector is processed as described here.
///
/// Streams
///  - input: MW/SIMD beats of ap_uint<SIMD*INPUT_BITS> per vector; column sf*SIMD+s of the
///    vector sits in beat sf at bits [s*INPUT_BITS, (s+1)*INPUT_BITS). The vector is buffered
///    on chip and reused for every neuron fold, so each beat is read once.
///  - output: MH/PE words per vector, word nf holding channels nf*PE..nf*PE+PE-1; channel
///    nf*PE+p sits at bits [p*OUT_BITS, (p+1)*OUT_BITS) (OUT_BITS = 1 for thresholds).
///
/// Memories
///  - weights[p][nf*(MW/SIMD) + sf] (ap_uint<SIMD>): row nf*PE+p of W, columns sf*SIMD..,
///    column sf*SIMD+s at bit s; bit 1 is +1, bit 0 is -1. Partitioned by PE.
///  - thresholds[p][nf] (ThresholdActivation only): threshold of channel nf*PE+p.
///    Partitioned by PE.
#ifndef HWBNN_MVAU_HPP
#define HWBNN_MVAU_HPP

#include "activations.hpp"
#include "common.hpp"
#include "products.hpp"

namespace hwbnn {

/// Derived sizes and types of an MVAU (template parameters as for mvau()); instantiating it
/// checks the folding. Generated code declares its streams and memories with these types.
template <unsigned MW, unsigned MH, unsigned PE, unsigned SIMD, typename Product,
          typename Activation>
struct MvauTypes {
  static_assert(MW >= 1 && MH >= 1, "hwbnn::mvau: MW and MH must be at least 1");
  static_assert(divides(PE, MH), "hwbnn::mvau: PE must divide MH (PE >= 1, MH % PE == 0)");
  static_assert(divides(SIMD, MW), "hwbnn::mvau: SIMD must divide MW (SIMD >= 1, MW % SIMD == 0)");

  /// Neuron folds (output words per frame) and synapse folds (input beats per frame).
  static constexpr unsigned NF = quotient(MH, PE);
  static constexpr unsigned SF = quotient(MW, SIMD);
  /// Weight words per PE lane.
  static constexpr unsigned WMEM = NF * SF;

  typedef typename Product::template Sum<MW> Sum;
  typedef typename Activation::template Apply<Sum> Apply;

  typedef ap_uint<SIMD * Product::INPUT_BITS> in_t;
  typedef ap_uint<SIMD> weight_t;
  typedef typename Sum::acc_t acc_t;
  typedef typename Sum::threshold_t threshold_t;
  /// Bits per channel in an output word, and the word.
  static constexpr unsigned OUT_BITS = Apply::OUT_BITS;
  typedef ap_uint<PE * OUT_BITS> out_t;
};

namespace detail {

/// The folded loop shared by both mvau() forms; `thresholds` is the [PE][NF] table or
/// NoThresholds.
template <unsigned MW, unsigned MH, unsigned PE, unsigned SIMD, typename Product,
          typename Activation, unsigned PIXELS, typename Table>
void mvau_loop(hls::stream<typename MvauTypes<MW, MH, PE, SIMD, Product, Activation>::in_t> &in,
               hls::stream<typename MvauTypes<MW, MH, PE, SIMD, Product, Activation>::out_t> &out,
               const ap_uint<SIMD> weights[PE][MvauTypes<MW, MH, PE, SIMD, Product,
                                                         Activation>::WMEM],
               const Table &thresholds, unsigned reps) {
#pragma HLS INLINE
  typedef MvauTypes<MW, MH, PE, SIMD, Product, Activation> T;
  constexpr unsigned OB = T::OUT_BITS;

  typename T::in_t buffer[T::SF];
  typename T::acc_t acc[PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1

  unsigned sf = 0;    // synapse fold of this cycle
  unsigned nf = 0;    // neuron fold of this cycle
  unsigned tile = 0;  // weight word of this cycle: nf * SF + sf
  const unsigned cycles = reps * PIXELS * T::WMEM;
  for (unsigned i = 0; i < cycles; i++) {
#pragma HLS PIPELINE II=1
    typename T::in_t x;
    if (nf == 0) {
      x = in.read();
      buffer[sf] = x;
    } else {
      x = buffer[sf];
    }
    for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
      const typename T::acc_t base = (sf == 0) ? typename T::acc_t(0) : acc[p];
      acc[p] = base + Product::template slice<SIMD>(x, weights[p][tile]);
    }
    if (sf == T::SF - 1) {
      typename T::out_t word = 0;
      for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
        const typename T::Apply::out_t y = T::Apply::apply(acc[p], thresholds, p, nf);
        word.range(p * OB + OB - 1, p * OB) = y.range(OB - 1, 0);
      }
      out.write(word);
      sf = 0;
      nf = (nf == T::NF - 1) ? 0 : nf + 1;
    } else {
      sf++;
    }
    tile = (tile == T::WMEM - 1) ? 0 : tile + 1;
  }
}

}  // namespace detail

/// MVAU of a hidden layer: streams `reps` frames of PIXELS vectors, emitting one bit per
/// channel, 1 iff acc >= thresholds[p][nf] (Activation = ThresholdActivation).
/// \tparam MW          fan-in (matrix width, input elements per frame), >= 1
/// \tparam MH          output channels (matrix height), >= 1
/// \tparam PE          channels computed in parallel; divides MH
/// \tparam SIMD        input elements consumed in parallel; divides MW
/// \tparam Product     product type (products.hpp): XnorMul for bipolar input, or
///                     IntBinaryProduct<INPUT_BITS> for unsigned integer input
/// \tparam Activation  output policy (activations.hpp): ThresholdActivation
/// \tparam PIXELS      vectors per frame (output pixels of a convolution), >= 1
/// \param in          PIXELS*MW/SIMD beats per frame
/// \param out         PIXELS*MH/PE words of PE bits per frame
/// \param weights     [PE][(MH/PE)*(MW/SIMD)] weight words, layout in the file comment
/// \param thresholds  [PE][MH/PE] thresholds, channel nf*PE+p at [p][nf]
/// \param reps        number of frames
template <unsigned MW, unsigned MH, unsigned PE, unsigned SIMD, typename Product,
          typename Activation, unsigned PIXELS = 1>
void mvau(hls::stream<typename MvauTypes<MW, MH, PE, SIMD, Product, Activation>::in_t> &in,
          hls::stream<typename MvauTypes<MW, MH, PE, SIMD, Product, Activation>::out_t> &out,
          const ap_uint<SIMD> weights[PE][MvauTypes<MW, MH, PE, SIMD, Product, Activation>::WMEM],
          const typename MvauTypes<MW, MH, PE, SIMD, Product, Activation>::threshold_t
              thresholds[PE][MvauTypes<MW, MH, PE, SIMD, Product, Activation>::NF],
          unsigned reps) {
  static_assert(Activation::HAS_THRESHOLDS,
                "hwbnn::mvau: this Activation takes no thresholds; call mvau(in, out, weights, "
                "reps)");
#pragma HLS ARRAY_PARTITION variable=weights complete dim=1
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=1
  static_assert(PIXELS >= 1, "hwbnn::mvau: PIXELS must be at least 1");
  detail::mvau_loop<MW, MH, PE, SIMD, Product, Activation, PIXELS>(in, out, weights, thresholds,
                                                                    reps);
}

/// MVAU of the last layer: streams `reps` frames of PIXELS vectors, emitting every channel's
/// signed dot product (Activation = PassThroughActivation).
/// \tparam MW          fan-in (matrix width, input elements per frame), >= 1
/// \tparam MH          output channels (matrix height), >= 1
/// \tparam PE          channels computed in parallel; divides MH
/// \tparam SIMD        input elements consumed in parallel; divides MW
/// \tparam Product     product type (products.hpp): XnorMul or IntBinaryProduct<INPUT_BITS>
/// \tparam Activation  output policy (activations.hpp): PassThroughActivation
/// \tparam PIXELS      vectors per frame (output pixels of a convolution), >= 1
/// \param in       PIXELS*MW/SIMD beats per frame
/// \param out      PIXELS*MH/PE words of PE * Product::Sum<MW>::DOT_BITS bits per frame
/// \param weights  [PE][(MH/PE)*(MW/SIMD)] weight words, layout in the file comment
/// \param reps     number of frames
template <unsigned MW, unsigned MH, unsigned PE, unsigned SIMD, typename Product,
          typename Activation, unsigned PIXELS = 1>
void mvau(hls::stream<typename MvauTypes<MW, MH, PE, SIMD, Product, Activation>::in_t> &in,
          hls::stream<typename MvauTypes<MW, MH, PE, SIMD, Product, Activation>::out_t> &out,
          const ap_uint<SIMD> weights[PE][MvauTypes<MW, MH, PE, SIMD, Product, Activation>::WMEM],
          unsigned reps) {
  static_assert(!Activation::HAS_THRESHOLDS,
                "hwbnn::mvau: this Activation needs thresholds; call mvau(in, out, weights, "
                "thresholds, reps)");
#pragma HLS ARRAY_PARTITION variable=weights complete dim=1
  static_assert(PIXELS >= 1, "hwbnn::mvau: PIXELS must be at least 1");
  detail::mvau_loop<MW, MH, PE, SIMD, Product, Activation, PIXELS>(in, out, weights,
                                                                    NoThresholds(), reps);
}

}  // namespace hwbnn

#endif  // HWBNN_MVAU_HPP
