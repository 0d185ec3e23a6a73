// C-simulation testbench of hwbnn::majority_pool (sliding_window into pool_majority),
// configured by
//   TB_H, TB_W, TB_C  image height, width, channels
//   TB_K, TB_S        kernel size, stride
//   TB_PT, TB_PL, TB_PB, TB_PR  padding top, left, bottom, right (with 0 bits)
//   TB_SIMD           channels per beat
// stdin (whitespace separated): C thresholds (channel order, decimal); reps;
// reps*H*W*C/SIMD input beats in hex.
// stdout: the reps*OH*OW*C/SIMD output beats in hex, one a line.
// Exits with status 1 if the unit leaves input unread or writes another number of beats.
#include <hwbnn/pool.hpp>

#include <iostream>

#include "stream_tb.hpp"

typedef hwbnn::MajorityPoolTypes<TB_H, TB_W, TB_C, TB_K, TB_S, TB_PT, TB_PL, TB_PB, TB_PR,
                                 TB_SIMD>
    Types;
typedef Types::word_t word_t;

int main() {
  static Types::threshold_t thresholds[TB_SIMD][Types::CF];
  for (unsigned c = 0; c < TB_C; c++) {
    unsigned t = 0;
    std::cin >> t;
    thresholds[c % TB_SIMD][c / TB_SIMD] = t;
  }
  unsigned reps = 0;
  std::cin >> reps;
  hls::stream<word_t> in("in");
  hls::stream<word_t> out("out");
  if (!tb::read_beats(in, reps * Types::IN_BEATS, "majority_tb")) {
    return 2;
  }
  hwbnn::majority_pool<TB_H, TB_W, TB_C, TB_K, TB_S, TB_PT, TB_PL, TB_PB, TB_PR, TB_SIMD>(
      in, out, thresholds, reps);
  return tb::write_beats(in, out, reps * Types::OUT_BEATS, "majority_tb");
}
