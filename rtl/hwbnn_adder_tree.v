// hwbnn_adder_tree: balanced, pipelined adder tree summing N operands (the MVAU's lane sums).
//
//   sum = in_data[0] + in_data[1] + ... + in_data[N-1]     (exact, SUM_WIDTH bits)
// with operand i at in_data[i*OPERAND_WIDTH +: OPERAND_WIDTH], unsigned (SIGNED = 0) or two's
// complement (SIGNED = 1); sum is unsigned or two's complement alike.
//
// Level 0 holds the N operands in OPERAND_WIDTH bits; level l holds the sums of pairs of level
// l-1 (an odd last node passes through, extended), ceil(N / 2^l) nodes of OPERAND_WIDTH + l bits
// each; level DEPTH = ceil(log2(N)) holds the sum, so SUM_WIDTH = OPERAND_WIDTH + DEPTH bits
// (no sum can overflow them). For 1-bit unsigned operands (XNOR bits) level 1 is written as
// {a & b, a ^ b}, one LUT per output bit.
//
// Pipeline: a register follows every LEVELS_PER_REG-th level but the last (levels
// LEVELS_PER_REG, 2*LEVELS_PER_REG, ... < DEPTH), REGS = floor((DEPTH - 1) / LEVELS_PER_REG)
// registers in all (0 when DEPTH <= LEVELS_PER_REG). sum is valid REGS clock cycles after
// in_data, counting only cycles with en high (en is the clock enable of every register; the
// whole tree stalls with it). With REGS = 0 the tree is combinational. The sum registers are
// not reset. A tag of TAG_WIDTH bits (a caller's valid bit and control word) travels alongside:
// tag is in_tag delayed by the same REGS enabled cycles, its registers reset to 0 by rst.
//
// Simulation model: with `HWBNN_FAST_POPCOUNT defined (the fast engine's Verilator build,
// hwbnn/sim/fast.py; never synthesis) 1-bit unsigned operands are summed at once by
// $countones and the sum delayed through REGS enabled registers: the same sum and tag on every
// cycle as the tree (tests/rtl/test_hwbnn_adder_tree.py checks both forms against one model),
// in a few word operations per 32 operands where Verilator evaluates the tree bit by bit.
`default_nettype none

module hwbnn_adder_tree #(
    parameter N              = 4,  // operands, at least 1
    parameter OPERAND_WIDTH  = 1,  // bits per operand, at least 1
    parameter SIGNED         = 0,  // 0: unsigned operands; 1: two's complement
    parameter LEVELS_PER_REG = 3,  // adder levels per pipeline register, at least 1
    parameter TAG_WIDTH      = 1,  // bits of the tag that travels alongside, at least 1
    // Derived, do not override (checked; a caller may pass them to state what it relies on):
    parameter SUM_WIDTH = OPERAND_WIDTH + ((N > 1) ? $clog2(N) : 0),  // bits of sum
    parameter REGS = ((N > 1) ? $clog2(N) : 0) > 0
                     ? (((N > 1) ? $clog2(N) : 0) - 1) / LEVELS_PER_REG : 0  // registers
) (
    /* verilator lint_off UNUSEDSIGNAL */  // clk, rst and en are unused when REGS = 0
    input  wire                         clk,
    input  wire                         rst,      // synchronous, active high: clears the tag
    input  wire                         en,       // clock enable of the pipeline registers
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [N*OPERAND_WIDTH-1:0]   in_data,  // the operands, operand 0 at the bottom
    input  wire [TAG_WIDTH-1:0]         in_tag,   // a tag of in_data
    output wire [SUM_WIDTH-1:0]         sum,      // their sum, REGS enabled cycles later
    output wire [TAG_WIDTH-1:0]         tag       // in_tag, REGS enabled cycles later
);
    localparam DEPTH = (N > 1) ? $clog2(N) : 0;  // adder levels

    // Parameter checks: see hwbnn_param_check.
    hwbnn_param_check #(.OK(N >= 1 && OPERAND_WIDTH >= 1),
        .RULE("N and OPERAND_WIDTH must be at least 1"),
        .NAME0("N"), .VALUE0(N), .NAME1("OPERAND_WIDTH"), .VALUE1(OPERAND_WIDTH)
    ) u_check_sizes ();
    hwbnn_param_check #(
        .OK((SIGNED == 0 || SIGNED == 1) && LEVELS_PER_REG >= 1 && TAG_WIDTH >= 1),
        .RULE("SIGNED must be 0 or 1, LEVELS_PER_REG and TAG_WIDTH at least 1"),
        .NAME0("SIGNED"), .VALUE0(SIGNED), .NAME1("LEVELS_PER_REG"), .VALUE1(LEVELS_PER_REG),
        .NAME2("TAG_WIDTH"), .VALUE2(TAG_WIDTH)
    ) u_check_mode ();
    hwbnn_param_check #(.OK(SUM_WIDTH == OPERAND_WIDTH + DEPTH
                            && REGS == ((DEPTH > 0) ? (DEPTH - 1) / LEVELS_PER_REG : 0)),
        .RULE("SUM_WIDTH and REGS are derived, do not override them"),
        .NAME0("SUM_WIDTH"), .VALUE0(SUM_WIDTH), .NAME1("REGS"), .VALUE1(REGS)
    ) u_check_derived ();

`ifdef HWBNN_FAST_POPCOUNT
    localparam WORD_POPCOUNT = (OPERAND_WIDTH == 1 && SIGNED == 0) ? 1 : 0;
`else
    localparam WORD_POPCOUNT = 0;
`endif

    genvar gl, gn;
    generate
        if (WORD_POPCOUNT != 0) begin : g_word
            /* verilator lint_off UNUSEDSIGNAL */  // a count needs at most SUM_WIDTH bits
            wire [31:0] count = $countones(in_data);
            /* verilator lint_on UNUSEDSIGNAL */
            hwbnn_delay #(.WIDTH(SUM_WIDTH), .STAGES(REGS), .RESET(0)) u_sum (.clk(clk),
                .rst(rst), .en(en), .in(count[SUM_WIDTH-1:0]), .out(sum));
        end else begin : g_tree
            for (gl = 0; gl <= DEPTH; gl = gl + 1) begin : g_level
                localparam NODES = (N + (1 << gl) - 1) >> gl;         // nodes of this level
                localparam GP    = (gl > 0) ? gl - 1 : 0;
                localparam NP    = (N + (1 << GP) - 1) >> GP;         // nodes of level l-1 (l > 0)
                localparam W     = OPERAND_WIDTH + gl;                // bits per node
                localparam WP    = OPERAND_WIDTH + gl - (gl > 0);     // bits per node of level l-1
                wire [NODES*W-1:0] v;  // node values
                wire [NODES*W-1:0] q;  // node values after the optional register
                if (gl == 0) begin : g_leaves
                    assign v = in_data;
                end else begin : g_sums
                    for (gn = 0; gn < NODES; gn = gn + 1) begin : g_node
                        // operands a, b, extended by one bit (the sign bit when SIGNED)
                        wire [WP-1:0] a = g_level[gl-1].q[(2*gn)*WP +: WP];
                        if (2 * gn + 1 < NP) begin : g_pair
                            wire [WP-1:0] b = g_level[gl-1].q[(2*gn+1)*WP +: WP];
                            if (OPERAND_WIDTH == 1 && SIGNED == 0 && gl == 1) begin : g_half_adder
                                assign v[gn*W +: W] = {a[0] & b[0], a[0] ^ b[0]};
                            end else begin : g_adder
                                wire ea = (SIGNED != 0) ? a[WP-1] : 1'b0;
                                wire eb = (SIGNED != 0) ? b[WP-1] : 1'b0;
                                assign v[gn*W +: W] = {ea, a} + {eb, b};
                            end
                        end else begin : g_single
                            wire ea = (SIGNED != 0) ? a[WP-1] : 1'b0;
                            assign v[gn*W +: W] = {ea, a};
                        end
                    end
                end
                if (gl > 0 && gl < DEPTH && gl % LEVELS_PER_REG == 0) begin : g_reg
                    reg [NODES*W-1:0] r;
                    always @(posedge clk) begin
                        if (en) begin
                            r <= v;
                        end
                    end
                    assign q = r;
                end else begin : g_wire
                    assign q = v;
                end
            end
            assign sum = g_level[DEPTH].q[SUM_WIDTH-1:0];
        end
    endgenerate

    // The tag, through REGS registers cleared by rst.
    hwbnn_delay #(.WIDTH(TAG_WIDTH), .STAGES(REGS), .RESET(1)) u_tag (.clk(clk), .rst(rst),
        .en(en), .in(in_tag), .out(tag));
endmodule

`default_nettype wire
