// C-simulation testbench of the graph units of hls/hwbnn/graph.hpp: hwbnn::fork, add_join,
// concat and threshold. One build holds every configuration of a test run, listed by the defines
// (X-macro lists, each X(...) the template arguments of one configuration):
//   TB_FORK        X(WIDTH, BEATS, OUTPUTS)
//   TB_ADD_JOIN    X(ELEMENTS, SIMD, A_BITS, A_BIPOLAR, B_BITS, B_BIPOLAR, OUT_BITS)
//   TB_CONCAT      X(C0, C1, SIMD, ELEM_BITS, PIXELS)
//   TB_THRESHOLD   X(C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE, THRESH_BITS, PIXELS)
// stdin (whitespace separated): the unit (fork, add_join, concat or threshold), the index of its
// configuration in its list, reps, then
//   fork:       reps*BEATS input beats in hex
//   add_join:   reps*ELEMENTS/SIMD beats of in0, then as many of in1, in hex
//   concat:     reps*PIXELS*C0/SIMD beats of in0, then reps*PIXELS*C1/SIMD beats of in1, in hex
//   threshold:  C*(SIDE+1)*STEPS thresholds in decimal, T[c][v][j] at (c*(SIDE+1) + v)*STEPS + j;
//               reps*PIXELS*C/SIMD data beats in hex; with SIDE, as many side beats in hex
// stdout: the output beats in hex, one a line (fork: every beat of output 0, then of output 1,
// ...).
// The testbench exits with status 1 when stdin ends early or a unit leaves input beats unread or
// writes a wrong number of output beats, and with status 2 for an unknown configuration.
#include <hwbnn/graph.hpp>

#include <iostream>
#include <string>
#include <type_traits>
#include <vector>

namespace {

bool fail(const char *unit, const char *what) {
  std::cerr << "graph_tb: " << unit << ": " << what << std::endl;
  return false;
}

// Reads `count` hex beats from stdin into `stream`; false if stdin ends early.
template <int W>
bool read_beats(hls::stream<ap_uint<W>> &stream, unsigned count) {
  for (unsigned i = 0; i < count; i++) {
    std::string token;
    if (!(std::cin >> token)) {
      return false;
    }
    stream.write(ap_uint<W>(token.c_str(), 16));
  }
  return true;
}

// Prints every beat of `stream`; false unless it held exactly `count`.
template <int W>
bool print_beats(hls::stream<ap_uint<W>> &stream, unsigned count) {
  const bool right = stream.size() == count;
  while (!stream.empty()) {
    std::cout << stream.read().to_string(16) << "\n";
  }
  return right;
}

template <unsigned WIDTH, unsigned BEATS>
using Word = typename hwbnn::ForkTypes<WIDTH, BEATS>::word_t;

// A fork to OUTPUTS consumers as generated tops render it: a chain of two-output forks, fork j
// writing output j and the next fork's input.
template <unsigned WIDTH, unsigned BEATS>
void run_fork(hls::stream<Word<WIDTH, BEATS>> &in, hls::stream<Word<WIDTH, BEATS>> *out,
              unsigned outputs, unsigned reps) {
  std::vector<hls::stream<Word<WIDTH, BEATS>>> links(outputs - 2);
  hls::stream<Word<WIDTH, BEATS>> *src = &in;
  for (unsigned j = 0; j + 1 < outputs; j++) {
    hls::stream<Word<WIDTH, BEATS>> &rest = j + 2 == outputs ? out[j + 1] : links[j];
    hwbnn::fork<WIDTH, BEATS>(*src, out[j], rest, reps);
    src = &rest;
  }
}

template <unsigned WIDTH, unsigned BEATS, unsigned OUTPUTS>
bool test_fork(unsigned reps) {
  hls::stream<Word<WIDTH, BEATS>> in("in");
  hls::stream<Word<WIDTH, BEATS>> out[OUTPUTS];
  if (!read_beats(in, reps * BEATS)) {
    return fail("fork", "stdin ended early");
  }
  run_fork<WIDTH, BEATS>(in, out, OUTPUTS, reps);
  bool ok = in.empty() || fail("fork", "input beats left unread");
  for (unsigned i = 0; i < OUTPUTS; i++) {
    ok = (print_beats(out[i], reps * BEATS) || fail("fork", "wrong output beat count")) && ok;
  }
  return ok;
}

template <unsigned ELEMENTS, unsigned SIMD, unsigned A_BITS, bool A_BIPOLAR, unsigned B_BITS,
          bool B_BIPOLAR, unsigned OUT_BITS>
bool test_add_join(unsigned reps) {
  typedef hwbnn::AddJoinTypes<ELEMENTS, SIMD, A_BITS, A_BIPOLAR, B_BITS, B_BIPOLAR, OUT_BITS> T;
  hls::stream<typename T::a_t> in0("in0");
  hls::stream<typename T::b_t> in1("in1");
  hls::stream<typename T::out_t> out("out");
  if (!read_beats(in0, reps * T::FOLD) || !read_beats(in1, reps * T::FOLD)) {
    return fail("add_join", "stdin ended early");
  }
  hwbnn::add_join<ELEMENTS, SIMD, A_BITS, A_BIPOLAR, B_BITS, B_BIPOLAR, OUT_BITS>(in0, in1, out,
                                                                                   reps);
  bool ok = (in0.empty() && in1.empty()) || fail("add_join", "input beats left unread");
  return (print_beats(out, reps * T::FOLD) || fail("add_join", "wrong output beat count")) && ok;
}

template <unsigned C0, unsigned C1, unsigned SIMD, unsigned ELEM_BITS, unsigned PIXELS>
bool test_concat(unsigned reps) {
  typedef hwbnn::ConcatTypes<C0, C1, SIMD, ELEM_BITS> T;
  hls::stream<typename T::word_t> in0("in0"), in1("in1"), out("out");
  if (!read_beats(in0, reps * PIXELS * T::CF0) || !read_beats(in1, reps * PIXELS * T::CF1)) {
    return fail("concat", "stdin ended early");
  }
  hwbnn::concat<C0, C1, SIMD, ELEM_BITS, PIXELS>(in0, in1, out, reps);
  bool ok = (in0.empty() && in1.empty()) || fail("concat", "input beats left unread");
  return (print_beats(out, reps * PIXELS * T::CF) || fail("concat", "wrong output beat count")) &&
         ok;
}

template <unsigned C, unsigned SIMD, unsigned IN_BITS, unsigned STEPS, unsigned SIDE,
          unsigned OUT_BITS, int OUT_BASE, unsigned THRESH_BITS, unsigned PIXELS, typename T,
          typename Table>
void run_threshold(hls::stream<typename T::in_t> &in, hls::stream<typename T::side_t> &,
                   hls::stream<typename T::out_t> &out, const Table &thresholds, unsigned reps,
                   std::integral_constant<unsigned, 0>) {
  hwbnn::threshold<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE, THRESH_BITS, PIXELS>(
      in, out, thresholds, reps);
}

template <unsigned C, unsigned SIMD, unsigned IN_BITS, unsigned STEPS, unsigned SIDE,
          unsigned OUT_BITS, int OUT_BASE, unsigned THRESH_BITS, unsigned PIXELS, typename T,
          typename Table>
void run_threshold(hls::stream<typename T::in_t> &in, hls::stream<typename T::side_t> &side,
                   hls::stream<typename T::out_t> &out, const Table &thresholds, unsigned reps,
                   std::integral_constant<unsigned, 1>) {
  hwbnn::threshold<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE, THRESH_BITS, PIXELS>(
      in, side, out, thresholds, reps);
}

template <unsigned C, unsigned SIMD, unsigned IN_BITS, unsigned STEPS, unsigned SIDE,
          unsigned OUT_BITS, int OUT_BASE, unsigned THRESH_BITS, unsigned PIXELS>
bool test_threshold(unsigned reps) {
  typedef hwbnn::ThresholdTypes<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE, THRESH_BITS> T;
  static typename T::table_t thresholds;
  for (unsigned c = 0; c < C; c++) {
    for (unsigned v = 0; v <= SIDE; v++) {
      for (unsigned j = 0; j < STEPS; j++) {
        long long t = 0;
        if (!(std::cin >> t)) {
          return fail("threshold", "stdin ended early");
        }
        thresholds[c % SIMD][c / SIMD][v][j] = t;
      }
    }
  }
  hls::stream<typename T::in_t> in("in");
  hls::stream<typename T::side_t> side("side");
  hls::stream<typename T::out_t> out("out");
  const unsigned beats = reps * PIXELS * T::CF;
  if (!read_beats(in, beats) || (SIDE == 1 && !read_beats(side, beats))) {
    return fail("threshold", "stdin ended early");
  }
  run_threshold<C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE, THRESH_BITS, PIXELS, T>(
      in, side, out, thresholds, reps, std::integral_constant<unsigned, SIDE>());
  bool ok = (in.empty() && side.empty()) || fail("threshold", "input beats left unread");
  return (print_beats(out, beats) || fail("threshold", "wrong output beat count")) && ok;
}

typedef bool (*Test)(unsigned reps);

#define X(...) &test_fork<__VA_ARGS__>,
const std::vector<Test> FORK_TESTS = {TB_FORK};
#undef X
#define X(...) &test_add_join<__VA_ARGS__>,
const std::vector<Test> ADD_JOIN_TESTS = {TB_ADD_JOIN};
#undef X
#define X(...) &test_concat<__VA_ARGS__>,
const std::vector<Test> CONCAT_TESTS = {TB_CONCAT};
#undef X
#define X(...) &test_threshold<__VA_ARGS__>,
const std::vector<Test> THRESHOLD_TESTS = {TB_THRESHOLD};
#undef X

}  // namespace

int main() {
  std::string unit;
  unsigned index = 0, reps = 0;
  std::cin >> unit >> index >> reps;
  const std::vector<Test> *tests = unit == "fork"        ? &FORK_TESTS
                                   : unit == "add_join"  ? &ADD_JOIN_TESTS
                                   : unit == "concat"    ? &CONCAT_TESTS
                                   : unit == "threshold" ? &THRESHOLD_TESTS
                                                         : nullptr;
  if (!std::cin || tests == nullptr || index >= tests->size()) {
    std::cerr << "graph_tb: no configuration " << index << " of unit '" << unit << "'"
              << std::endl;
    return 2;
  }
  return (*tests)[index](reps) ? 0 : 1;
}
