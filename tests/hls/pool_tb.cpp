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
#include <string>

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
  for (unsigned i = 0; i < reps * Types::IN_BEATS; i++) {
    std::string token;
    std::cin >> token;
    in.write(word_t(token.c_str(), 16));
  }
  if (!std::cin) {
    std::cerr << "pool_tb: stdin ended early" << std::endl;
    return 2;
  }
  hwbnn::max_pool<TB_H, TB_W, TB_C, TB_K, TB_S, TB_SIMD, TB_PT, TB_PL, TB_PB, TB_PR>(in, out,
                                                                                 reps);
  if (!in.empty()) {
    std::cerr << "pool_tb: " << in.size() << " input beats left unread" << std::endl;
    return 1;
  }
  if (out.size() != reps * Types::OUT_BEATS) {
    std::cerr << "pool_tb: " << out.size() << " output beats, expected "
              << reps * Types::OUT_BEATS << std::endl;
    return 1;
  }
  while (!out.empty()) {
    std::cout << out.read().to_string(16) << "\n";
  }
  return 0;
}
