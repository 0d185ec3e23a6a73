// C-simulation testbench of hwbnn::mvau, configured by the defines
//   TB_MW, TB_MH, TB_PE, TB_SIMD  sizes
//   TB_PRODUCT                    hwbnn::XnorMul or hwbnn::IntBinaryProduct<B>
//   TB_ACTIVATION                 hwbnn::ThresholdActivation or hwbnn::PassThroughActivation
//   TB_PIXELS                     vectors per frame (optional; without it mvau's default, 1)
// stdin (whitespace separated):
//   reps; PE*WMEM weight words in hex, lane p's words in order; for ThresholdActivation PE*NF
//   thresholds in decimal, lane p's in order; reps*PIXELS*SF input beats in hex.
// stdout: the reps*PIXELS*NF output words in hex, one a line.
// The testbench also checks every channel against a plain loop over the unpacked data and exits
// with status 1 on a difference.
#include <hwbnn/mvau.hpp>

#include <iostream>
#include <string>
#include <type_traits>
#include <vector>

constexpr unsigned MW = TB_MW;
constexpr unsigned MH = TB_MH;
constexpr unsigned PE = TB_PE;
constexpr unsigned SIMD = TB_SIMD;
typedef TB_PRODUCT PRODUCT;
typedef TB_ACTIVATION ACTIVATION;
#ifdef TB_PIXELS
constexpr unsigned PIXELS = TB_PIXELS;
#define TB_MVAU_ARGS MW, MH, PE, SIMD, PRODUCT, Act, PIXELS
#else
constexpr unsigned PIXELS = 1;  // the default of mvau's PIXELS
#define TB_MVAU_ARGS MW, MH, PE, SIMD, PRODUCT, Act
#endif
typedef hwbnn::MvauTypes<MW, MH, PE, SIMD, PRODUCT, ACTIVATION> Types;
typedef Types::in_t in_t;
typedef Types::out_t out_t;
constexpr bool BINARY_INPUT = std::is_same<PRODUCT, hwbnn::XnorMul>::value;
constexpr unsigned IB = PRODUCT::INPUT_BITS;
constexpr unsigned OB = Types::OUT_BITS;

static ap_uint<SIMD> weights[PE][Types::WMEM];
static Types::threshold_t thresholds[PE][Types::NF];

template <unsigned W>
static ap_uint<W> read_hex(std::istream &is) {
  std::string token;
  is >> token;
  return ap_uint<W>(token.c_str(), 16);
}

template <typename Act>
static void run_dut(hls::stream<in_t> &in, hls::stream<out_t> &out, unsigned reps,
                    std::true_type /*has thresholds*/) {
  hwbnn::mvau<TB_MVAU_ARGS>(in, out, weights, thresholds, reps);
}

template <typename Act>
static void run_dut(hls::stream<in_t> &in, hls::stream<out_t> &out, unsigned reps,
                    std::false_type /*has thresholds*/) {
  hwbnn::mvau<TB_MVAU_ARGS>(in, out, weights, reps);
}

// Channel c of vector r computed by a plain loop over the unpacked weights and inputs.
static long long reference(const std::vector<in_t> &beats, unsigned r, unsigned c) {
  long long acc = 0;
  for (unsigned i = 0; i < MW; i++) {
    const int w = weights[c % PE][(c / PE) * Types::SF + i / SIMD][i % SIMD];
    const in_t &beat = beats[r * Types::SF + i / SIMD];
    const long long k = beat.range((i % SIMD) * IB + IB - 1, (i % SIMD) * IB).to_uint64();
    if (BINARY_INPUT) {
      acc += (k == w) ? 1 : 0;
    } else {
      acc += w ? k : -k;
    }
  }
  if (ACTIVATION::HAS_THRESHOLDS) {
    return acc >= thresholds[c % PE][c / PE].to_int64() ? 1 : 0;
  }
  return BINARY_INPUT ? 2 * acc - MW : acc;
}

int main() {
  unsigned reps = 0;
  std::cin >> reps;
  for (unsigned p = 0; p < PE; p++) {
    for (unsigned j = 0; j < Types::WMEM; j++) {
      weights[p][j] = read_hex<SIMD>(std::cin);
    }
  }
  if (ACTIVATION::HAS_THRESHOLDS) {
    for (unsigned p = 0; p < PE; p++) {
      for (unsigned nf = 0; nf < Types::NF; nf++) {
        long long t;
        std::cin >> t;
        thresholds[p][nf] = t;
      }
    }
  }
  const unsigned vectors = reps * PIXELS;
  std::vector<in_t> beats(vectors * Types::SF);
  for (in_t &beat : beats) {
    beat = read_hex<SIMD * IB>(std::cin);
  }
  if (!std::cin) {
    std::cerr << "mvau_tb: stdin ended early" << std::endl;
    return 2;
  }

  hls::stream<in_t> in("in");
  hls::stream<out_t> out("out");
  for (const in_t &beat : beats) {
    in.write(beat);
  }
  run_dut<ACTIVATION>(in, out, reps,
                      std::integral_constant<bool, ACTIVATION::HAS_THRESHOLDS>());

  int status = 0;
  if (!in.empty()) {
    std::cerr << "mvau_tb: " << in.size() << " input beats left unread" << std::endl;
    status = 1;
  }
  if (out.size() != vectors * Types::NF) {
    std::cerr << "mvau_tb: " << out.size() << " output words, expected " << vectors * Types::NF
              << std::endl;
    return 1;
  }
  for (unsigned r = 0; r < vectors; r++) {
    for (unsigned nf = 0; nf < Types::NF; nf++) {
      const out_t word = out.read();
      std::cout << word.to_string(16) << "\n";
      for (unsigned p = 0; p < PE; p++) {
        const ap_uint<OB> field = word.range(p * OB + OB - 1, p * OB);
        const long long got =
            ACTIVATION::HAS_THRESHOLDS ? field.to_int64() : ap_int<OB>(field).to_int64();
        const long long want = reference(beats, r, nf * PE + p);
        if (got != want && status == 0) {
          std::cerr << "mvau_tb: vector " << r << " channel " << nf * PE + p << ": dut " << got
                    << ", plain loop " << want << std::endl;
          status = 1;
        }
      }
    }
  }
  return status;
}
