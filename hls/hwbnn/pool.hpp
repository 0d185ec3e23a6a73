/// \file pool.hpp
/// Max pooling of a binary image: out(oy, ox, c) = OR over ky, kx < K of
/// in(oy*S - PAD_TOP + ky, ox*S - PAD_LEFT + kx, c), the max of +-1 values (bit 1 is +1),
/// positions outside the image bit 0 (-1, the OR's neutral element: torch's -inf padding on
/// +-1 values), floor mode. It is valid behind a layer's thresholds because they are monotone
/// (DESIGN.md).
///
/// A max pool is a sliding window generator (swg.hpp) padding with bit 0 followed by pool_or(),
/// which ORs the K*K pixels of every window: the line buffer is the SWG's, and the pool moves
/// SIMD channels of one pixel per beat like every image stage. max_pool() is the two as one
/// dataflow; a generated top calls them itself, as two stages of its own dataflow.
///
/// Streams (image stream order of swg.hpp): a beat carries SIMD channels of one pixel, channel
/// s at bit s, a pixel is C/SIMD beats.
#ifndef HWBNN_POOL_HPP
#define HWBNN_POOL_HPP

#include "common.hpp"
#include "swg.hpp"

namespace hwbnn {

/// Sizes and types of pool_or() (template parameters as there); instantiating it checks them.
template <unsigned K, unsigned C, unsigned SIMD, unsigned PIXELS>
struct PoolOrTypes {
  static_assert(K >= 1 && C >= 1 && PIXELS >= 1,
                "hwbnn::pool_or: K, C and PIXELS must be at least 1");
  static_assert(divides(SIMD, C), "hwbnn::pool_or: SIMD must divide C");
  /// Beats per pixel (channel folds).
  static constexpr unsigned CF = quotient(C, SIMD);
  /// Input beats per frame (K*K pixels per window) and output beats per frame.
  static constexpr unsigned IN_BEATS = PIXELS * K * K * CF;
  static constexpr unsigned OUT_BEATS = PIXELS * CF;
  typedef ap_uint<SIMD> word_t;
};

/// ORs every window of a window stream into one pixel: `reps` frames of PIXELS windows, each
/// K*K pixels of C bits in (ky, kx, c) order (c innermost), as sliding_window() emits them.
/// \tparam K       kernel size: a window is K*K pixels, >= 1
/// \tparam C       channels, >= 1
/// \tparam SIMD    channels per beat, in and out; divides C
/// \tparam PIXELS  windows (output pixels) per frame, >= 1
/// \param in    PIXELS*K*K*C/SIMD beats per frame
/// \param out   PIXELS*C/SIMD beats per frame: output pixel p, channels cf*SIMD.. in beat
///              p*C/SIMD + cf
/// \param reps  number of frames
template <unsigned K, unsigned C, unsigned SIMD, unsigned PIXELS>
void pool_or(hls::stream<typename PoolOrTypes<K, C, SIMD, PIXELS>::word_t> &in,
             hls::stream<typename PoolOrTypes<K, C, SIMD, PIXELS>::word_t> &out, unsigned reps) {
  typedef PoolOrTypes<K, C, SIMD, PIXELS> T;
  typedef typename T::word_t word_t;
  constexpr unsigned KK = K * K;

  word_t acc[T::CF];  // the OR so far of each channel fold of the current window
  unsigned cf = 0;    // channel fold of this beat
  unsigned kk = 0;    // window pixel of this beat: ky*K + kx
  const unsigned beats = reps * T::IN_BEATS;
  for (unsigned i = 0; i < beats; i++) {
#pragma HLS PIPELINE II=1
    const word_t x = in.read();
    const word_t y = (kk == 0) ? x : word_t(acc[cf] | x);
    if (kk == KK - 1) {
      out.write(y);
    } else {
      acc[cf] = y;
    }
    if (cf == T::CF - 1) {
      cf = 0;
      kk = (kk == KK - 1) ? 0 : kk + 1;
    } else {
      cf++;
    }
  }
}

/// Sizes of max_pool() (template parameters as there): the window generator it uses.
template <unsigned H, unsigned W, unsigned C, unsigned K, unsigned S, unsigned SIMD,
          unsigned PAD_TOP = 0, unsigned PAD_LEFT = 0, unsigned PAD_BOTTOM = 0,
          unsigned PAD_RIGHT = 0>
struct MaxPoolTypes {
  typedef SwgTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT, SIMD, 1, 0> Windows;
  static constexpr unsigned OH = Windows::OH;
  static constexpr unsigned OW = Windows::OW;
  static constexpr unsigned IN_BEATS = Windows::IN_BEATS;
  static constexpr unsigned OUT_BEATS = OH * OW * Windows::CF;
  typedef ap_uint<SIMD> word_t;
};

/// Max pool of `reps` frames of an H x W x C binary image: sliding_window() into pool_or().
/// \tparam H, W  image height and width, >= 1
/// \tparam C     channels, >= 1
/// \tparam K     kernel size (K x K windows), at most H and W
/// \tparam S     stride, >= 1
/// \tparam SIMD  channels per beat, in and out; divides C
/// \tparam PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT  padding with bit 0, each < K
/// \param in    H*W*C/SIMD beats per frame
/// \param out   OH*OW*C/SIMD beats per frame, OH = (H + PAD_TOP + PAD_BOTTOM - K)/S + 1,
///              likewise OW
/// \param reps  number of frames
template <unsigned H, unsigned W, unsigned C, unsigned K, unsigned S, unsigned SIMD,
          unsigned PAD_TOP = 0, unsigned PAD_LEFT = 0, unsigned PAD_BOTTOM = 0,
          unsigned PAD_RIGHT = 0>
void max_pool(hls::stream<ap_uint<SIMD>> &in, hls::stream<ap_uint<SIMD>> &out, unsigned reps) {
#pragma HLS DATAFLOW
  typedef MaxPoolTypes<H, W, C, K, S, SIMD, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT> T;
  hls::stream<ap_uint<SIMD>> windows("windows");
#pragma HLS STREAM variable=windows depth=2
  sliding_window<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT, SIMD, 1, 0>(
      in, windows, reps);
  pool_or<K, C, SIMD, T::OH * T::OW>(windows, out, reps);
}

}  // namespace hwbnn

#endif  // HWBNN_POOL_HPP
