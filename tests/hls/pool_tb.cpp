// C-simulation testbench of hwbnn::max_pool (sliding_window into pool_or), configured by
//   TB_H, TB_W, TB_C  image height, width, channels
//   TB_K, TB_S        kernel size, stride
//   TB_SIMD           channels per beat
//   TB_PT, TB_PL, TB_PB, TB_PR  padding with bit 0 (default 0)
// stdin (whitespace separated): reps; reps*H*W*C/SIMD input beats in hex.
// stdout: the reps*OH*OW*C/SIMD output beats in hex, one a line.
// Exits with status 1 if the unit leaves input unread or writes another number of beats.
#include <hwbnn/pool.hpp>

#include <iostream>

#include "stream_tb.hpp"

#ifndef TB_PT
#define TB_PT 0
#define TB_PL 0
#define TB_PB 0
#define TB_PR 0
#endif
typedef hwbnn::MaxPoolTypes<TB_H, TB_W, TB_C, TB_K, TB_S, TB_SIMD, TB_PT, TB_PL, TB_PB, TB_PR>
    Types;
typedef Types::word_t word_t;

int main() {
  unsigned reps = 0;
  std::cin >> reps;
  hls::stream<word_t> in("in");
  hls::stream<word_t> out("out");
  if (!tb::read_beats(in, reps * Types::IN_BEATS, "pool_tb")) {
    return 2;
  }
  hwbnn::max_pool<TB_H, TB_W, TB_C, TB_K, TB_S, TB_SIMD, TB_PT, TB_PL, TB_PB, TB_PR>(in, out,
                                                                                 reps);
  return tb::write_beats(in, out, reps * Types::OUT_BEATS, "pool_tb");
}
