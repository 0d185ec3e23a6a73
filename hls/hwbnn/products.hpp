/// \file products.hpp
/// Product types of the matrix-vector unit: how one SIMD slice of input elements is multiplied
/// with SIMD bipolar weights and summed, and how wide the sums over a fan-in of N must be.
///
/// Each product type provides
///  - INPUT_BITS: bits per input element (a beat of SIMD elements is ap_uint<SIMD*INPUT_BITS>);
///  - Sum<N>: the arithmetic of a sum of N products, with
///      acc_t        the accumulator, just wide enough for every attainable value;
///      dot_t        the signed dot product the accumulator stands for, and dot(acc) giving it;
///      threshold_t  the type of a threshold compared with the accumulator (acc >= T);
///  - slice<SIMD>(x, w): the sum of the SIMD products of one input beat x with weight word w.
/// Weight bit 1 is +1 and bit 0 is -1.
#ifndef HWBNN_PRODUCTS_HPP
#define HWBNN_PRODUCTS_HPP

#include "common.hpp"

namespace hwbnn {

/// Bipolar input times bipolar weight, both one bit (bit 1 = +1, bit 0 = -1).
/// The product of two bipolar values is +1 iff their bits agree, so a slice sums to
/// popcount(XNOR(x, w)), and a full row to the popcount P with dot = 2 * P - N.
struct XnorMul {
  static constexpr unsigned INPUT_BITS = 1;

  /// A sum of N XNOR products.
  template <unsigned N>
  struct Sum {
    /// Popcount in 0..N.
    static constexpr unsigned ACC_BITS = clog2(N + 1);
    typedef ap_uint<ACC_BITS> acc_t;
    /// Dot product 2 * P - N in -N..N.
    static constexpr unsigned DOT_BITS = ACC_BITS + 1;
    typedef ap_int<DOT_BITS> dot_t;
    /// Threshold T in 0..N+1: 0 always gives +1, N+1 always gives -1.
    typedef ap_uint<clog2(N + 2)> threshold_t;

    static dot_t dot(const acc_t &popcount) {
#pragma HLS INLINE
      ap_int<ACC_BITS + 2> twice = popcount;
      twice <<= 1;
      return dot_t(twice - ap_int<ACC_BITS + 2>(N));
    }
  };

  /// popcount(XNOR(x, w)) over SIMD bits.
  template <unsigned SIMD>
  static typename Sum<SIMD>::acc_t slice(const ap_uint<SIMD> &x, const ap_uint<SIMD> &w) {
#pragma HLS INLINE
    const ap_uint<SIMD> agree = ~(x ^ w);
    typename Sum<SIMD>::acc_t count = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
      count += agree[s];
    }
    return count;
  }
};

/// Unsigned INPUT_BITS_-bit input codes k times bipolar weights: w ? +k : -k, summed as a signed
/// integer. This is the first layer of a network with integer (e.g. 8-bit pixel) input.
/// \tparam INPUT_BITS_ bits per input code, 1..31
template <unsigned INPUT_BITS_>
struct IntBinaryProduct {
  static_assert(INPUT_BITS_ >= 1 && INPUT_BITS_ <= 31,
                "hwbnn::IntBinaryProduct: INPUT_BITS must be in 1..31");
  static constexpr unsigned INPUT_BITS = INPUT_BITS_;
  /// Largest input code.
  static constexpr unsigned long long CODE_MAX = (1ULL << INPUT_BITS_) - 1;

  /// A sum of N signed products, in -M..M with M = N * CODE_MAX.
  template <unsigned N>
  struct Sum {
    static constexpr unsigned long long MAGNITUDE = N * CODE_MAX;
    static constexpr unsigned ACC_BITS = clog2(MAGNITUDE + 1) + 1;
    typedef ap_int<ACC_BITS> acc_t;
    /// The accumulator is the dot product itself.
    static constexpr unsigned DOT_BITS = ACC_BITS;
    typedef acc_t dot_t;
    /// Signed threshold; every useful one lies in -M..M+1 (M+1 always gives -1).
    typedef ap_int<clog2(MAGNITUDE + 2) + 1> threshold_t;

    static dot_t dot(const acc_t &acc) {
#pragma HLS INLINE
      return acc;
    }
  };

  /// Sum over s of (w[s] ? +k_s : -k_s), k_s the code at bits [s*INPUT_BITS, (s+1)*INPUT_BITS).
  template <unsigned SIMD>
  static typename Sum<SIMD>::acc_t slice(const ap_uint<SIMD * INPUT_BITS_> &x,
                                         const ap_uint<SIMD> &w) {
#pragma HLS INLINE
    typename Sum<SIMD>::acc_t sum = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
      const ap_int<INPUT_BITS_ + 1> code = ap_uint<INPUT_BITS_>(
          x.range(s * INPUT_BITS_ + INPUT_BITS_ - 1, s * INPUT_BITS_));
      const ap_int<INPUT_BITS_ + 1> term = w[s] ? code : ap_int<INPUT_BITS_ + 1>(-code);
      sum += term;
    }
    return sum;
  }
};

}  // namespace hwbnn

#endif  // HWBNN_PRODUCTS_HPP
