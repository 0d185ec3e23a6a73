/// \file common.hpp
/// Compile-time helpers shared by the hwbnn HLS library.
///
/// Numeric contract of hwbnn: a bipolar value -1 is bit 0 and +1 is bit 1; vector element i
/// sits at bit i (LSB first); a stream beat of SIMD elements carries element 0 at bit 0, and a
/// beat of SIMD multi-bit elements carries element s at bits [s*W, (s+1)*W).
#ifndef HWBNN_COMMON_HPP
#define HWBNN_COMMON_HPP

#include <ap_int.h>
#include <hls_stream.h>

namespace hwbnn {

/// ceil(log2(x)) for x >= 1, and 0 for x <= 1: the number of bits that count 0..x-1.
/// A sum taking the values 0..N therefore needs clog2(N + 1) bits.
constexpr unsigned clog2(unsigned long long x) { return x <= 1 ? 0 : 1 + clog2((x + 1) / 2); }

/// a / b, or 0 when b is 0: sizes derived before a static_assert has rejected b == 0, so that
/// the assertion's message is the first error the compiler prints.
constexpr unsigned quotient(unsigned a, unsigned b) { return b == 0 ? 0 : a / b; }

/// True iff b >= 1 divides a.
constexpr bool divides(unsigned b, unsigned a) { return b >= 1 && a % b == 0; }

}  // namespace hwbnn

#endif  // HWBNN_COMMON_HPP
