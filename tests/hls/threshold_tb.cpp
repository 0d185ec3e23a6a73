// C-simulation testbench of hwbnn::threshold_input, configured by the defines
//   TB_N, TB_SIMD, TB_INPUT_BITS  sizes
// stdin (whitespace separated): reps; N thresholds in decimal, element i's at position i;
//   reps*N/SIMD input beats in hex.
// stdout: the reps*N/SIMD output beats in hex, one a line.
// The testbench also checks every bit against a plain loop and exits with status 1 on a
// difference.
#include <hwbnn/threshold.hpp>

#include <iostream>
#include <string>
#include <vector>

constexpr unsigned N = TB_N;
constexpr unsigned SIMD = TB_SIMD;
constexpr unsigned INPUT_BITS = TB_INPUT_BITS;
typedef hwbnn::InputThresholdTypes<N, SIMD, INPUT_BITS> Types;

static Types::threshold_t thresholds[SIMD][Types::FOLD];

int main() {
  unsigned reps = 0;
  std::cin >> reps;
  std::vector<long long> plain_thresholds(N);
  for (unsigned i = 0; i < N; i++) {
    std::cin >> plain_thresholds[i];
    thresholds[i % SIMD][i / SIMD] = plain_thresholds[i];
  }
  std::vector<Types::in_t> beats(reps * Types::FOLD);
  for (Types::in_t &beat : beats) {
    std::string token;
    std::cin >> token;
    beat = Types::in_t(token.c_str(), 16);
  }
  if (!std::cin) {
    std::cerr << "threshold_tb: stdin ended early" << std::endl;
    return 2;
  }

  hls::stream<Types::in_t> in("in");
  hls::stream<Types::out_t> out("out");
  for (const Types::in_t &beat : beats) {
    in.write(beat);
  }
  hwbnn::threshold_input<N, SIMD, INPUT_BITS>(in, out, thresholds, reps);

  if (!in.empty() || out.size() != beats.size()) {
    std::cerr << "threshold_tb: " << in.size() << " beats unread, " << out.size()
              << " written, expected " << beats.size() << std::endl;
    return 1;
  }
  int status = 0;
  for (unsigned b = 0; b < beats.size(); b++) {
    const Types::out_t y = out.read();
    std::cout << y.to_string(16) << "\n";
    for (unsigned s = 0; s < SIMD; s++) {
      const unsigned i = (b % Types::FOLD) * SIMD + s;
      const long long code =
          beats[b].range(s * INPUT_BITS + INPUT_BITS - 1, s * INPUT_BITS).to_uint64();
      const int want = code >= plain_thresholds[i] ? 1 : 0;
      if (int(y[s]) != want && status == 0) {
        std::cerr << "threshold_tb: frame " << b / Types::FOLD << " element " << i << ": dut "
                  << int(y[s]) << ", plain loop " << want << std::endl;
        status = 1;
      }
    }
  }
  return status;
}
