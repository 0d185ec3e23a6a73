/// \file hwbnn.hpp
/// The hwbnn HLS library: streaming building blocks of binary neural network accelerators,
/// synthesizable with Vitis HLS and bit-exact in C simulation with g++ (C++14).
///
///  - products.hpp     XnorMul, IntBinaryProduct<INPUT_BITS>: input x bipolar weight
///  - activations.hpp  ThresholdActivation (hidden layers), PassThroughActivation (last layer)
///  - mvau.hpp         mvau(): folded matrix-vector-activation unit, PIXELS vectors per frame
///  - swg.hpp          sliding_window(): image stream to K x K windows (stride, padding)
///  - pool.hpp         pool_or(), max_pool(): OR max pooling of binary images
///  - threshold.hpp    threshold_input(): multi-bit input codes to bipolar bits
///  - streams.hpp      convert_width()
///  - dbf.hpp          dbf(): a Deterministic Binary Filter unit (fixed codes, integer alpha)
///  - graph.hpp        fork(), add_join(), concat(), threshold(): units of branching graphs
///  - interact.hpp     interact(): CI-BCNN channel interactions of a convolution's accumulators
#ifndef HWBNN_HWBNN_HPP
#define HWBNN_HWBNN_HPP

#include "activations.hpp"
#include "common.hpp"
#include "dbf.hpp"
#include "graph.hpp"
#include "interact.hpp"
#include "mvau.hpp"
#include "pool.hpp"
#include "products.hpp"
#include "streams.hpp"
#include "swg.hpp"
#include "threshold.hpp"

#endif  // HWBNN_HWBNN_HPP
