/// \file nnet_hwbnn.h
/// hls4ml layer functions of hwbnn: the glue between hls4ml's io_stream streams and the hwbnn
/// HLS library (hwbnn.hpp, copied beside this file into the project's nnet_utils/).
///
/// hls4ml streams carry nnet::array<T, K> beats, K elements of type T per beat, element k of a
/// beat being element b*K + k of the frame for beat b. The hwbnn library streams packed words,
/// element s of a beat at bits [s*W, (s+1)*W) (numeric contract: element i at bit i, LSB first).
/// Each layer function converts at its ports and leaves all arithmetic to the library:
///
///   hls4ml beats --pack--> K*W-bit words --hwbnn::convert_width--> SIMD*W-bit beats
///     --> hwbnn::mvau / hwbnn::threshold_input --> PE*OUT_BITS-bit words --unpack--> hls4ml beats
///
/// The element types must have exactly the field width: ap_uint<B> input codes, ap_uint<1> bits
/// (bit 1 is +1), ap_int<DOT_BITS> accumulators of the last layer.
#ifndef NNET_HWBNN_H_
#define NNET_HWBNN_H_

#include "hwbnn.hpp"
#include "nnet_common.h"
#include "nnet_types.h"

namespace nnet {

namespace hwbnn_io {

/// Copies `beats` hls4ml beats of array_T::size W-bit elements into packed words.
/// \tparam array_T  nnet::array of ap_uint<W> (or ap_int<W>) elements
/// \tparam W        bits per element
template <class array_T, unsigned W>
void pack(hls::stream<array_T> &in, hls::stream<ap_uint<array_T::size * W>> &out, unsigned beats) {
    static_assert(array_T::value_type::width == int(W), "nnet::hwbnn_io::pack: element width must be W");
    for (unsigned b = 0; b < beats; b++) {
        #pragma HLS PIPELINE II=1
        const array_T x = in.read();
        ap_uint<array_T::size * W> word = 0;
        for (unsigned k = 0; k < array_T::size; k++) {
            #pragma HLS UNROLL
            word.range(k * W + W - 1, k * W) = x[k].range(W - 1, 0);
        }
        out.write(word);
    }
}

/// Copies `beats` packed words of array_T::size W-bit fields into hls4ml beats; a field is
/// reinterpreted bit for bit (two's complement for ap_int elements).
/// \tparam array_T  nnet::array of ap_uint<W> or ap_int<W> elements
/// \tparam W        bits per element
template <class array_T, unsigned W>
void unpack(hls::stream<ap_uint<array_T::size * W>> &in, hls::stream<array_T> &out, unsigned beats) {
    static_assert(array_T::value_type::width == int(W), "nnet::hwbnn_io::unpack: element width must be W");
    for (unsigned b = 0; b < beats; b++) {
        #pragma HLS PIPELINE II=1
        const ap_uint<array_T::size * W> word = in.read();
        array_T y;
        PRAGMA_DATA_PACK(y)
        for (unsigned k = 0; k < array_T::size; k++) {
            #pragma HLS UNROLL
            y[k].range(W - 1, 0) = word.range(k * W + W - 1, k * W);
        }
        out.write(y);
    }
}

/// C simulation only: fills ap_uint<W> words from 64-bit limbs, limb l holding bits
/// [64*l, 64*l + 64) (the project's weight memories; see the config of each layer).
template <unsigned ROWS, unsigned COLS, int W, unsigned LIMBS>
bool fill_words(ap_uint<W> (&words)[ROWS][COLS], const unsigned long long (&limbs)[ROWS][COLS][LIMBS]) {
    static_assert(int(LIMBS * 64) >= W && int((LIMBS - 1) * 64) < W, "nnet::hwbnn_io::fill_words: LIMBS");
    for (unsigned r = 0; r < ROWS; r++) {
        for (unsigned c = 0; c < COLS; c++) {
            ap_uint<W> word = 0;
            for (unsigned l = 0; l < LIMBS; l++) {
                word |= ap_uint<W>(limbs[r][c][l]) << (64 * l);
            }
            words[r][c] = word;
        }
    }
    return true;
}

/// hls4ml beats of a frame of N W-bit elements -> the library's SIMD-element beats.
template <class data_T, unsigned N, unsigned SIMD, unsigned W>
void to_library(hls::stream<data_T> &data, hls::stream<ap_uint<SIMD * W>> &beats) {
    #pragma HLS INLINE
    static_assert(N % data_T::size == 0, "nnet::hwbnn: the input beat size must divide the frame");
    constexpr unsigned IN_BEATS = N / data_T::size;
    hls::stream<ap_uint<data_T::size * W>> packed("hwbnn_packed");
    pack<data_T, W>(data, packed, IN_BEATS);
    hwbnn::convert_width<data_T::size * W, SIMD * W, IN_BEATS>(packed, beats, 1);
}

} // namespace hwbnn_io

/// Input thresholding layer: one frame of N unsigned codes -> N bits (hwbnn::threshold_input).
/// CONFIG_T: n (N), simd, input_bits. res_T carries SIMD bits per beat.
template <class data_T, class res_T, typename CONFIG_T>
void hwbnn_threshold_input(
    hls::stream<data_T> &data, hls::stream<res_T> &res,
    const typename hwbnn::InputThresholdTypes<CONFIG_T::n, CONFIG_T::simd, CONFIG_T::input_bits>::threshold_t
        thresholds[CONFIG_T::simd][CONFIG_T::n / CONFIG_T::simd]) {
    #pragma HLS INLINE
    typedef hwbnn::InputThresholdTypes<CONFIG_T::n, CONFIG_T::simd, CONFIG_T::input_bits> T;
    static_assert(res_T::size == CONFIG_T::simd, "nnet::hwbnn_threshold_input: output beats carry SIMD bits");
    hls::stream<typename T::in_t> beats("hwbnn_beats");
    hls::stream<typename T::out_t> bits("hwbnn_bits");
    hwbnn_io::to_library<data_T, CONFIG_T::n, CONFIG_T::simd, CONFIG_T::input_bits>(data, beats);
    hwbnn::threshold_input<CONFIG_T::n, CONFIG_T::simd, CONFIG_T::input_bits>(beats, bits, thresholds, 1);
    hwbnn_io::unpack<res_T, 1>(bits, res, T::FOLD);
}

namespace hwbnn_io {

/// One frame through hwbnn::mvau: hls4ml beats in, library words, hls4ml beats out.
/// `memories` are the weights, then the thresholds of a hidden layer.
template <class data_T, class res_T, typename CONFIG_T, typename... Memories>
void mvau_frame(hls::stream<data_T> &data, hls::stream<res_T> &res, const Memories &...memories) {
    #pragma HLS INLINE
    typedef typename CONFIG_T::types T;
    static_assert(res_T::size == CONFIG_T::pe, "nnet::hwbnn_mvau: output beats carry PE channels");
    hls::stream<typename T::in_t> beats("hwbnn_beats");
    hls::stream<typename T::out_t> words("hwbnn_words");
    to_library<data_T, CONFIG_T::mw, CONFIG_T::simd, CONFIG_T::input_bits>(data, beats);
    hwbnn::mvau<CONFIG_T::mw, CONFIG_T::mh, CONFIG_T::pe, CONFIG_T::simd, typename CONFIG_T::product,
                typename CONFIG_T::activation>(beats, words, memories..., 1);
    unpack<res_T, T::OUT_BITS>(words, res, T::NF);
}

} // namespace hwbnn_io

/// Hidden MVAU layer: one frame of MW elements -> MH bits, out = (acc >= threshold) (hwbnn::mvau).
/// CONFIG_T: mw, mh, pe, simd, input_bits, product, activation (hwbnn::ThresholdActivation).
/// res_T carries PE bits per beat.
template <class data_T, class res_T, typename CONFIG_T>
void hwbnn_mvau(hls::stream<data_T> &data, hls::stream<res_T> &res,
                const ap_uint<CONFIG_T::simd> weights[CONFIG_T::pe][CONFIG_T::types::WMEM],
                const typename CONFIG_T::types::threshold_t thresholds[CONFIG_T::pe][CONFIG_T::types::NF]) {
    #pragma HLS INLINE
    hwbnn_io::mvau_frame<data_T, res_T, CONFIG_T>(data, res, weights, thresholds);
}

/// Last MVAU layer: one frame of MW elements -> MH signed accumulators (hwbnn::mvau with
/// hwbnn::PassThroughActivation). res_T carries PE accumulators of T::OUT_BITS bits per beat.
template <class data_T, class res_T, typename CONFIG_T>
void hwbnn_mvau_output(hls::stream<data_T> &data, hls::stream<res_T> &res,
                       const ap_uint<CONFIG_T::simd> weights[CONFIG_T::pe][CONFIG_T::types::WMEM]) {
    #pragma HLS INLINE
    hwbnn_io::mvau_frame<data_T, res_T, CONFIG_T>(data, res, weights);
}

} // namespace nnet

#endif
