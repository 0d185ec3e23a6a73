// C-simulation testbench of hwbnn::sliding_window (hwbnn::sliding_window_mmv when TB_SIMD >
// TB_C: TB_SIMD / TB_C window positions per output beat), configured by the defines
//   TB_H, TB_W, TB_C               image height, width, channels
//   TB_K, TB_S                     kernel size, stride
//   TB_PT, TB_PL, TB_PB, TB_PR     padding top, left, bottom, right
//   TB_SIMD, TB_BITS, TB_PAD_CODE  elements per beat, bits per element, code of the padding
//   TB_D                           dilation (default 1)
// stdin (whitespace separated): reps; reps*H*W*C/min(SIMD, C) input beats in hex.
// stdout: the reps*OH*OW*K*K*C/SIMD output beats in hex, one a line.
// Exits with status 1 if the unit leaves input unread or writes another number of beats.
#include <hwbnn/swg.hpp>

#include <iostream>

#include "stream_tb.hpp"

#ifndef TB_D
#define TB_D 1
#endif

#if TB_SIMD > TB_C
typedef hwbnn::SwgMmvTypes<TB_H, TB_W, TB_C, TB_K, TB_S, TB_PT, TB_PL, TB_PB, TB_PR, TB_SIMD,
                           TB_BITS, TB_PAD_CODE, TB_D>
    Types;
typedef Types::out_t out_t;
#define TB_WINDOWS hwbnn::sliding_window_mmv
#else
typedef hwbnn::SwgTypes<TB_H, TB_W, TB_C, TB_K, TB_S, TB_PT, TB_PL, TB_PB, TB_PR, TB_SIMD,
                        TB_BITS, TB_PAD_CODE, TB_D>
    Types;
typedef Types::word_t out_t;
#define TB_WINDOWS hwbnn::sliding_window
#endif
typedef Types::word_t word_t;

int main() {
  unsigned reps = 0;
  std::cin >> reps;
  hls::stream<word_t> in("in");
  hls::stream<out_t> out("out");
  if (!tb::read_beats(in, reps * Types::IN_BEATS, "swg_tb")) {
    return 2;
  }
  TB_WINDOWS<TB_H, TB_W, TB_C, TB_K, TB_S, TB_PT, TB_PL, TB_PB, TB_PR, TB_SIMD, TB_BITS,
             TB_PAD_CODE, TB_D>(in, out, reps);
  return tb::write_beats(in, out, reps * Types::OUT_BEATS, "swg_tb");
}
