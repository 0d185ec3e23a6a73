// hwbnn_mvau_half: one PE's XNOR-popcount with constant one-word weights ROW, from the count of
// its sparser half and the count S of all inputs (shared by the PEs), REGS enabled cycles after
// x (S must arrive with the same delay, from a register; the half's count is registered at
// least once after its last adder level, so the combination below has a cycle of its own):
//   sum = 2*P - S + n0,  P  = #{s : ROW_s = 1, x_s = 1}   when n1 <= n0, else
//   sum = S - 2*P' + n0, P' = #{s : ROW_s = 0, x_s = 1}   (n1 / n0: ones / zeros of ROW).
// The counted lanes are gathered by a table built from ROW at elaboration; from 64 lanes the
// count is padded with zero lanes to a multiple of 8, so PEs share its module.
`default_nettype none

module hwbnn_mvau_half #(
    parameter SIMD           = 16,  // lanes
    parameter [SIMD-1:0] ROW = 0,   // the PE's weights (1: +1, 0: -1)
    parameter LEVELS_PER_REG = 3,   // adder levels per pipeline register
    parameter REGS           = 1,   // registers from x to sum (more than those of the count)
    // Derived, do not override:
    parameter COUNT_WIDTH    = ((SIMD > 1) ? $clog2(SIMD) : 0) + 1  // bits of a count 0..SIMD
) (
    /* verilator lint_off UNUSEDSIGNAL */  // a row of one sign (K = 0) counts nothing
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   en,      // clock enable of every register
    input  wire [SIMD-1:0]        x,       // the inputs
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [COUNT_WIDTH-1:0] x_ones,  // S, REGS cycles after x
    output wire [COUNT_WIDTH-1:0] sum      // the XNOR-popcount, REGS cycles after x
);
    localparam IW = (SIMD > 1) ? $clog2(SIMD) : 1;  // bits of a lane index

    function [SIMD*IW-1:0] ones_table(input [SIMD-1:0] m);
        integer i, k;
        begin
            ones_table = {(SIMD * IW){1'b0}};
            k = 0;
            for (i = 0; i < SIMD; i = i + 1) begin
                if (m[i]) begin
                    ones_table[k*IW +: IW] = i[IW-1:0];
                    k = k + 1;
                end
            end
        end
    endfunction
    function integer ones(input [SIMD-1:0] m);
        integer i;
        begin
            ones = 0;
            for (i = 0; i < SIMD; i = i + 1) ones = ones + m[i];
        end
    endfunction

    localparam N1 = ones(ROW);                   // weights +1
    localparam N0 = SIMD - N1;                   // weights -1
    localparam POS = (N1 <= N0) ? 1 : 0;         // count the +1 half
    localparam K = (POS != 0) ? N1 : N0;         // lanes counted
    localparam [SIMD-1:0] MASK = (POS != 0) ? ROW : ~ROW;
    localparam [SIMD*IW-1:0] TABLE = ones_table(MASK);
    localparam KN = (K >= 64) ? (K + 7) / 8 * 8 : K;  // lanes of the count
    localparam KREGS = (KN > 1) ? ($clog2(KN) - 1) / LEVELS_PER_REG : 0;  // the count's

    hwbnn_param_check #(.OK(REGS > KREGS),
        .RULE("REGS must exceed the registers of the half's count (the combination's own cycle)"),
        .NAME0("REGS"), .VALUE0(REGS), .NAME1("KREGS"), .VALUE1(KREGS)) u_check_regs ();

    wire [COUNT_WIDTH-1:0] part;  // P or P'
    genvar gn;
    generate
        if (K == 0) begin : g_none
            assign part = {COUNT_WIDTH{1'b0}};
        end else begin : g_count
            wire [KN-1:0] picked;  // the half's inputs, then zero lanes
            for (gn = 0; gn < KN; gn = gn + 1) begin : g_pick
                if (gn < K) begin : g_in
                    assign picked[gn] = x[TABLE[gn*IW +: IW]];
                end else begin : g_zero
                    assign picked[gn] = 1'b0;
                end
            end
            localparam CW = ((KN > 1) ? $clog2(KN) : 0) + 1;  // bits of the count
            wire [CW-1:0] count, late;
            /* verilator lint_off UNUSEDSIGNAL */
            wire unused_tag;  // the shared count carries the tag
            /* verilator lint_on UNUSEDSIGNAL */
            hwbnn_popcount #(.N(KN), .LEVELS_PER_REG(LEVELS_PER_REG), .CONST_A(1),
                .A_ROWS({(2 * KN){1'b1}})
            ) u_part (.clk(clk), .rst(rst), .en(en), .in_a({KN{1'b0}}), .in_sel(1'b0),
                .in_b(picked), .in_tag(1'b0), .sum(count), .tag(unused_tag));
            hwbnn_delay #(.WIDTH(CW), .STAGES(REGS - KREGS)) u_align (
                .clk(clk), .rst(rst), .en(en), .in(count), .out(late));
            assign part = {{(COUNT_WIDTH - CW){1'b0}}, late};
        end
    endgenerate
    // 2P - S + n0 or S - 2P' + n0, in COUNT_WIDTH + 2 signed bits (in 0..SIMD)
    localparam integer BASE = N0;
    wire signed [COUNT_WIDTH+1:0] p2 = $signed({1'b0, part, 1'b0});
    wire signed [COUNT_WIDTH+1:0] s  = $signed({2'b00, x_ones});
    wire signed [COUNT_WIDTH+1:0] b  = BASE[COUNT_WIDTH+1:0];
    /* verilator lint_off UNUSEDSIGNAL */  // v is in 0..SIMD: its top bits are 0
    wire signed [COUNT_WIDTH+1:0] v  = (POS != 0) ? p2 - s + b : s - p2 + b;
    /* verilator lint_on UNUSEDSIGNAL */
    assign sum = v[COUNT_WIDTH-1:0];
endmodule

`default_nettype wire
