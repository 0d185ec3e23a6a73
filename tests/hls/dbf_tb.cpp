// C-simulation testbench of hwbnn::dbf, configured by the defines
//   TB_MW, TB_MH, TB_M, TB_PE, TB_SIMD, TB_MB, TB_INPUT_BITS, TB_ALPHA_BITS, TB_ACC_BITS,
//   TB_THRESHOLDS (0/1), TB_PIXELS
// stdin (whitespace separated): reps; M*MW code bits in decimal (code m element i at
// position m*MW + i); MH*M alpha in decimal (channel c basis m at c*M + m); with thresholds
// MH thresholds in decimal; then reps*PIXELS*MW/SIMD input beats in hex.
// stdout: the output words in hex, one a line.
#include <hwbnn/dbf.hpp>

#include <iostream>
#include <string>
#include <vector>

constexpr unsigned MW = TB_MW;
constexpr unsigned MH = TB_MH;
constexpr unsigned M = TB_M;
constexpr unsigned PE = TB_PE;
constexpr unsigned SIMD = TB_SIMD;
constexpr unsigned MB = TB_MB;
constexpr unsigned ALPHA_BITS = TB_ALPHA_BITS;
constexpr unsigned ACC_BITS = TB_ACC_BITS;
constexpr bool THRESHOLDS = TB_THRESHOLDS != 0;
constexpr unsigned PIXELS = TB_PIXELS;
#if TB_INPUT_BITS == 1
typedef hwbnn::XnorMul Product;
#else
typedef hwbnn::IntBinaryProduct<TB_INPUT_BITS> Product;
#endif
typedef hwbnn::DbfTypes<MW, MH, M, PE, SIMD, MB, Product, ALPHA_BITS, ACC_BITS, THRESHOLDS>
    Types;

static ap_uint<SIMD> codes[M][Types::SF];
static ap_int<ALPHA_BITS> alpha[PE][Types::NF * M];
static ap_int<ACC_BITS + 1> thresholds[PE][Types::NF];

int main() {
  unsigned reps = 0;
  std::cin >> reps;
  for (unsigned m = 0; m < M; m++) {
    for (unsigned i = 0; i < MW; i++) {
      int bit = 0;
      std::cin >> bit;
      codes[m][i / SIMD][i % SIMD] = bit;
    }
  }
  for (unsigned c = 0; c < MH; c++) {
    for (unsigned m = 0; m < M; m++) {
      long long value = 0;
      std::cin >> value;
      alpha[c % PE][(c / PE) * M + m] = value;
    }
  }
  if (THRESHOLDS) {
    for (unsigned c = 0; c < MH; c++) {
      long long value = 0;
      std::cin >> value;
      thresholds[c % PE][c / PE] = value;
    }
  }
  std::vector<Types::in_t> beats(reps * PIXELS * Types::SF);
  for (Types::in_t &beat : beats) {
    std::string token;
    std::cin >> token;
    beat = Types::in_t(token.c_str(), 16);
  }
  if (!std::cin) {
    std::cerr << "dbf_tb: stdin ended early" << std::endl;
    return 2;
  }
  hls::stream<Types::in_t> in("in");
  hls::stream<Types::out_t> out("out");
  for (const Types::in_t &beat : beats) {
    in.write(beat);
  }
  hwbnn::dbf<MW, MH, M, PE, SIMD, MB, Product, ALPHA_BITS, ACC_BITS, THRESHOLDS, PIXELS>(
      in, out, codes, alpha, thresholds, reps);
  const unsigned words = reps * PIXELS * Types::NF;
  if (!in.empty() || out.size() != words) {
    std::cerr << "dbf_tb: " << in.size() << " beats unread, " << out.size() << " written, expected "
              << words << std::endl;
    return 1;
  }
  while (!out.empty()) {
    std::cout << out.read().to_string(16) << "\n";
  }
  return 0;
}
