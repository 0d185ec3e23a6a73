/// \file threshold.hpp
/// Input thresholding: turns a stream of unsigned multi-bit codes (e.g. 8-bit pixels) into
/// bipolar bits, one threshold per element: bit = (code >= T). T = 0 always gives 1 (+1),
/// T = 2^INPUT_BITS always gives 0 (-1).
///
/// Streams: a frame is N elements; input beat f is ap_uint<SIMD*INPUT_BITS> with element
/// f*SIMD+s at bits [s*INPUT_BITS, (s+1)*INPUT_BITS); output beat f is ap_uint<SIMD> with
/// element f*SIMD+s at bit s.
/// Memory: thresholds[s][f] is the threshold of element f*SIMD+s, partitioned by SIMD.
#ifndef HWBNN_THRESHOLD_HPP
#define HWBNN_THRESHOLD_HPP

#include "common.hpp"

namespace hwbnn {

/// Sizes and types of an input thresholding unit (template parameters as for
/// threshold_input()); instantiating it checks them.
template <unsigned N, unsigned SIMD, unsigned INPUT_BITS>
struct InputThresholdTypes {
  static_assert(N >= 1, "hwbnn::threshold_input: N must be at least 1");
  static_assert(divides(SIMD, N), "hwbnn::threshold_input: SIMD must divide N");
  static_assert(INPUT_BITS >= 1 && INPUT_BITS <= 31,
                "hwbnn::threshold_input: INPUT_BITS must be in 1..31");

  /// Beats per frame.
  static constexpr unsigned FOLD = quotient(N, SIMD);
  typedef ap_uint<SIMD * INPUT_BITS> in_t;
  typedef ap_uint<SIMD> out_t;
  /// Threshold in 0..2^INPUT_BITS.
  typedef ap_uint<INPUT_BITS + 1> threshold_t;
};

/// Thresholds `reps` frames of N unsigned INPUT_BITS-bit codes into N bits each.
/// \tparam N           elements per frame, >= 1
/// \tparam SIMD        elements per beat; divides N
/// \tparam INPUT_BITS  bits per input code, 1..31
/// \param in          N/SIMD beats of SIMD codes per frame
/// \param out         N/SIMD beats of SIMD bits per frame
/// \param thresholds  [SIMD][N/SIMD], element f*SIMD+s at [s][f]
/// \param reps        number of frames
template <unsigned N, unsigned SIMD, unsigned INPUT_BITS>
void threshold_input(hls::stream<typename InputThresholdTypes<N, SIMD, INPUT_BITS>::in_t> &in,
                     hls::stream<typename InputThresholdTypes<N, SIMD, INPUT_BITS>::out_t> &out,
                     const typename InputThresholdTypes<N, SIMD, INPUT_BITS>::threshold_t
                         thresholds[SIMD][InputThresholdTypes<N, SIMD, INPUT_BITS>::FOLD],
                     unsigned reps) {
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=1
  typedef InputThresholdTypes<N, SIMD, INPUT_BITS> T;
  unsigned f = 0;
  const unsigned beats = reps * T::FOLD;
  for (unsigned i = 0; i < beats; i++) {
#pragma HLS PIPELINE II=1
    const typename T::in_t x = in.read();
    typename T::out_t y;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
      const ap_uint<INPUT_BITS> code = x.range(s * INPUT_BITS + INPUT_BITS - 1, s * INPUT_BITS);
      y[s] = code >= thresholds[s][f];
    }
    out.write(y);
    f = (f == T::FOLD - 1) ? 0 : f + 1;
  }
}

}  // namespace hwbnn

#endif  // HWBNN_THRESHOLD_HPP
