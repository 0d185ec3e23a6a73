// hwbnn_compare_ge: ge = (a >= b), unsigned or two's complement, as an adder or as gates.
//
//   GATES = 0: ">=" (synthesis makes a subtractor: one carry chain).
//   GATES = 1: a ripple of and/or/xor from the lowest bit, ge_k = a[k-1:0] >= b[k-1:0]:
//     ge_(k+1) = (a_k & ~b_k) | (~(a_k ^ b_k) & ge_k),  ge_0 = 1,
//   for a b that is a constant after synthesis (a threshold of one word): synthesis folds
//   the ripple into a LUT function of a's bits (about 3 LUT4 for 9 bits), where ">=" stays a
//   carry chain per compare (5 CCU2C on ECP5 for 9 bits, and nextpnr-ecp5 adds one at each
//   end of a chain whose result is its carry out). With a b that varies, ">=" is cheaper.
// SIGNED = 1 compares two's complement values: the sign bits inverted, an unsigned compare.
`default_nettype none

module hwbnn_compare_ge #(
    parameter WIDTH  = 8,  // bits of a and b, at least 1
    parameter SIGNED = 0,  // 1: two's complement
    parameter GATES  = 0   // 1: and/or/xor (for a constant b), 0: ">="
) (
    input  wire [WIDTH-1:0] a,
    input  wire [WIDTH-1:0] b,
    output wire             ge
);
    hwbnn_param_check #(.OK(WIDTH >= 1 && (SIGNED == 0 || SIGNED == 1)
                            && (GATES == 0 || GATES == 1)),
        .RULE("WIDTH must be at least 1, SIGNED and GATES 0 or 1"), .NAME0("WIDTH"),
        .VALUE0(WIDTH), .NAME1("SIGNED"), .VALUE1(SIGNED), .NAME2("GATES"), .VALUE2(GATES)
    ) u_check ();

    localparam [WIDTH-1:0] FLIP = (SIGNED != 0) ? ~({WIDTH{1'b1}} >> 1) : {WIDTH{1'b0}};  // sign
    wire [WIDTH-1:0] ua = a ^ FLIP;  // offset binary: the same order, unsigned
    wire [WIDTH-1:0] ub = b ^ FLIP;
    genvar gk;
    generate
        if (GATES != 0) begin : g_gates
            wire [WIDTH:0] r;  // r[k]: ua[k-1:0] >= ub[k-1:0] (all equal: true)
            assign r[0] = 1'b1;
            for (gk = 0; gk < WIDTH; gk = gk + 1) begin : g_bit
                assign r[gk+1] = (ua[gk] & ~ub[gk]) | (~(ua[gk] ^ ub[gk]) & r[gk]);
            end
            assign ge = r[WIDTH];
        end else begin : g_adder
            assign ge = ua >= ub;
        end
    endgenerate
endmodule

`default_nettype wire
