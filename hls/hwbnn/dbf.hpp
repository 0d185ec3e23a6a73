/// \file dbf.hpp
/// Deterministic Binary Filter unit, "basis first" (Tseng, Bhattacharya, Fernandez-Marques,
/// Alizadeh, Tong and Lane, IJCAI 2018; IR: hwbnn.ir.dbf; RTL: rtl/hwbnn_dbf.v).
///
/// Per input vector x of MW elements:
///   d_m = sum_i x_i * b_mi     for M fixed +-1 codes b_m (bit 1 = +1), shared by all channels
///   y_c = sum_m alpha_cm * d_m for MH output channels (signed integer alpha)
///   hidden: bit c = (y_c >= T_c);  output layer: y_c (ACC_BITS bits, two's complement)
/// x_i is -1/+1 (bit 0/1) for Product = XnorMul (then d_m = 2*popcount_m - MW), the unsigned
/// code k_i for IntBinaryProduct<B> (products.hpp).
///
/// The basis loop reads MW/SIMD beats and adds one beat's SIMD products to all M basis sums
/// per iteration; the combination loop then adds MB products with alpha to each of PE channels
/// per iteration and writes a word of PE channels every M/MB iterations. One vector takes
/// MW/SIMD + (MH/PE)*(M/MB) iterations (the RTL unit overlaps the two stages on two buffers:
/// max(MW/SIMD, (MH/PE)*(M/MB)) cycles).
///
/// Streams as for mvau() (mvau.hpp): MW/SIMD beats of ap_uint<SIMD*INPUT_BITS> in, MH/PE words
/// out per vector, PIXELS vectors per frame.
///
/// Memories (constants; partitioned so that synthesis folds them into the logic)
///  - codes[m][sf] (ap_uint<SIMD>): code m, elements sf*SIMD.. (element sf*SIMD+s at bit s);
///  - alpha[p][nf*M + m]: alpha of channel nf*PE+p, basis m;
///  - thresholds[p][nf] (hidden layers): threshold of channel nf*PE+p on y.
#ifndef HWBNN_DBF_HPP
#define HWBNN_DBF_HPP

#include "common.hpp"
#include "products.hpp"

namespace hwbnn {

/// Derived sizes and types of a DBF unit (template parameters as for dbf()); instantiating it
/// checks them.
template <unsigned MW, unsigned MH, unsigned M, unsigned PE, unsigned SIMD, unsigned MB,
          typename Product, unsigned ALPHA_BITS, unsigned ACC_BITS, bool THRESHOLDS>
struct DbfTypes {
  static_assert(MW >= 1 && MH >= 1 && M >= 1, "hwbnn::dbf: MW, MH and M must be at least 1");
  static_assert(divides(MB, M), "hwbnn::dbf: MB must divide M (MB >= 1, M % MB == 0)");
  static_assert(divides(PE, MH), "hwbnn::dbf: PE must divide MH (PE >= 1, MH % PE == 0)");
  static_assert(divides(SIMD, MW), "hwbnn::dbf: SIMD must divide MW (SIMD >= 1, MW % SIMD == 0)");
  static_assert(ALPHA_BITS >= 2 && ALPHA_BITS <= 16, "hwbnn::dbf: ALPHA_BITS must be in 2..16");
  static_assert(ACC_BITS >= 2 && ACC_BITS <= 63, "hwbnn::dbf: ACC_BITS must be in 2..63");

  static constexpr unsigned NF = quotient(MH, PE);
  static constexpr unsigned SF = quotient(MW, SIMD);
  /// Basis folds per output word: M / MB.
  static constexpr unsigned BF = quotient(M, MB);

  typedef typename Product::template Sum<MW> Sum;
  /// A basis product d_m (the signed dot product of the input with one code).
  typedef typename Sum::dot_t basis_t;
  typedef ap_uint<SIMD * Product::INPUT_BITS> in_t;
  typedef ap_uint<SIMD> code_t;
  typedef ap_int<ALPHA_BITS> alpha_t;
  /// y_c: ACC_BITS holds every attainable value (the IR's acc_bits).
  typedef ap_int<ACC_BITS> acc_t;
  typedef ap_int<ACC_BITS + 1> threshold_t;
  static constexpr unsigned OUT_BITS = THRESHOLDS ? 1 : ACC_BITS;
  typedef ap_uint<PE * OUT_BITS> out_t;
};

/// DBF unit: streams `reps` frames of PIXELS vectors.
/// \tparam MW          fan-in (elements per input vector), >= 1
/// \tparam MH          output channels, >= 1
/// \tparam M           basis codes, >= 1
/// \tparam PE          channels combined per iteration; divides MH
/// \tparam SIMD        input elements consumed per iteration; divides MW
/// \tparam MB          basis products combined per channel per iteration; divides M
/// \tparam Product     XnorMul (bipolar input) or IntBinaryProduct<INPUT_BITS> (products.hpp)
/// \tparam ALPHA_BITS  bits of one alpha (two's complement), 2..16
/// \tparam ACC_BITS    bits of y_c (enough for every attainable value)
/// \tparam THRESHOLDS  true: one bit per channel (y >= T); false: y itself (output layer)
/// \tparam PIXELS      vectors per frame (output pixels of a convolution), >= 1
/// \param in          PIXELS*MW/SIMD beats per frame
/// \param out         PIXELS*MH/PE words per frame
/// \param codes       [M][MW/SIMD] code words, layout in the file comment
/// \param alpha       [PE][(MH/PE)*M] coefficients, channel nf*PE+p basis m at [p][nf*M+m]
/// \param thresholds  [PE][MH/PE] thresholds (ignored when THRESHOLDS is false)
/// \param reps        number of frames
template <unsigned MW, unsigned MH, unsigned M, unsigned PE, unsigned SIMD, unsigned MB,
          typename Product, unsigned ALPHA_BITS, unsigned ACC_BITS, bool THRESHOLDS,
          unsigned PIXELS = 1>
void dbf(hls::stream<typename DbfTypes<MW, MH, M, PE, SIMD, MB, Product, ALPHA_BITS, ACC_BITS,
                                       THRESHOLDS>::in_t> &in,
         hls::stream<typename DbfTypes<MW, MH, M, PE, SIMD, MB, Product, ALPHA_BITS, ACC_BITS,
                                       THRESHOLDS>::out_t> &out,
         const ap_uint<SIMD> codes[M][MW / SIMD],
         const ap_int<ALPHA_BITS> alpha[PE][(MH / PE) * M],
         const ap_int<ACC_BITS + 1> thresholds[PE][MH / PE], unsigned reps) {
#pragma HLS ARRAY_PARTITION variable=codes complete dim=0
#pragma HLS ARRAY_PARTITION variable=alpha complete dim=1
#pragma HLS ARRAY_PARTITION variable=thresholds complete dim=1
  typedef DbfTypes<MW, MH, M, PE, SIMD, MB, Product, ALPHA_BITS, ACC_BITS, THRESHOLDS> T;
  typedef typename Product::template Sum<MW> Sum;
  static_assert(PIXELS >= 1, "hwbnn::dbf: PIXELS must be at least 1");
  constexpr unsigned OB = T::OUT_BITS;

  typename Sum::acc_t sums[M];
#pragma HLS ARRAY_PARTITION variable=sums complete dim=1
  typename T::basis_t d[M];
#pragma HLS ARRAY_PARTITION variable=d complete dim=1

  for (unsigned v = 0; v < reps * PIXELS; v++) {
    for (unsigned sf = 0; sf < T::SF; sf++) {
#pragma HLS PIPELINE II=1
      const typename T::in_t x = in.read();
      for (unsigned m = 0; m < M; m++) {
#pragma HLS UNROLL
        const typename Sum::acc_t base = (sf == 0) ? typename Sum::acc_t(0) : sums[m];
        sums[m] = base + Product::template slice<SIMD>(x, codes[m][sf]);
      }
    }
    for (unsigned m = 0; m < M; m++) {
#pragma HLS UNROLL
      d[m] = Sum::dot(sums[m]);
    }
    typename T::acc_t y[PE];
#pragma HLS ARRAY_PARTITION variable=y complete dim=1
    for (unsigned i = 0; i < T::NF * T::BF; i++) {
#pragma HLS PIPELINE II=1
      const unsigned nf = i / T::BF;
      const unsigned bf = i % T::BF;
      typename T::out_t word = 0;
      for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
        typename T::acc_t sum = (bf == 0) ? typename T::acc_t(0) : y[p];
        for (unsigned j = 0; j < MB; j++) {
#pragma HLS UNROLL
          const unsigned m = bf * MB + j;
          sum += typename T::acc_t(alpha[p][nf * M + m] * d[m]);
        }
        y[p] = sum;
        if (THRESHOLDS) {
          word[p] = typename T::threshold_t(sum) >= thresholds[p][nf];
        } else {
          word.range(p * OB + OB - 1, p * OB) = ap_uint<OB>(sum.range(OB - 1, 0));
        }
      }
      if (bf == T::BF - 1) {
        out.write(word);
      }
    }
  }
}

}  // namespace hwbnn

#endif  // HWBNN_DBF_HPP
