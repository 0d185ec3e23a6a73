// hwbnn_popcount_cell: one 4-input, 2-output cell of hwbnn_popcount's full-adder tree.
//
//   out = {carry, sum} of three one-bit terms (sum = parity, carry = majority):
//     KIND 0: xnor(in[0], in[1]), xnor(in[2], in[3]) and 0   (two XNOR lanes: a half adder)
//     KIND 1: in[0], in[1] and xnor(in[2], in[3])            (two bits and an XNOR lane)
//     KIND 2: a half adder's {in[1], in[0]} = {g, p} plus xnor(in[2], in[3]):
//             out = {g | (p & l), p ^ l}                      (the third lane of a node)
//     KIND 3: in[0], in[1], in[2] (in[3] unused)              (a full adder)
//   Lanes with constant weights (hwbnn_popcount's CONST_A): lane k is
//   l_k = xnor(x_k, W[3*s + k]), its weight picked from the parameter W by the select s:
//     KIND 4: l_0, l_1, l_2 with x_k = in[k], s = in[3]      (three lanes: a full adder)
//     KIND 5: in[0], in[1] and l_0 with x_0 = in[2], s = in[3]  (W[0] and W[3] only)
// Each output is a function of at most 4 inputs, one LUT4 (a constant-weight lane takes one
// input, so a full adder of three lanes fits: 2 LUT4 per three lanes instead of 4). The module is kept as a unit
// (keep_hierarchy), so the LUT mapper neither merges cells nor duplicates their logic: a tree
// of N lanes costs 2 LUT4 per cell, its XNORs absorbed.
`default_nettype none

(* keep_hierarchy *)
module hwbnn_popcount_cell #(
    parameter KIND = 1,            // the cell's function (above), 0..5
    parameter W    = 0  // KIND 4 and 5, 6 bits: lane k's weight at select s is W[3*s + k]
) (
    /* verilator lint_off UNUSEDSIGNAL */  // in[3] is unused by KIND 3, W by KIND 0..3
    input  wire [3:0] in,   // the cell's inputs
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [1:0] out   // {carry, sum}
);
    generate
        if (KIND == 0) begin : g_lanes
            wire a = ~(in[0] ^ in[1]);
            wire b = ~(in[2] ^ in[3]);
            assign out = {a & b, a ^ b};
        end else if (KIND == 1) begin : g_bits_lane
            wire l = ~(in[2] ^ in[3]);
            assign out = {(in[0] & in[1]) | (l & (in[0] ^ in[1])), in[0] ^ in[1] ^ l};
        end else if (KIND == 2) begin : g_half_lane
            wire l = ~(in[2] ^ in[3]);
            assign out = {in[1] | (in[0] & l), in[0] ^ l};
        end else if (KIND == 3) begin : g_full
            assign out = {(in[0] & in[1]) | (in[2] & (in[0] ^ in[1])), in[0] ^ in[1] ^ in[2]};
        end else if (KIND == 4) begin : g_const_lanes
            wire [2:0] w = in[3] ? W[5:3] : W[2:0];
            wire [2:0] l = ~(in[2:0] ^ w);
            assign out = {(l[0] & l[1]) | (l[2] & (l[0] ^ l[1])), l[0] ^ l[1] ^ l[2]};
        end else begin : g_bits_const_lane
            wire l = ~(in[2] ^ (in[3] ? W[3] : W[0]));
            assign out = {(in[0] & in[1]) | (l & (in[0] ^ in[1])), in[0] ^ in[1] ^ l};
        end
    endgenerate
endmodule

`default_nettype wire
