// C-simulation testbench of hwbnn::interact, configured by the defines
//   TB_C, TB_SIMD, TB_IN_BITS, TB_OUT_BITS, TB_LEVELS, TB_DEADZONE, TB_MAGNITUDE, TB_PIXELS
// stdin (whitespace separated): reps; C levels; C*C signs ([j][i]: edge i -> j); C negate
//   flags (all decimal); reps*PIXELS*C/SIMD input beats in hex.
// stdout: the output beats in hex, one a line.
#include <hwbnn/interact.hpp>

#include <iostream>
#include <string>
#include <vector>

constexpr unsigned C = TB_C;
constexpr unsigned SIMD = TB_SIMD;
typedef hwbnn::InteractTypes<C, SIMD, TB_IN_BITS, TB_OUT_BITS> Types;

static Types::level_t level[C];
static Types::sign_t signs[C][C];
static Types::flag_t negate[C];

int main() {
  unsigned reps = 0;
  std::cin >> reps;
  for (unsigned j = 0; j < C; j++) {
    int value = 0;
    std::cin >> value;
    level[j] = value;
  }
  for (unsigned j = 0; j < C; j++) {
    for (unsigned i = 0; i < C; i++) {
      int value = 0;
      std::cin >> value;
      signs[j][i] = value;
    }
  }
  for (unsigned j = 0; j < C; j++) {
    int value = 0;
    std::cin >> value;
    negate[j] = value;
  }
  std::vector<Types::in_t> beats(reps * TB_PIXELS * Types::FOLD);
  for (Types::in_t &beat : beats) {
    std::string token;
    std::cin >> token;
    beat = Types::in_t(token.c_str(), 16);
  }
  if (!std::cin) {
    std::cerr << "interact_tb: stdin ended early" << std::endl;
    return 2;
  }
  hls::stream<Types::in_t> in("in");
  hls::stream<Types::out_t> out("out");
  for (const Types::in_t &beat : beats) {
    in.write(beat);
  }
  hwbnn::interact<C, SIMD, TB_IN_BITS, TB_OUT_BITS, TB_LEVELS, TB_DEADZONE, TB_MAGNITUDE,
                  TB_PIXELS>(in, out, level, signs, negate, reps);
  if (!in.empty() || out.size() != beats.size()) {
    std::cerr << "interact_tb: " << in.size() << " beats unread, " << out.size()
              << " written, expected " << beats.size() << std::endl;
    return 1;
  }
  while (!out.empty()) {
    std::cout << out.read().to_string(16) << "\n";
  }
  return 0;
}
