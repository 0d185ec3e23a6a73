// hwbnn_popcount_cell: one 4-input, 2-output cell of hwbnn_popcount's full-adder tree.
//
//   out = {carry, sum} of three one-bit terms (sum = parity, carry = majority):
//     KIND 0: xnor(in[0], in[1]), xnor(in[2], in[3]) and 0   (two XNOR lanes: a half adder)
//     KIND 1: in[0], in[1] and xnor(in[2], in[3])            (two bits and an XNOR lane)
//     KIND 2: a half adder's {in[1], in[0]} = {g, p} plus xnor(in[2], in[3]):
//             out = {g | (p & l), p ^ l}                      (the third lane of a node)
//     KIND 3: in[0], in[1], in[2] (in[3] unused)              (a full adder)
// Each output is a function of at most 4 inputs, one LUT4. The module is kept as a unit
// (keep_hierarchy), so the LUT mapper neither merges cells nor duplicates their logic: a tree
// of N lanes costs 2 LUT4 per cell, its XNORs absorbed.
`default_nettype none

(* keep_hierarchy *)
module hwbnn_popcount_cell #(
    parameter KIND = 1  // the cell's function (above), 0..3
) (
    /* verilator lint_off UNUSEDSIGNAL */  // in[3] is unused by KIND 3
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
        end else begin : g_full
            assign out = {(in[0] & in[1]) | (in[2] & (in[0] ^ in[1])), in[0] ^ in[1] ^ in[2]};
        end
    endgenerate
endmodule

`default_nettype wire
