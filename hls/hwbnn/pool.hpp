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
/// Majority pooling of a binary image (the sign of an average pool of +-1 values padded with
/// -1, hwbnn.ir.majority): out(oy, ox, c) = #{(ky, kx) : in(oy*S - PAD_TOP + ky,
/// ox*S - PAD_LEFT + kx, c) == 1} >= T_c, padding counting as 0. A majority pool is a sliding
/// window generator with its padding (pad code 0) followed by pool_majority(), which counts the
/// 1s of every window per channel and compares the count with the channel's threshold;
/// majority_pool() is the two as one dataflow.
///
/// Streams (image stream order of swg.hpp): a beat carries SIMD channels of one pixel, channel
/// s at bit s, a pixel is C/SIMD beats.
#ifndef HWBNN_POOL_HPP
#define HWBNN_POOL_HPP

#include "common.hpp"
#include "swg.hpp"

namespace hwbnn {

/// Sizes of a window pool (pool_or(), pool_majority(); template parameters as there): PIXELS
/// windows per frame, each K*K pixels of CF beats.
template <unsigned K, unsigned C, unsigned SIMD, unsigned PIXELS>
struct WindowPoolSizes {
  /// Beats per pixel (channel folds).
  static constexpr unsigned CF = quotient(C, SIMD);
  /// Input beats per frame (K*K pixels per window) and output beats per frame.
  static constexpr unsigned IN_BEATS = PIXELS * K * K * CF;
  static constexpr unsigned OUT_BEATS = PIXELS * CF;
  typedef ap_uint<SIMD> word_t;
};

/// Where a beat of a window pool's input stands: channel fold `cf` of window pixel `kk` (ky*K +
/// kx); next() moves to the following beat (channel folds innermost, then the window's pixels).
template <unsigned K, unsigned CF>
struct WindowBeat {
  unsigned cf = 0;  // channel fold of this beat
  unsigned kk = 0;  // window pixel of this beat: ky*K + kx
  /// The beat is of the window's first pixel (the pool starts afresh) or of its last (it
  /// writes the output).
  bool first() const { return kk == 0; }
  bool last() const { return kk == K * K - 1; }
  void next() {
    if (cf == CF - 1) {
      cf = 0;
      kk = last() ? 0 : kk + 1;
    } else {
      cf++;
    }
  }
};

/// Sizes and types of pool_or() (template parameters as there); instantiating it checks them.
template <unsigned K, unsigned C, unsigned SIMD, unsigned PIXELS>
struct PoolOrTypes : WindowPoolSizes<K, C, SIMD, PIXELS> {
  static_assert(K >= 1 && C >= 1 && PIXELS >= 1,
                "hwbnn::pool_or: K, C and PIXELS must be at least 1");
  static_assert(divides(SIMD, C), "hwbnn::pool_or: SIMD must divide C");
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

  word_t acc[T::CF];  // the OR so far of each channel fold of the current window
  WindowBeat<K, T::CF> at;
  const unsigned beats = reps * T::IN_BEATS;
  for (unsigned i = 0; i < beats; i++) {
#pragma HLS PIPELINE II=1
    const word_t x = in.read();
    const word_t y = at.first() ? x : word_t(acc[at.cf] | x);
    if (at.last()) {
      out.write(y);
    } else {
      acc[at.cf] = y;
    }
    at.next();
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

/// Sizes and types of pool_majority() (template parameters as there); instantiating it checks
/// them.
template <unsigned K, unsigned C, unsigned SIMD, unsigned PIXELS>
struct PoolMajorityTypes : WindowPoolSizes<K, C, SIMD, PIXELS> {
  static_assert(K >= 1 && C >= 1 && PIXELS >= 1,
                "hwbnn::pool_majority: K, C and PIXELS must be at least 1");
  static_assert(divides(SIMD, C), "hwbnn::pool_majority: SIMD must divide C");
  /// A count 0..K*K and a threshold 0..K*K+1.
  typedef ap_uint<clog2(K * K + 2)> count_t;
  typedef count_t threshold_t;
};

/// Thresholds every window of a window stream by its count of 1s per channel: `reps` frames of
/// PIXELS windows, each K*K pixels of C bits in (ky, kx, c) order (c innermost), as
/// sliding_window() emits them (padding positions 0).
/// \tparam K       kernel size: a window is K*K pixels, >= 1
/// \tparam C       channels, >= 1
/// \tparam SIMD    channels per beat, in and out; divides C
/// \tparam PIXELS  windows (output pixels) per frame, >= 1
/// \param in          PIXELS*K*K*C/SIMD beats per frame
/// \param out         PIXELS*C/SIMD beats per frame: output pixel p, channels cf*SIMD.. in
///                    beat p*C/SIMD + cf; bit s is count(c) >= thresholds[s][cf], c = cf*SIMD+s
/// \param thresholds  [s][cf]: T_c of channel cf*SIMD + s, in 0..K*K+1
/// \param reps        number of frames
template <unsigned K, unsigned C, unsigned SIMD, unsigned PIXELS>
void pool_majority(
    hls::stream<typename PoolMajorityTypes<K, C, SIMD, PIXELS>::word_t> &in,
    hls::stream<typename PoolMajorityTypes<K, C, SIMD, PIXELS>::word_t> &out,
    const typename PoolMajorityTypes<K, C, SIMD, PIXELS>::threshold_t
        thresholds[SIMD][PoolMajorityTypes<K, C, SIMD, PIXELS>::CF],
    unsigned reps) {
  typedef PoolMajorityTypes<K, C, SIMD, PIXELS> T;
  typedef typename T::word_t word_t;
  typedef typename T::count_t count_t;

  count_t counts[T::CF][SIMD];  // the count so far of each channel of the current window
#pragma HLS ARRAY_PARTITION variable=counts complete dim=2
  WindowBeat<K, T::CF> at;
  const unsigned beats = reps * T::IN_BEATS;
  for (unsigned i = 0; i < beats; i++) {
#pragma HLS PIPELINE II=1
    const word_t x = in.read();
    word_t y = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
      const unsigned so_far = at.first() ? 0u : unsigned(counts[at.cf][s]);
      const count_t count = count_t(so_far + unsigned(x[s]));
      counts[at.cf][s] = count;
      y[s] = count >= thresholds[s][at.cf];
    }
    if (at.last()) {
      out.write(y);
    }
    at.next();
  }
}

/// Sizes of majority_pool() (template parameters as there): the window generator it uses.
template <unsigned H, unsigned W, unsigned C, unsigned K, unsigned S, unsigned PAD_TOP,
          unsigned PAD_LEFT, unsigned PAD_BOTTOM, unsigned PAD_RIGHT, unsigned SIMD>
struct MajorityPoolTypes {
  typedef SwgTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT, SIMD, 1, 0> Windows;
  typedef PoolMajorityTypes<K, C, SIMD, Windows::PIXELS> Counts;
  static constexpr unsigned OH = Windows::OH;
  static constexpr unsigned OW = Windows::OW;
  static constexpr unsigned CF = Windows::CF;
  static constexpr unsigned IN_BEATS = Windows::IN_BEATS;
  static constexpr unsigned OUT_BEATS = OH * OW * CF;
  typedef ap_uint<SIMD> word_t;
  typedef typename Counts::threshold_t threshold_t;
};

/// Majority pool of `reps` frames of an H x W x C binary image padded with 0 (-1) bits:
/// sliding_window() into pool_majority().
/// \tparam H, W      image height and width, >= 1
/// \tparam C         channels, >= 1
/// \tparam K         kernel size (K x K windows), at most the padded H and W
/// \tparam S         stride, >= 1
/// \tparam PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT  padding, each < K
/// \tparam SIMD      channels per beat, in and out; divides C
/// \param in          H*W*C/SIMD beats per frame
/// \param out         OH*OW*C/SIMD beats per frame (OH, OW as sliding_window())
/// \param thresholds  [s][cf]: T_c of channel cf*SIMD + s
/// \param reps        number of frames
template <unsigned H, unsigned W, unsigned C, unsigned K, unsigned S, unsigned PAD_TOP,
          unsigned PAD_LEFT, unsigned PAD_BOTTOM, unsigned PAD_RIGHT, unsigned SIMD>
void majority_pool(
    hls::stream<ap_uint<SIMD>> &in, hls::stream<ap_uint<SIMD>> &out,
    const typename MajorityPoolTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT,
                                     SIMD>::threshold_t thresholds[SIMD][C / SIMD],
    unsigned reps) {
#pragma HLS DATAFLOW
  typedef MajorityPoolTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT, SIMD> T;
  hls::stream<ap_uint<SIMD>> windows("windows");
#pragma HLS STREAM variable=windows depth=2
  sliding_window<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT, SIMD, 1, 0>(
      in, windows, reps);
  pool_majority<K, C, SIMD, T::OH * T::OW>(windows, out, thresholds, reps);
}

}  // namespace hwbnn

#endif  // HWBNN_POOL_HPP
