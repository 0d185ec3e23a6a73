/// \file swg.hpp
/// Sliding window generator (SWG): turns an image stream into the stream of the K x K windows
/// a convolution (an MVAU with PIXELS = OH * OW, mvau.hpp) or a max pool (pool.hpp) consumes.
///
/// Image stream order (hwbnn.ir.types): an H x W image of C channels is H*W pixels in raster
/// order, the C elements of a pixel contiguous (channel innermost): element (y, x, c) is number
/// (y*W + x)*C + c. A beat carries SIMD elements of one pixel, element s at bits
/// [s*BITS, (s+1)*BITS), so a pixel is CF = C/SIMD beats.
///
/// Output: for every output pixel (oy, ox) in raster order, the window vector of K*K*C
/// elements in (ky, kx, c) order (c innermost), K*K*CF beats of SIMD elements of one input
/// pixel: element (ky, kx, c) is input (oy*S - PAD_TOP + ky*D, ox*S - PAD_LEFT + kx*D, c)
/// with dilation D (1: a plain window), or PAD_CODE where that lies outside the image (binary
/// convolutions pad with -1: code 0). A window spans E = D*(K-1) + 1 rows and columns, each
/// padding is below E, and OH = (H + PAD_TOP + PAD_BOTTOM - E) / S + 1 (floor), likewise OW.
///
/// Line buffer: ROWS = E + S image rows of W*CF beats, row y in slot y mod ROWS. While the
/// windows of output row oy (input rows oy*S - PAD_TOP .. + E-1) are emitted, the next S rows
/// stream in behind them, so input and output overlap: a frame takes max(H*W*CF, OH*OW*K*K*CF)
/// loop iterations plus a start-up of the order of a few image rows (counted in C simulation:
/// 24,475 iterations for 24,300 output beats of 3x3 windows on 32x32x3 at SIMD 1, 51,841 for
/// 50,176 of a 2x2 pool on 28x28x64). Rows and columns that no window covers (stride > K,
/// floor mode) are read and never emitted. One loop iteration reads at most one beat and writes at
/// most one: a beat is read when its slot no longer holds a row the current output row needs;
/// a window beat is written when it is padding or its pixel has been read in an earlier
/// iteration (so the buffer's read and write port never touch the same word in one iteration).
///
/// sliding_window_mmv: the same windows with SIMD = MMV*C whole window positions per output
/// beat (MMV dividing K*K), one pixel per input beat.
#ifndef HWBNN_SWG_HPP
#define HWBNN_SWG_HPP

#include "common.hpp"

namespace hwbnn {

namespace detail {

/// Advances the counter i of a mixed-radix number by one: i + 1, or 0 with a carry (true)
/// when i was n - 1.
inline bool step(unsigned &i, unsigned n) {
#pragma HLS INLINE
  if (i == n - 1) {
    i = 0;
    return true;
  }
  i++;
  return false;
}

}  // namespace detail

/// Sizes and types of a sliding window generator (template parameters as for
/// sliding_window()); instantiating it checks them.
template <unsigned H, unsigned W, unsigned C, unsigned K, unsigned S, unsigned PAD_TOP,
          unsigned PAD_LEFT, unsigned PAD_BOTTOM, unsigned PAD_RIGHT, unsigned SIMD,
          unsigned BITS, unsigned PAD_CODE, unsigned D = 1>
struct SwgTypes {
  static_assert(H >= 1 && W >= 1 && C >= 1, "hwbnn::sliding_window: H, W and C must be >= 1");
  static_assert(K >= 1 && S >= 1 && D >= 1,
                "hwbnn::sliding_window: K, S and D must be at least 1");
  static_assert(divides(SIMD, C), "hwbnn::sliding_window: SIMD must divide C");
  /// Rows (columns) a window spans.
  static constexpr unsigned E = D * (K - 1) + 1;
  static_assert(PAD_TOP < E && PAD_LEFT < E && PAD_BOTTOM < E && PAD_RIGHT < E,
                "hwbnn::sliding_window: every padding must be smaller than D*(K-1)+1");
  static_assert(H + PAD_TOP + PAD_BOTTOM >= E && W + PAD_LEFT + PAD_RIGHT >= E,
                "hwbnn::sliding_window: the window is larger than the padded image");
  static_assert(BITS >= 1 && BITS <= 31, "hwbnn::sliding_window: BITS must be in 1..31");
  static_assert(PAD_CODE < (1ULL << BITS), "hwbnn::sliding_window: PAD_CODE needs BITS bits");

  /// Output rows and columns.
  static constexpr unsigned OH = quotient(H + PAD_TOP + PAD_BOTTOM - E, S) + 1;
  static constexpr unsigned OW = quotient(W + PAD_LEFT + PAD_RIGHT - E, S) + 1;
  /// Beats per pixel (channel folds).
  static constexpr unsigned CF = quotient(C, SIMD);
  /// Input and output beats per frame.
  static constexpr unsigned IN_BEATS = H * W * CF;
  static constexpr unsigned OUT_BEATS = OH * OW * K * K * CF;
  /// Output pixels (window vectors) per frame: the PIXELS of the MVAU behind.
  static constexpr unsigned PIXELS = OH * OW;
  /// Line buffer rows, and beats per row.
  static constexpr unsigned ROWS = E + S;
  static constexpr unsigned ROW_BEATS = W * CF;
  typedef ap_uint<SIMD * BITS> word_t;
};

/// Streams `reps` frames of an H x W x C image into their K x K windows (see the file comment).
/// \tparam H, W        image height and width, >= 1
/// \tparam C           channels, >= 1
/// \tparam K           kernel size (K x K windows), >= 1
/// \tparam S           stride, >= 1
/// \tparam PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT  padding, each < E = D*(K-1)+1; E must
///                     fit the padded image
/// \tparam SIMD        elements per beat, in and out; divides C
/// \tparam BITS        bits per element: 1 for bipolar bits, else unsigned codes, 1..31
/// \tparam PAD_CODE    the element emitted for positions outside the image, < 2^BITS
/// \tparam D           dilation: the window's taps are D rows (columns) apart, >= 1
/// \param in    H*W*C/SIMD beats per frame
/// \param out   OH*OW*K*K*C/SIMD beats per frame
/// \param reps  number of frames
template <unsigned H, unsigned W, unsigned C, unsigned K, unsigned S, unsigned PAD_TOP,
          unsigned PAD_LEFT, unsigned PAD_BOTTOM, unsigned PAD_RIGHT, unsigned SIMD,
          unsigned BITS, unsigned PAD_CODE, unsigned D = 1>
void sliding_window(
    hls::stream<typename SwgTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT, SIMD,
                                  BITS, PAD_CODE, D>::word_t> &in,
    hls::stream<typename SwgTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT, SIMD,
                                  BITS, PAD_CODE, D>::word_t> &out,
    unsigned reps) {
  typedef SwgTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT, SIMD, BITS, PAD_CODE,
                   D>
      T;
  typedef typename T::word_t word_t;
  constexpr unsigned ROWS = T::ROWS;

  word_t buffer[ROWS][T::ROW_BEATS];
  // a word is only read in iterations after the one that wrote it (file comment)
#pragma HLS DEPENDENCE variable=buffer type=inter dependent=false
#pragma HLS DEPENDENCE variable=buffer type=intra dependent=false

  word_t pad = 0;
  for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
    pad.range(s * BITS + BITS - 1, s * BITS) = PAD_CODE;
  }

  for (unsigned rep = 0; rep < reps; rep++) {
    // read side: the next input beat is beat `rc` of image row `rr`, stored in slot `rslot`
    unsigned reads = 0, rr = 0, rc = 0, rslot = 0;
    // write side: beat cf of window element (ky, kx) of the ox-th window of an output row;
    // the window starts at image row r0 and column x0 (negative in the padding), row r0 (if
    // it is one) sits in slot `slot0`
    unsigned writes = 0, ox = 0, ky = 0, kx = 0, cf = 0;
    int r0 = -int(PAD_TOP), x0 = -int(PAD_LEFT);
    unsigned slot0 = (ROWS - PAD_TOP % ROWS) % ROWS;
    // max(IN_BEATS, OUT_BEATS) to IN_BEATS + OUT_BEATS iterations: each reads, writes or both
    while (reads < T::IN_BEATS || writes < T::OUT_BEATS) {
#pragma HLS PIPELINE II=1
      const int iy = r0 + int(ky * D), ix = x0 + int(kx * D);
      const bool inside = iy >= 0 && iy < int(H) && ix >= 0 && ix < int(W);
      const unsigned col = unsigned(ix) * T::CF + cf;
      const bool emit = writes < T::OUT_BEATS &&
                        (!inside || unsigned(iy) < rr || (unsigned(iy) == rr && col < rc));
      // rows from max(r0, 0) on are still needed: reading row rr overwrites row rr - ROWS
      const unsigned first_needed = r0 > 0 ? unsigned(r0) : 0u;
      const bool take =
          reads < T::IN_BEATS && (writes == T::OUT_BEATS || rr < first_needed + ROWS);

      word_t y = pad;
      if (emit && inside) {
        const unsigned slot = slot0 + ky * D;  // < 2 * ROWS as ky*D < E < ROWS
        y = buffer[slot >= ROWS ? slot - ROWS : slot][col];
      }
      if (take) {
        buffer[rslot][rc] = in.read();
        reads++;
        if (rc == T::ROW_BEATS - 1) {
          rc = 0;
          rr++;
          rslot = (rslot == ROWS - 1) ? 0 : rslot + 1;
        } else {
          rc++;
        }
      }
      if (emit) {
        out.write(y);
        writes++;
        // window order (ky, kx, cf), then output pixels in raster order
        if (detail::step(cf, T::CF) && detail::step(kx, K) && detail::step(ky, K)) {
          if (!detail::step(ox, T::OW)) {  // next window of this output row
            x0 += int(S);
          } else {  // first window of the next output row
            x0 = -int(PAD_LEFT);
            r0 += int(S);
            slot0 = (slot0 + S % ROWS) % ROWS;
          }
        }
      }
    }
  }
}

/// Sizes and types of sliding_window_mmv (template parameters as for sliding_window, but
/// SIMD = MMV * C with MMV > 1 dividing K*K); instantiating it checks them.
template <unsigned H, unsigned W, unsigned C, unsigned K, unsigned S, unsigned PAD_TOP,
          unsigned PAD_LEFT, unsigned PAD_BOTTOM, unsigned PAD_RIGHT, unsigned SIMD,
          unsigned BITS, unsigned PAD_CODE, unsigned D = 1>
struct SwgMmvTypes {
  static_assert(SIMD > C && divides(C, SIMD) && divides(quotient(SIMD, C), K * K),
                "hwbnn::sliding_window_mmv: SIMD must be MMV*C with MMV > 1 dividing K*K");
  /// The geometry and input side: one pixel (C elements) per input beat.
  typedef SwgTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT, C, BITS, PAD_CODE, D>
      Pixel;
  /// Window positions per output beat, and output beats per window.
  static constexpr unsigned MMV = quotient(SIMD, C);
  static constexpr unsigned BEATS = quotient(K * K, MMV);
  static constexpr unsigned OH = Pixel::OH, OW = Pixel::OW, PIXELS = Pixel::PIXELS;
  static constexpr unsigned IN_BEATS = Pixel::IN_BEATS;
  static constexpr unsigned OUT_BEATS = PIXELS * BEATS;
  static constexpr unsigned ROWS = Pixel::ROWS;
  typedef typename Pixel::word_t word_t;  // an input beat: one pixel
  typedef ap_uint<SIMD * BITS> out_t;     // an output beat: MMV window positions
};

/// sliding_window with MMV = SIMD / C whole window positions per output beat (FINN's MMV):
/// the same windows in the same element order, output beat b of a window carrying positions
/// b*MMV .. b*MMV + MMV-1 (position i of the beat, all C channels, at bits
/// [i*C*BITS, (i+1)*C*BITS)); the input is one pixel (C elements) per beat. One loop iteration
/// reads at most one input beat and writes at most one output beat, so a frame takes
/// max(H*W, OH*OW*K*K/MMV) iterations plus the start-up; a beat is written once every position
/// in it is padding or a pixel read in an earlier iteration. The line buffer is split by rows
/// and by columns mod K, so the MMV positions of a beat (at most K consecutive columns of a
/// row) read distinct banks (with dilation D, columns D apart: distinct banks when D and K are
/// coprime, else some share a bank and synthesis may raise the loop's II).
/// \param in    H*W beats per frame
/// \param out   OH*OW*K*K/MMV beats per frame
/// \param reps  number of frames
template <unsigned H, unsigned W, unsigned C, unsigned K, unsigned S, unsigned PAD_TOP,
          unsigned PAD_LEFT, unsigned PAD_BOTTOM, unsigned PAD_RIGHT, unsigned SIMD,
          unsigned BITS, unsigned PAD_CODE, unsigned D = 1>
void sliding_window_mmv(
    hls::stream<typename SwgMmvTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT,
                                     SIMD, BITS, PAD_CODE, D>::word_t> &in,
    hls::stream<typename SwgMmvTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT,
                                     SIMD, BITS, PAD_CODE, D>::out_t> &out,
    unsigned reps) {
  typedef SwgMmvTypes<H, W, C, K, S, PAD_TOP, PAD_LEFT, PAD_BOTTOM, PAD_RIGHT, SIMD, BITS,
                      PAD_CODE, D>
      T;
  typedef typename T::word_t word_t;
  typedef typename T::out_t out_t;
  constexpr unsigned ROWS = T::ROWS, MMV = T::MMV;

  word_t buffer[ROWS][W];
#pragma HLS ARRAY_PARTITION variable=buffer complete dim=1
#pragma HLS ARRAY_PARTITION variable=buffer cyclic factor=K dim=2
  // a word is only read in iterations after the one that wrote it (see above)
#pragma HLS DEPENDENCE variable=buffer type=inter dependent=false
#pragma HLS DEPENDENCE variable=buffer type=intra dependent=false

  word_t pad = 0;
  for (unsigned s = 0; s < C; s++) {
#pragma HLS UNROLL
    pad.range(s * BITS + BITS - 1, s * BITS) = PAD_CODE;
  }

  for (unsigned rep = 0; rep < reps; rep++) {
    // read side as in sliding_window (one pixel per beat); write side: beat q of the ox-th
    // window of an output row, the window at image row r0 and column x0, row r0 in slot slot0
    unsigned reads = 0, rr = 0, rc = 0, rslot = 0;
    unsigned writes = 0, ox = 0, q = 0;
    int r0 = -int(PAD_TOP), x0 = -int(PAD_LEFT);
    unsigned slot0 = (ROWS - PAD_TOP % ROWS) % ROWS;
    while (reads < T::IN_BEATS || writes < T::OUT_BEATS) {
#pragma HLS PIPELINE II=1
      bool emit = writes < T::OUT_BEATS;
      for (unsigned i = 0; i < MMV; i++) {
#pragma HLS UNROLL
        const unsigned p = q * MMV + i;
        const int iy = r0 + int(p / K * D), ix = x0 + int(p % K * D);
        const bool inside = iy >= 0 && iy < int(H) && ix >= 0 && ix < int(W);
        emit = emit && (!inside || unsigned(iy) < rr || (unsigned(iy) == rr && unsigned(ix) < rc));
      }
      const unsigned first_needed = r0 > 0 ? unsigned(r0) : 0u;
      const bool take =
          reads < T::IN_BEATS && (writes == T::OUT_BEATS || rr < first_needed + ROWS);

      out_t y = 0;
      for (unsigned i = 0; i < MMV; i++) {
#pragma HLS UNROLL
        const unsigned p = q * MMV + i, ky = p / K;
        const int iy = r0 + int(ky * D), ix = x0 + int(p % K * D);
        const bool inside = iy >= 0 && iy < int(H) && ix >= 0 && ix < int(W);
        word_t v = pad;
        if (emit && inside) {
          const unsigned slot = slot0 + ky * D;  // < 2 * ROWS as ky*D < E < ROWS
          v = buffer[slot >= ROWS ? slot - ROWS : slot][ix];
        }
        y.range((i + 1) * C * BITS - 1, i * C * BITS) = v;
      }
      if (take) {
        buffer[rslot][rc] = in.read();
        reads++;
        if (rc == W - 1) {
          rc = 0;
          rr++;
          rslot = (rslot == ROWS - 1) ? 0 : rslot + 1;
        } else {
          rc++;
        }
      }
      if (emit) {
        out.write(y);
        writes++;
        if (detail::step(q, T::BEATS)) {  // the window's last beat
          if (!detail::step(ox, T::OW)) {
            x0 += int(S);
          } else {
            x0 = -int(PAD_LEFT);
            r0 += int(S);
            slot0 = (slot0 + S % ROWS) % ROWS;
          }
        }
      }
    }
  }
}

}  // namespace hwbnn

#endif  // HWBNN_SWG_HPP
