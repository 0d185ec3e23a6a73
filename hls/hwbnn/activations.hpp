/// \file activations.hpp
/// Output activation policies of the matrix-vector unit: what it emits per output channel.
///
/// A policy provides
///  - HAS_THRESHOLDS: whether mvau() takes a threshold table for it;
///  - Apply<Sum>, for the accumulator arithmetic Sum of a product type (products.hpp):
///      OUT_BITS  bits per channel in the output word;
///      out_t     the per-channel value;
///      apply(acc, thresholds, p, nf)  the value of the channel PE lane p of neuron fold nf.
#ifndef HWBNN_ACTIVATIONS_HPP
#define HWBNN_ACTIVATIONS_HPP

#include "common.hpp"

namespace hwbnn {

/// Stands in for the threshold table of a policy that has none.
struct NoThresholds {};

/// Hidden layer: one bit per channel, 1 (+1) iff the accumulator reaches the channel's
/// threshold: out = (acc >= T). Thresholds come from a table indexed [p][nf].
struct ThresholdActivation {
  static constexpr bool HAS_THRESHOLDS = true;

  template <typename Sum>
  struct Apply {
    static constexpr unsigned OUT_BITS = 1;
    typedef ap_uint<1> out_t;

    template <typename Table>
    static out_t apply(const typename Sum::acc_t &acc, const Table &thresholds, unsigned p,
                       unsigned nf) {
#pragma HLS INLINE
      return acc >= thresholds[p][nf];
    }
  };
};

/// Last layer: every channel emits its signed dot product (2 * popcount - N for bipolar input,
/// the signed sum itself for integer input) as a Sum::DOT_BITS two's-complement field.
struct PassThroughActivation {
  static constexpr bool HAS_THRESHOLDS = false;

  template <typename Sum>
  struct Apply {
    static constexpr unsigned OUT_BITS = Sum::DOT_BITS;
    typedef typename Sum::dot_t out_t;

    template <typename Table>
    static out_t apply(const typename Sum::acc_t &acc, const Table &, unsigned, unsigned) {
#pragma HLS INLINE
      return Sum::dot(acc);
    }
  };
};

}  // namespace hwbnn

#endif  // HWBNN_ACTIVATIONS_HPP
