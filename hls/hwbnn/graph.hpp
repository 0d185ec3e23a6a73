/// \file graph.hpp
/// The units of branching dataflow graphs (hwbnn.ir.joins): fork(), add_join(), concat() and
/// threshold(), the C++ counterparts of rtl/hwbnn_fork.v, hwbnn_add_join.v, hwbnn_concat.v and
/// hwbnn_threshold.v with the same semantics and beat layouts.
///
/// Streams: every stream is hls::stream<ap_uint<W>> (the Types structs name each W); a beat
/// carries SIMD elements, element s at bits [s*BITS, (s+1)*BITS), two's complement for signed
/// integers; a binary (bipolar) element is one bit, 1 meaning +1 and 0 meaning -1. An image
/// stream is in raster order with the channels of a pixel contiguous, so a pixel of C channels
/// is C/SIMD beats and beat b of a frame holds channels (b % (C/SIMD))*SIMD + s.
///
/// In a DATAFLOW region, each unit is one pipelined loop (II=1) that reads and writes one beat
/// of every stream it touches per iteration, except concat(), which reads in0 or in1. Every
/// stream argument is a separate hls::stream, so the caller gives each edge its own depth
/// (#pragma HLS STREAM variable=<edge> depth=<n>): a generated top declares, per edge,
///
///   hls::stream<ap_uint<W>> edge("edge");
///   #pragma HLS STREAM variable=edge depth=D
///
/// with W the beat width named by the Types struct of the unit that writes it (equal to that
/// of the unit that reads it). The calls, with `reps` the top's frame count:
///
///   hwbnn::fork<WIDTH, BEATS>(in, out0, out1, reps);  // k consumers: a chain of k-1
///   hwbnn::add_join<ELEMENTS, SIMD, A_BITS, A_BIPOLAR, B_BITS, B_BIPOLAR, OUT_BITS>(
///       in0, in1, out, reps);
///   hwbnn::concat<C0, C1, SIMD, ELEM_BITS, PIXELS>(in0, in1, out, reps);
///   hwbnn::threshold<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE, THRESH_BITS, PIXELS>(
///       in, [side,] out, thresholds, reps);
///
/// threshold()'s only memory is its table, declared beside the top (as mvau()'s weights):
///
///   typedef hwbnn::ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
///                                 THRESH_BITS> T;
///   static const T::threshold_t thresholds[SIMD][C / SIMD][SIDE + 1][STEPS] = {...};
///
/// holding T[c][v][j] of channel c = f*SIMD + s at [s][f][v][j] (T::table_t is that array
/// type). The other units hold no memory.
#ifndef HWBNN_GRAPH_HPP
#define HWBNN_GRAPH_HPP

#include "common.hpp"

namespace hwbnn {

namespace detail {

/// True iff every integer in [low, high] has a BITS-bit two's complement form.
constexpr bool fits_signed(long long low, long long high, unsigned bits) {
  return bits >= 1 &&
         (bits >= 63 || (low >= -(1LL << (bits - 1)) && high <= (1LL << (bits - 1)) - 1));
}

/// The value of element s of an add_join() input beat, as a (BITS+1)-bit signed integer.
template <unsigned BITS, bool BIPOLAR, int W>
ap_int<BITS + 1> element_value(const ap_uint<W> &beat, unsigned s) {
#pragma HLS INLINE
  const ap_uint<BITS> field = beat.range(s * BITS + BITS - 1, s * BITS);
  if (BIPOLAR) {
    return field[0] ? ap_int<BITS + 1>(1) : ap_int<BITS + 1>(-1);
  }
  return ap_int<BITS>(field);
}

}  // namespace detail

// ------------------------------------------------------------------------------------------
// fork

/// Sizes and types of fork() (template parameters as there); instantiating it checks them.
template <unsigned WIDTH, unsigned BEATS>
struct ForkTypes {
  static_assert(WIDTH >= 1, "hwbnn::fork: WIDTH must be at least 1");
  static_assert(BEATS >= 1, "hwbnn::fork: BEATS must be at least 1");
  typedef ap_uint<WIDTH> word_t;
};

/// Copies every beat of `in` to both output streams: the fork of an edge read by two consumers
/// (out0 goes to the first). A beat is read and written to both outputs in the same iteration,
/// so a full output stalls the other. A fork to k > 2 consumers is rendered as a chain of k-1
/// forks, fork j writing consumer j and the next fork's input.
/// \tparam WIDTH  beat width in bits (any element layout), >= 1
/// \tparam BEATS  beats per frame, >= 1
/// \param in        BEATS beats per frame
/// \param out0, out1  BEATS beats per frame each, equal to those of `in`
/// \param reps      number of frames
template <unsigned WIDTH, unsigned BEATS>
void fork(hls::stream<typename ForkTypes<WIDTH, BEATS>::word_t> &in,
          hls::stream<typename ForkTypes<WIDTH, BEATS>::word_t> &out0,
          hls::stream<typename ForkTypes<WIDTH, BEATS>::word_t> &out1, unsigned reps) {
  const unsigned beats = reps * BEATS;
  for (unsigned i = 0; i < beats; i++) {
#pragma HLS PIPELINE II=1
    const typename ForkTypes<WIDTH, BEATS>::word_t x = in.read();
    out0.write(x);
    out1.write(x);
  }
}

// ------------------------------------------------------------------------------------------
// add_join

/// Sizes and types of add_join() (template parameters as there); instantiating it checks them.
template <unsigned ELEMENTS, unsigned SIMD, unsigned A_BITS, bool A_BIPOLAR, unsigned B_BITS,
          bool B_BIPOLAR, unsigned OUT_BITS>
struct AddJoinTypes {
  static_assert(ELEMENTS >= 1, "hwbnn::add_join: ELEMENTS must be at least 1");
  static_assert(divides(SIMD, ELEMENTS), "hwbnn::add_join: SIMD must divide ELEMENTS");
  static_assert(A_BITS >= 1 && A_BITS <= 32 && B_BITS >= 1 && B_BITS <= 32,
                "hwbnn::add_join: A_BITS and B_BITS must be in 1..32");
  static_assert((!A_BIPOLAR || A_BITS == 1) && (!B_BIPOLAR || B_BITS == 1),
                "hwbnn::add_join: a BIPOLAR input has 1 bit per element");
  /// Two's complement bits of an input value (2 for a bipolar one), and the fewest output
  /// bits that hold every sum of two input values (the rule of rtl/hwbnn_add_join.v).
  static constexpr unsigned A_VALUE_BITS = A_BIPOLAR ? 2 : A_BITS;
  static constexpr unsigned B_VALUE_BITS = B_BIPOLAR ? 2 : B_BITS;
  static constexpr unsigned MIN_OUT_BITS =
      (A_VALUE_BITS > B_VALUE_BITS ? A_VALUE_BITS : B_VALUE_BITS) + 1;
  static_assert(OUT_BITS >= MIN_OUT_BITS && OUT_BITS <= 64,
                "hwbnn::add_join: OUT_BITS must hold every sum: at least max(EA, EB) + 1, with "
                "E = 2 for bipolar bits and the element bits otherwise (and at most 64)");

  /// Beats per frame.
  static constexpr unsigned FOLD = quotient(ELEMENTS, SIMD);
  typedef ap_uint<SIMD * A_BITS> a_t;
  typedef ap_uint<SIMD * B_BITS> b_t;
  typedef ap_uint<SIMD * OUT_BITS> out_t;
  /// An exact sum of two elements.
  typedef ap_int<(A_BITS > B_BITS ? A_BITS : B_BITS) + 2> sum_t;
};

/// Elementwise sum of two streams of ELEMENTS elements per frame: out_s = a_s + b_s, where a
/// BIPOLAR input counts bit 1 as +1 and bit 0 as -1 and any other input is a two's complement
/// integer. The k-input sum of an AddJoin node is a chain of k-1 add_join() units.
/// \tparam ELEMENTS   elements per frame, >= 1
/// \tparam SIMD       elements per beat; divides ELEMENTS
/// \tparam A_BITS     bits per element of in0, 1..32
/// \tparam A_BIPOLAR  in0 is binary (A_BITS = 1, 1 is +1, 0 is -1) rather than two's complement
/// \tparam B_BITS     bits per element of in1, 1..32
/// \tparam B_BIPOLAR  likewise for in1
/// \tparam OUT_BITS   bits per output element (two's complement), MIN_OUT_BITS..64: holds the
///                    sum of any two input values (not just those of the edge ranges: a 5-bit
///                    accumulator in [-9, 9] plus a bit needs OUT_BITS = 6); wider outputs are
///                    sign-extended
/// \param in0   ELEMENTS/SIMD beats of SIMD A_BITS-bit elements per frame
/// \param in1   ELEMENTS/SIMD beats of SIMD B_BITS-bit elements per frame, read with in0
/// \param out   ELEMENTS/SIMD beats of SIMD OUT_BITS-bit sums per frame
/// \param reps  number of frames
template <unsigned ELEMENTS, unsigned SIMD, unsigned A_BITS, bool A_BIPOLAR, unsigned B_BITS,
          bool B_BIPOLAR, unsigned OUT_BITS>
void add_join(hls::stream<typename AddJoinTypes<ELEMENTS, SIMD, A_BITS, A_BIPOLAR, B_BITS,
                                                B_BIPOLAR, OUT_BITS>::a_t> &in0,
              hls::stream<typename AddJoinTypes<ELEMENTS, SIMD, A_BITS, A_BIPOLAR, B_BITS,
                                                B_BIPOLAR, OUT_BITS>::b_t> &in1,
              hls::stream<typename AddJoinTypes<ELEMENTS, SIMD, A_BITS, A_BIPOLAR, B_BITS,
                                                B_BIPOLAR, OUT_BITS>::out_t> &out,
              unsigned reps) {
  typedef AddJoinTypes<ELEMENTS, SIMD, A_BITS, A_BIPOLAR, B_BITS, B_BIPOLAR, OUT_BITS> T;
  const unsigned beats = reps * T::FOLD;
  for (unsigned i = 0; i < beats; i++) {
#pragma HLS PIPELINE II=1
    const typename T::a_t a = in0.read();
    const typename T::b_t b = in1.read();
    typename T::out_t y;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
      const typename T::sum_t sum =
          typename T::sum_t(detail::element_value<A_BITS, A_BIPOLAR>(a, s)) +
          detail::element_value<B_BITS, B_BIPOLAR>(b, s);
      y.range(s * OUT_BITS + OUT_BITS - 1, s * OUT_BITS) = ap_uint<OUT_BITS>(sum);
    }
    out.write(y);
  }
}

// ------------------------------------------------------------------------------------------
// concat

/// Sizes and types of concat() (template parameters as there); instantiating it checks them.
template <unsigned C0, unsigned C1, unsigned SIMD, unsigned ELEM_BITS>
struct ConcatTypes {
  static_assert(C0 >= 1 && C1 >= 1, "hwbnn::concat: C0 and C1 must be at least 1");
  static_assert(divides(SIMD, C0) && divides(SIMD, C1),
                "hwbnn::concat: SIMD must divide both C0 and C1");
  static_assert(ELEM_BITS >= 1, "hwbnn::concat: ELEM_BITS must be at least 1");
  /// Beats per pixel of in0, of in1 and of out.
  static constexpr unsigned CF0 = quotient(C0, SIMD);
  static constexpr unsigned CF1 = quotient(C1, SIMD);
  static constexpr unsigned CF = CF0 + CF1;
  typedef ap_uint<SIMD * ELEM_BITS> word_t;
};

/// Channel concatenation of two streams of PIXELS pixels per frame: per pixel the C0 channels
/// of in0, then the C1 channels of in1 (output pixel of C0 + C1 channels). Iteration k of a
/// pixel reads in0 when k < C0/SIMD, else in1, and writes the beat. The k-input concatenation
/// of a Concat node is a chain of k-1 concat() units.
/// \tparam C0         channels of in0, >= 1
/// \tparam C1         channels of in1, >= 1
/// \tparam SIMD       channels per beat of all three streams; divides C0 and C1
/// \tparam ELEM_BITS  bits per element (any element kind), >= 1
/// \tparam PIXELS     pixels per frame (1 for a non-image stream), >= 1
/// \param in0   PIXELS*C0/SIMD beats per frame
/// \param in1   PIXELS*C1/SIMD beats per frame
/// \param out   PIXELS*(C0+C1)/SIMD beats per frame
/// \param reps  number of frames
template <unsigned C0, unsigned C1, unsigned SIMD, unsigned ELEM_BITS, unsigned PIXELS = 1>
void concat(hls::stream<typename ConcatTypes<C0, C1, SIMD, ELEM_BITS>::word_t> &in0,
            hls::stream<typename ConcatTypes<C0, C1, SIMD, ELEM_BITS>::word_t> &in1,
            hls::stream<typename ConcatTypes<C0, C1, SIMD, ELEM_BITS>::word_t> &out,
            unsigned reps) {
  static_assert(PIXELS >= 1, "hwbnn::concat: PIXELS must be at least 1");
  typedef ConcatTypes<C0, C1, SIMD, ELEM_BITS> T;
  unsigned k = 0;  // beat of this iteration within its output pixel
  const unsigned beats = reps * PIXELS * T::CF;
  for (unsigned i = 0; i < beats; i++) {
#pragma HLS PIPELINE II=1
    typename T::word_t x;
    if (k < T::CF0) {
      x = in0.read();
    } else {
      x = in1.read();
    }
    out.write(x);
    k = (k == T::CF - 1) ? 0 : k + 1;
  }
}

// ------------------------------------------------------------------------------------------
// threshold

/// Sizes and types of threshold() (template parameters as there); instantiating it checks them.
template <unsigned C, unsigned SIMD, unsigned IN_BITS, unsigned STEPS, unsigned SIDE,
          unsigned OUT_BITS, int OUT_BASE, unsigned THRESH_BITS>
struct ThresholdTypes {
  static_assert(C >= 1, "hwbnn::threshold: C must be at least 1");
  static_assert(divides(SIMD, C), "hwbnn::threshold: SIMD must divide C");
  static_assert(IN_BITS >= 1 && IN_BITS <= 32, "hwbnn::threshold: IN_BITS must be in 1..32");
  static_assert(STEPS >= 1, "hwbnn::threshold: STEPS must be at least 1");
  static_assert(SIDE <= 1, "hwbnn::threshold: SIDE must be 0 (no side input) or 1");
  static_assert(OUT_BITS >= 1 && OUT_BITS <= 32, "hwbnn::threshold: OUT_BITS must be in 1..32");
  static_assert((OUT_BITS == 1 && OUT_BASE == 0 && STEPS == 1) ||
                    detail::fits_signed(OUT_BASE, (long long)OUT_BASE + STEPS, OUT_BITS),
                "hwbnn::threshold: OUT_BITS must hold OUT_BASE..OUT_BASE+STEPS in two's "
                "complement (or be 1 for a bit: OUT_BASE 0, STEPS 1)");
  static_assert(THRESH_BITS >= 1 && THRESH_BITS <= 64,
                "hwbnn::threshold: THRESH_BITS must be in 1..64");

  /// Channel folds (beats per pixel) and threshold selections (2 with a side input).
  static constexpr unsigned CF = quotient(C, SIMD);
  static constexpr unsigned SELECT = SIDE + 1;
  typedef ap_uint<SIMD * IN_BITS> in_t;
  typedef ap_uint<SIMD> side_t;
  typedef ap_uint<SIMD * OUT_BITS> out_t;
  /// A threshold, compared exactly with an input element whatever the two widths.
  typedef ap_int<THRESH_BITS> threshold_t;
  /// The threshold table, [SIMD][C/SIMD][SIDE+1][STEPS] (layout at threshold()), for
  /// declaring it: `static const T::table_t thresholds = {...};`.
  typedef threshold_t table_t[SIMD][CF][SELECT][STEPS];
};

namespace detail {

/// The beat loop of both threshold() forms; `side` is read only when SIDE is 1.
template <unsigned C, unsigned SIMD, unsigned IN_BITS, unsigned STEPS, unsigned SIDE,
          unsigned OUT_BITS, int OUT_BASE, unsigned THRESH_BITS, unsigned PIXELS,
          typename SideStream, typename Table>
void threshold_loop(
    hls::stream<typename ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                        THRESH_BITS>::in_t> &in,
    SideStream &side,
    hls::stream<typename ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                        THRESH_BITS>::out_t> &out,
    const Table &thresholds, unsigned reps) {
#pragma HLS INLINE
  typedef ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE, THRESH_BITS> T;
  unsigned f = 0;  // channel fold of this beat
  const unsigned beats = reps * PIXELS * T::CF;
  for (unsigned i = 0; i < beats; i++) {
#pragma HLS PIPELINE II=1
    const typename T::in_t x = in.read();
    typename T::side_t select = 0;
    if (SIDE == 1) {
      select = side.read();
    }
    typename T::out_t y;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
      const ap_int<IN_BITS> value =
          ap_uint<IN_BITS>(x.range(s * IN_BITS + IN_BITS - 1, s * IN_BITS));
      const unsigned v = SIDE == 1 ? unsigned(select[s]) : 0u;
      ap_uint<clog2(STEPS + 1)> count = 0;
      for (unsigned j = 0; j < STEPS; j++) {
#pragma HLS UNROLL
        count += (value >= thresholds[s][f][v][j]) ? 1 : 0;
      }
      y.range(s * OUT_BITS + OUT_BITS - 1, s * OUT_BITS) =
          ap_uint<OUT_BITS>(OUT_BASE + int(count));
    }
    out.write(y);
    f = (f == T::CF - 1) ? 0 : f + 1;
  }
}

/// Stands in for the side stream of a threshold() without one.
struct NoSideStream {
  ap_uint<1> read() { return 0; }
};

}  // namespace detail

/// Multi-step thresholds of an integer stream without side input (SIDE = 0):
/// out = OUT_BASE + #{j : x >= T[c][0][j]} for element x of channel c.
/// The template parameters are those of rtl/hwbnn_threshold.v (CHANNELS = C, THRESH_WIDTH =
/// THRESH_BITS) in its order, then PIXELS.
/// \tparam C            channels (elements per pixel; all elements of a non-image stream), >= 1
/// \tparam SIMD         elements per beat; divides C
/// \tparam IN_BITS      bits per input element (two's complement), 1..32
/// \tparam STEPS        thresholds per channel and selection, >= 1
/// \tparam SIDE         0 for this form (1: the form with a side input)
/// \tparam OUT_BITS     bits per output element: 1 for a bit (OUT_BASE 0, STEPS 1), else two's
///                      complement holding OUT_BASE..OUT_BASE+STEPS; at most 32
/// \tparam OUT_BASE     the output when no threshold is met (may be negative)
/// \tparam THRESH_BITS  bits per threshold (two's complement), 1..64
/// \tparam PIXELS       pixels per frame (1 for a non-image stream), >= 1
/// \param in          PIXELS*C/SIMD beats of SIMD IN_BITS-bit elements per frame; beat b holds
///                    channels (b % (C/SIMD))*SIMD + s
/// \param out         PIXELS*C/SIMD beats of SIMD OUT_BITS-bit elements per frame
/// \param thresholds  [SIMD][C/SIMD][SIDE+1][STEPS] (ThresholdTypes::table_t): T[c][v][j] of
///                    channel c = f*SIMD + s, selection v, step j at [s][f][v][j]. Partitioned
///                    completely in dimensions 1, 3 and 4: a memory of C/SIMD words per lane,
///                    selection and step. Sorting along j is not required.
/// \param reps        number of frames
template <unsigned C, unsigned SIMD, unsigned IN_BITS, unsigned STEPS, unsigned SIDE,
          unsigned OUT_BITS, int OUT_BASE, unsigned THRESH_BITS, unsigned PIXELS = 1>
void threshold(
    hls::stream<typename ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                        THRESH_BITS>::in_t> &in,
    hls::stream<typename ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                        THRESH_BITS>::out_t> &out,
    const typename ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                  THRESH_BITS>::threshold_t
        thresholds[SIMD][ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                        THRESH_BITS>::CF][SIDE + 1][STEPS],
    unsigned reps) {
  static_assert(SIDE == 0,
                "hwbnn::threshold: SIDE is 1; call threshold(in, side, out, thresholds, reps)");
  static_assert(PIXELS >= 1, "hwbnn::threshold: PIXELS must be at least 1");
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=1
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=3
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=4
  detail::NoSideStream no_side;
  detail::threshold_loop<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE, THRESH_BITS, PIXELS>(
      in, no_side, out, thresholds, reps);
}

/// Multi-step thresholds of an integer stream selected by a side bit (SIDE = 1):
/// out = OUT_BASE + #{j : x >= T[c][b][j]} for element x of channel c and the side bit b of
/// the same element. STEPS = 1, OUT_BASE = 0, OUT_BITS = 1 is the Bi-Real shortcut
/// sign(BN(acc) + x) = (acc >= T[c][x]). Template parameters and `in`, `out`, `thresholds`,
/// `reps` as for the form without a side input, with SIDE = 1.
/// \param side  PIXELS*C/SIMD beats of SIMD bits per frame, read with `in`: bit s selects the
///              thresholds of element s of the `in` beat
template <unsigned C, unsigned SIMD, unsigned IN_BITS, unsigned STEPS, unsigned SIDE,
          unsigned OUT_BITS, int OUT_BASE, unsigned THRESH_BITS, unsigned PIXELS = 1>
void threshold(
    hls::stream<typename ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                        THRESH_BITS>::in_t> &in,
    hls::stream<typename ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                        THRESH_BITS>::side_t> &side,
    hls::stream<typename ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                        THRESH_BITS>::out_t> &out,
    const typename ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                  THRESH_BITS>::threshold_t
        thresholds[SIMD][ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE,
                                        THRESH_BITS>::CF][SIDE + 1][STEPS],
    unsigned reps) {
  static_assert(SIDE == 1,
                "hwbnn::threshold: SIDE is 0; call threshold(in, out, thresholds, reps)");
  static_assert(PIXELS >= 1, "hwbnn::threshold: PIXELS must be at least 1");
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=1
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=3
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=4
  detail::threshold_loop<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE, THRESH_BITS, PIXELS>(
      in, side, out, thresholds, reps);
}

}  // namespace hwbnn

#endif  // HWBNN_GRAPH_HPP
