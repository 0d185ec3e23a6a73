// The stream plumbing shared by the C-simulation testbenches of single-stream units
// (pool_tb.cpp, majority_tb.cpp, swg_tb.cpp): the input beats come on stdin in hex, the output
// beats go to stdout in hex, one a line, after the unit has been checked to read all of its
// input and to write the expected number of beats.
#ifndef HWBNN_TESTS_STREAM_TB_HPP
#define HWBNN_TESTS_STREAM_TB_HPP

#include <hls_stream.h>

#include <iostream>
#include <string>

namespace tb {

/// Reads `beats` words in hex from stdin into `in`; false (with a message naming the testbench
/// `name`) when stdin ends early.
template <typename word_t>
bool read_beats(hls::stream<word_t> &in, unsigned beats, const char *name) {
  for (unsigned i = 0; i < beats; i++) {
    std::string token;
    std::cin >> token;
    in.write(word_t(token.c_str(), 16));
  }
  if (!std::cin) {
    std::cerr << name << ": stdin ended early" << std::endl;
    return false;
  }
  return true;
}

/// After the unit ran: 1 (with a message naming the testbench `name`) when it left input
/// unread or wrote other than `beats` words, else 0 after printing its output in hex.
template <typename in_t, typename out_t>
int write_beats(hls::stream<in_t> &in, hls::stream<out_t> &out, unsigned beats,
                const char *name) {
  if (!in.empty()) {
    std::cerr << name << ": " << in.size() << " input beats left unread" << std::endl;
    return 1;
  }
  if (out.size() != beats) {
    std::cerr << name << ": " << out.size() << " output beats, expected " << beats << std::endl;
    return 1;
  }
  while (!out.empty()) {
    std::cout << out.read().to_string(16) << "\n";
  }
  return 0;
}

}  // namespace tb

#endif  // HWBNN_TESTS_STREAM_TB_HPP
