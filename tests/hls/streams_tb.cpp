// C-simulation testbench of hwbnn::convert_width, configured by
//   TB_IN_W, TB_OUT_W, TB_IN_BEATS  input and output beat widths, input beats per frame
// stdin (whitespace separated): reps; reps*TB_IN_BEATS input beats in hex.
// stdout, one hex word a line: the converted beats.
// The testbench also checks that the converted stream carries the input bits in the same
// order (LSB first); it exits with status 1 otherwise.
#include <hwbnn/streams.hpp>

#include <iostream>
#include <string>
#include <vector>

constexpr unsigned IN_W = TB_IN_W;
constexpr unsigned OUT_W = TB_OUT_W;
constexpr unsigned IN_BEATS = TB_IN_BEATS;
typedef ap_uint<IN_W> in_t;
typedef ap_uint<OUT_W> out_t;

int main() {
  unsigned reps = 0;
  std::cin >> reps;
  std::vector<in_t> beats(reps * IN_BEATS);
  for (in_t &beat : beats) {
    std::string token;
    std::cin >> token;
    beat = in_t(token.c_str(), 16);
  }
  if (!std::cin) {
    std::cerr << "streams_tb: stdin ended early" << std::endl;
    return 2;
  }
  const unsigned total_bits = beats.size() * IN_W;

  hls::stream<in_t> in("in");
  hls::stream<out_t> out("out");
  for (const in_t &beat : beats) {
    in.write(beat);
  }
  hwbnn::convert_width<IN_W, OUT_W, IN_BEATS>(in, out, reps);
  if (!in.empty() || out.size() * OUT_W != total_bits) {
    std::cerr << "streams_tb: convert_width left " << in.size() << " beats unread and wrote "
              << out.size() << std::endl;
    return 1;
  }
  int status = 0;
  std::vector<out_t> converted;
  while (!out.empty()) {
    converted.push_back(out.read());
    std::cout << converted.back().to_string(16) << "\n";
  }
  for (unsigned bit = 0; bit < total_bits; bit++) {
    const int want = beats[bit / IN_W][bit % IN_W];
    const int got = converted[bit / OUT_W][bit % OUT_W];
    if (got != want && status == 0) {
      std::cerr << "streams_tb: convert_width bit " << bit << ": " << got << ", expected "
                << want << std::endl;
      status = 1;
    }
  }

  return status;
}
