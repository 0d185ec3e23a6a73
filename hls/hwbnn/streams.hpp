/// \file streams.hpp
/// Stream plumbing between layers: width conversion by an integer factor and duplication.
///
/// Width conversion keeps the element order of the contract, LSB first: widening packs input
/// beat j*K+i into bits [i*IN_W, (i+1)*IN_W) of output beat j; narrowing emits bits
/// [i*OUT_W, (i+1)*OUT_W) of input beat j as output beat j*K+i (K = the width ratio).
#ifndef HWBNN_STREAMS_HPP
#define HWBNN_STREAMS_HPP

#include "common.hpp"

namespace hwbnn {

namespace detail {

enum WidthChange { SAME_WIDTH, WIDEN, NARROW };

constexpr WidthChange width_change(unsigned in_w, unsigned out_w) {
  return in_w == out_w ? SAME_WIDTH : (in_w < out_w ? WIDEN : NARROW);
}

template <unsigned IN_W, unsigned OUT_W, unsigned IN_BEATS, WidthChange CHANGE>
struct WidthConverter;

template <unsigned IN_W, unsigned OUT_W, unsigned IN_BEATS>
struct WidthConverter<IN_W, OUT_W, IN_BEATS, SAME_WIDTH> {
  static void run(hls::stream<ap_uint<IN_W>> &in, hls::stream<ap_uint<OUT_W>> &out,
                  unsigned reps) {
#pragma HLS INLINE
    const unsigned beats = reps * IN_BEATS;
    for (unsigned i = 0; i < beats; i++) {
#pragma HLS PIPELINE II=1
      out.write(in.read());
    }
  }
};

template <unsigned IN_W, unsigned OUT_W, unsigned IN_BEATS>
struct WidthConverter<IN_W, OUT_W, IN_BEATS, WIDEN> {
  static constexpr unsigned K = OUT_W / IN_W;
  static_assert(IN_BEATS % K == 0,
                "hwbnn::convert_width: widening needs IN_BEATS to be a multiple of OUT_W/IN_W");

  static void run(hls::stream<ap_uint<IN_W>> &in, hls::stream<ap_uint<OUT_W>> &out,
                  unsigned reps) {
#pragma HLS INLINE
    // Shift register filled from the top: after K beats the first one sits at bit 0.
    ap_uint<OUT_W> word = 0;
    unsigned i = 0;
    const unsigned beats = reps * IN_BEATS;
    for (unsigned b = 0; b < beats; b++) {
#pragma HLS PIPELINE II=1
      const ap_uint<OUT_W> x = in.read();
      word = (word >> IN_W) | (x << (OUT_W - IN_W));
      if (i == K - 1) {
        out.write(word);
        i = 0;
      } else {
        i++;
      }
    }
  }
};

template <unsigned IN_W, unsigned OUT_W, unsigned IN_BEATS>
struct WidthConverter<IN_W, OUT_W, IN_BEATS, NARROW> {
  static constexpr unsigned K = IN_W / OUT_W;

  static void run(hls::stream<ap_uint<IN_W>> &in, hls::stream<ap_uint<OUT_W>> &out,
                  unsigned reps) {
#pragma HLS INLINE
    ap_uint<IN_W> word = 0;
    unsigned i = 0;
    const unsigned beats = reps * IN_BEATS * K;
    for (unsigned b = 0; b < beats; b++) {
#pragma HLS PIPELINE II=1
      if (i == 0) {
        word = in.read();
      }
      out.write(word.range(OUT_W - 1, 0));
      word >>= OUT_W;
      i = (i == K - 1) ? 0 : i + 1;
    }
  }
};

}  // namespace detail

/// Converts a stream of IN_W-bit beats into OUT_W-bit beats, one width dividing the other.
/// \tparam IN_W      input beat width
/// \tparam OUT_W     output beat width; OUT_W % IN_W == 0 (widen) or IN_W % OUT_W == 0 (narrow)
/// \tparam IN_BEATS  input beats per frame; when widening, a multiple of OUT_W/IN_W
/// \param reps       number of frames
template <unsigned IN_W, unsigned OUT_W, unsigned IN_BEATS>
void convert_width(hls::stream<ap_uint<IN_W>> &in, hls::stream<ap_uint<OUT_W>> &out,
                   unsigned reps) {
  static_assert(IN_W >= 1 && OUT_W >= 1 && IN_BEATS >= 1,
                "hwbnn::convert_width: widths and IN_BEATS must be at least 1");
  static_assert(divides(IN_W, OUT_W) || divides(OUT_W, IN_W),
                "hwbnn::convert_width: one of IN_W and OUT_W must divide the other");
  detail::WidthConverter<IN_W, OUT_W, IN_BEATS, detail::width_change(IN_W, OUT_W)>::run(in, out,
                                                                                       reps);
}

}  // namespace hwbnn

#endif  // HWBNN_STREAMS_HPP
