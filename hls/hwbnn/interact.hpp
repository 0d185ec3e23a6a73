/// \file interact.hpp
/// interact(): the CI-BCNN channel interaction (Wang et al., CVPR 2019) of a convolution's
/// integer accumulators, the C++ counterpart of rtl/hwbnn_interact.v (hwbnn.ir.interaction).
///
/// Per pixel, with Y the C accumulators and the DAG given by level[], signs[][], DEADZONE m
/// and MAGNITUDE c:
///
///   t(Y) = +1 if Y >= m, -1 if Y <= -m, else 0
///   for k = 1..LEVELS, for the channels j with level[j] == k:
///       Y_j += c * sum_i signs[j][i] * t(Y_i)
///   out_j = negate[j] ? -Y_j : Y_j
///
/// Every edge goes from a lower to a higher level, so step k reads only final values and may
/// update in place.
///
/// Streams: a frame is PIXELS pixels of C/SIMD beats; input beat element s at bits
/// [s*IN_BITS, (s+1)*IN_BITS), output at [s*OUT_BITS, (s+1)*OUT_BITS), two's complement;
/// beat b of a pixel holds channels b*SIMD + s (as mvau() writes its PE accumulators).
///
/// Schedule: one pipelined loop (II=1) that reads beat b of pixel p while it writes beat b of
/// pixel p-1 (a double buffer of two pixels): one beat per cycle in and out, C/SIMD beats of
/// latency, the rate of the MVAU before it. The graph arrays are constants (the generated
/// top declares them beside the other memories: hwbnn_params.h).
#ifndef HWBNN_INTERACT_HPP
#define HWBNN_INTERACT_HPP

#include "common.hpp"

namespace hwbnn {

/// Sizes and types of an interaction unit (template parameters as for interact());
/// instantiating it checks them.
template <unsigned C, unsigned SIMD, unsigned IN_BITS, unsigned OUT_BITS>
struct InteractTypes {
  static_assert(C >= 1 && C <= 255, "hwbnn::interact: C must be 1 to 255");
  static_assert(divides(SIMD, C), "hwbnn::interact: SIMD must divide C");
  static_assert(IN_BITS >= 1 && OUT_BITS >= IN_BITS && OUT_BITS <= 31,
                "hwbnn::interact: OUT_BITS must be at least IN_BITS (>= 1) and at most 31");
  /// Beats per pixel.
  static constexpr unsigned FOLD = quotient(C, SIMD);
  typedef ap_uint<SIMD * IN_BITS> in_t;
  typedef ap_uint<SIMD * OUT_BITS> out_t;
  typedef ap_int<OUT_BITS> value_t;
  /// Level of a channel (0..LEVELS), sign of an edge (-1, 0, +1), negation flag.
  typedef ap_uint<8> level_t;
  typedef ap_int<2> sign_t;
  typedef ap_uint<1> flag_t;
};

/// Interacts `reps` frames of PIXELS pixels of C accumulators.
/// \tparam C          channels per pixel, 1..255
/// \tparam SIMD       elements per beat in and out; divides C
/// \tparam IN_BITS    bits per two's complement input accumulator
/// \tparam OUT_BITS   bits per two's complement output, IN_BITS..31; must hold the results
/// \tparam LEVELS     deepest level of the graph, >= 1
/// \tparam DEADZONE   m >= 1
/// \tparam MAGNITUDE  c >= 1
/// \tparam PIXELS     pixels per frame, >= 1
/// \param in      PIXELS*C/SIMD beats per frame
/// \param out     PIXELS*C/SIMD beats per frame
/// \param level   [C]: level of channel j
/// \param signs   [C][C]: [j][i] the sign of the edge i -> j (0: none)
/// \param negate  [C]: 1 where channel j's output is negated
/// \param reps    number of frames
template <unsigned C, unsigned SIMD, unsigned IN_BITS, unsigned OUT_BITS, unsigned LEVELS,
          int DEADZONE, int MAGNITUDE, unsigned PIXELS = 1>
void interact(hls::stream<typename InteractTypes<C, SIMD, IN_BITS, OUT_BITS>::in_t> &in,
              hls::stream<typename InteractTypes<C, SIMD, IN_BITS, OUT_BITS>::out_t> &out,
              const typename InteractTypes<C, SIMD, IN_BITS, OUT_BITS>::level_t level[C],
              const typename InteractTypes<C, SIMD, IN_BITS, OUT_BITS>::sign_t signs[C][C],
              const typename InteractTypes<C, SIMD, IN_BITS, OUT_BITS>::flag_t negate[C],
              unsigned reps) {
  static_assert(LEVELS >= 1 && DEADZONE >= 1 && MAGNITUDE >= 1,
                "hwbnn::interact: LEVELS, DEADZONE and MAGNITUDE must be at least 1");
  static_assert(PIXELS >= 1, "hwbnn::interact: PIXELS must be at least 1");
  typedef InteractTypes<C, SIMD, IN_BITS, OUT_BITS> T;
  typename T::value_t fill[C];  // the pixel being read
  typename T::value_t done[C];  // the pixel being written (interacted, negated)
#pragma HLS ARRAY_PARTITION variable=fill complete
#pragma HLS ARRAY_PARTITION variable=done complete
  const unsigned pixel_beats = reps * PIXELS * T::FOLD;
  unsigned b = 0;  // beat within the pixel
  for (unsigned i = 0; i < pixel_beats + T::FOLD; i++) {
#pragma HLS PIPELINE II=1
    if (i >= T::FOLD) {  // beat b of the previous pixel
      typename T::out_t y;
      for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
        y.range(s * OUT_BITS + OUT_BITS - 1, s * OUT_BITS) = ap_uint<OUT_BITS>(done[b * SIMD + s]);
      }
      out.write(y);
    }
    if (i < pixel_beats) {
      const typename T::in_t x = in.read();
      for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
        const ap_int<IN_BITS> v = ap_uint<IN_BITS>(x.range(s * IN_BITS + IN_BITS - 1, s * IN_BITS));
        fill[b * SIMD + s] = v;
      }
    }
    if (b == T::FOLD - 1) {  // a whole pixel read: interact it into the output buffer
      for (unsigned k = 1; k <= LEVELS; k++) {
#pragma HLS UNROLL
        for (unsigned j = 0; j < C; j++) {
#pragma HLS UNROLL
          if (level[j] != k) continue;
          int sum = 0;
          for (unsigned src = 0; src < C; src++) {
#pragma HLS UNROLL
            const int t = fill[src] >= DEADZONE ? 1 : (fill[src] <= -DEADZONE ? -1 : 0);
            sum += int(signs[j][src]) * t;
          }
          fill[j] = fill[j] + MAGNITUDE * sum;
        }
      }
      for (unsigned j = 0; j < C; j++) {
#pragma HLS UNROLL
        done[j] = negate[j] ? typename T::value_t(-fill[j]) : fill[j];
      }
    }
    b = (b == T::FOLD - 1) ? 0 : b + 1;
  }
}

}  // namespace hwbnn

#endif  // HWBNN_INTERACT_HPP
