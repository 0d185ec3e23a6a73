// hwbnn_popcount: XNOR popcount of two N-bit words in a pipelined full-adder tree.
//
//   sum = #{i : in_a[i] == in_b[i]}          (0..N, SUM_WIDTH = ceil(log2(N)) + 1 bits)
//
// Structure: the lanes are split into K leaves and one carry-in lane per node of every level:
// level l (1..DEPTH) has ceil(K / 2^l) nodes, node j the sum of nodes 2j and 2j+1 of level
// l-1 and of one lane (a full adder per bit, the lane as the carry-in), in l+1 bits. K is the
// fewest leaves whose levels take all N lanes (about N/2), DEPTH = ceil(log2(K)). Level 1
// and the levels below CHAIN_LEVEL are hwbnn_popcount_cell full adders (2 LUT4 per bit, the
// lane's XNOR absorbed: 4 LUT4 per three lanes on level 1); the levels from CHAIN_LEVEL up
// are two-operand additions {a, c} + {b, c} (the carry-in c below both operands), one carry
// chain each on an FPGA (ECP5 CCU2C), c's XNOR in one LUT.
//
// Pipeline, as hwbnn_adder_tree's with the same N and LEVELS_PER_REG: REGS =
// floor((ceil(log2(N)) - 1) / LEVELS_PER_REG) registers (REGS*LEVELS_PER_REG <= DEPTH always),
// the first after level LEVELS_PER_REG, register k after level LEVELS_PER_REG +
// ceil((DEPTH - LEVELS_PER_REG)*(k-1)/REGS) (the carry-chain levels shared evenly); sum is
// valid REGS enabled cycles after the operands; tag is in_tag delayed alike, its registers
// reset by rst.
//
// Constant weights (CONST_A = 1): the first operands are not a port but the parameter A_ROWS,
// row in_sel: in_a[i] = A_ROWS[in_sel*N + i] (in_a is unused). A lane then takes two signals
// (x and the select), so level 1 is one full adder of three lanes (KIND 4 cells, 2 LUT4 per
// three lanes) and the XNOR of a carry-in lane folds into its cell or its LUT: the count needs
// about a third fewer LUT4 (synthesis folds in_sel away when both rows are equal).
//
// Simulation model: with `HWBNN_FAST_POPCOUNT defined (the fast engine's Verilator build)
// the count is $countones of the XNOR word, delayed through REGS enabled registers: the same
// sum and tag on every cycle (tests/rtl/test_hwbnn_popcount.py checks both forms).
`default_nettype none

module hwbnn_popcount #(
    parameter N              = 64,  // lanes, at least 1
    parameter LEVELS_PER_REG = 3,   // adder levels per pipeline register, at least 1
    parameter TAG_WIDTH      = 1,   // bits of the tag that travels alongside, at least 1
    parameter CHAIN_LEVEL    = 4,   // levels from this one (at least 2) up: carry-chain sums
    parameter CONST_A        = 0,   // 1: the first operands are row in_sel of A_ROWS (above)
    parameter [2*N-1:0] A_ROWS = {(2 * N){1'b0}},  // CONST_A: {row 1, row 0}, N bits each
    // Derived, do not override (checked):
    parameter SUM_WIDTH = ((N > 1) ? $clog2(N) : 0) + 1,  // bits of sum
    parameter REGS = ((N > 1) ? $clog2(N) : 0) > 0
                     ? (((N > 1) ? $clog2(N) : 0) - 1) / LEVELS_PER_REG : 0  // registers
) (
    /* verilator lint_off UNUSEDSIGNAL */  // clk, rst and en are unused when REGS = 0
    input  wire                 clk,
    input  wire                 rst,      // synchronous, active high: clears the tag
    input  wire                 en,       // clock enable of the pipeline registers
    /* verilator lint_on UNUSEDSIGNAL */
    /* verilator lint_off UNUSEDSIGNAL */  // in_a is unused with CONST_A, in_sel without
    input  wire [N-1:0]         in_a,     // the lanes' first operands (CONST_A = 0)
    input  wire                 in_sel,   // the row of A_ROWS (CONST_A = 1)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [N-1:0]         in_b,     // the lanes' second operands
    input  wire [TAG_WIDTH-1:0] in_tag,   // a tag of the operands
    output wire [SUM_WIDTH-1:0] sum,      // the lanes whose operands are equal, REGS cycles later
    output wire [TAG_WIDTH-1:0] tag       // in_tag, REGS enabled cycles later
);
    localparam LOG_N = (N > 1) ? $clog2(N) : 0;
    localparam [N-1:0] A0 = A_ROWS[N-1:0];    // CONST_A: the first operands at in_sel = 0
    localparam [N-1:0] A1 = A_ROWS[2*N-1:N];  // and at in_sel = 1
    // The lanes' first operands: in_a, or in_sel on every lane (a lane then holds {x, in_sel}).
    wire [N-1:0] a_in = (CONST_A != 0) ? {N{in_sel}} : in_a;
    // the lanes' XNORs on the word (the fast model and a tree of one lane)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [N-1:0] xnor_word = (CONST_A != 0) ? ~((in_sel ? A1 : A0) ^ in_b) : ~(in_a ^ in_b);
    /* verilator lint_on UNUSEDSIGNAL */

    // first carry-in lane of level l of a tree with k leaves (level DEPTH+1: lanes it takes)
    function integer lane_offset(input integer k, input integer level);
        integer m;
        begin
            lane_offset = k;
            for (m = 1; m < level; m = m + 1) begin
                lane_offset = lane_offset + ((k + (1 << m) - 1) >> m);
            end
        end
    endfunction
    // the fewest leaves whose tree takes n lanes
    function integer leaves(input integer n);
        integer k;
        begin
            leaves = 0;
            for (k = n; k >= 1; k = k - 1) begin
                if (lane_offset(k, ((k > 1) ? $clog2(k) : 0) + 1) >= n) leaves = k;
            end
        end
    endfunction
    localparam K     = leaves(N);
    localparam DEPTH = (K > 1) ? $clog2(K) : 0;
    // whether a register follows level l: the first after level lpr, the others spread evenly
    // over the levels above it (lpr*regs <= depth, so they fall on distinct levels)
    function integer register_after(input integer l, input integer lpr, input integer depth,
                                    input integer regs);
        integer k;
        begin
            register_after = 0;
            for (k = 1; k <= regs; k = k + 1) begin
                if (l == lpr + ((depth - lpr) * (k - 1) + regs - 1) / regs) register_after = 1;
            end
        end
    endfunction

    hwbnn_param_check #(.OK(N >= 1 && LEVELS_PER_REG >= 1 && TAG_WIDTH >= 1),
        .RULE("N, LEVELS_PER_REG and TAG_WIDTH must be at least 1"),
        .NAME0("N"), .VALUE0(N), .NAME1("LEVELS_PER_REG"), .VALUE1(LEVELS_PER_REG),
        .NAME2("TAG_WIDTH"), .VALUE2(TAG_WIDTH)
    ) u_check_sizes ();
    // (an internal invariant: REGS registers on levels 1..DEPTH)
    function integer registers_placed(input integer dummy);
        integer l;
        begin
            registers_placed = dummy;
            for (l = 1; l <= DEPTH; l = l + 1) begin
                registers_placed = registers_placed
                                   + register_after(l, LEVELS_PER_REG, DEPTH, REGS);
            end
        end
    endfunction
    hwbnn_param_check #(.OK(registers_placed(0) == REGS),
        .RULE("the tree's registers must fall on distinct levels"),
        .NAME0("N"), .VALUE0(N), .NAME1("LEVELS_PER_REG"), .VALUE1(LEVELS_PER_REG)
    ) u_check_registers ();
    hwbnn_param_check #(.OK(CHAIN_LEVEL >= 2), .RULE("CHAIN_LEVEL must be at least 2"),
        .NAME0("CHAIN_LEVEL"), .VALUE0(CHAIN_LEVEL)) u_check_chain ();
    hwbnn_param_check #(.OK(CONST_A == 0 || CONST_A == 1), .RULE("CONST_A must be 0 or 1"),
        .NAME0("CONST_A"), .VALUE0(CONST_A)) u_check_const ();
    hwbnn_param_check #(.OK(SUM_WIDTH == LOG_N + 1
                            && REGS == ((LOG_N > 0) ? (LOG_N - 1) / LEVELS_PER_REG : 0)),
        .RULE("SUM_WIDTH and REGS are derived, do not override them"),
        .NAME0("SUM_WIDTH"), .VALUE0(SUM_WIDTH), .NAME1("REGS"), .VALUE1(REGS)
    ) u_check_derived ();

    genvar gl, gn, gb;
    generate
`ifdef HWBNN_FAST_POPCOUNT
        if (1) begin : g_word
            /* verilator lint_off UNUSEDSIGNAL */  // a count needs at most SUM_WIDTH bits
            wire [31:0] count = $countones(xnor_word);
            /* verilator lint_on UNUSEDSIGNAL */
            hwbnn_delay #(.WIDTH(SUM_WIDTH), .STAGES(REGS), .RESET(0)) u_sum (.clk(clk),
                .rst(rst), .en(en), .in(count[SUM_WIDTH-1:0]), .out(sum));
        end
`else
        if (1) begin : g_tree
            for (gl = 0; gl <= DEPTH; gl = gl + 1) begin : g_level
                localparam NODES = (K + (1 << gl) - 1) >> gl;           // nodes of this level
                localparam GP    = (gl > 0) ? gl - 1 : 0;
                localparam NP    = (K + (1 << GP) - 1) >> GP;           // nodes of level l-1
                localparam W     = gl + 1;                              // bits per node
                localparam WP    = (gl > 0) ? gl : 1;                   // bits per node of l-1
                localparam OFF   = lane_offset(K, gl);                  // first carry-in lane
                // (level 0's v and q are unused unless N = 1: level 1 reads its lanes from ra
                // and rb; the lanes of lower levels are unused above them)
                /* verilator lint_off UNUSEDSIGNAL */
                wire [NODES*W-1:0] v;  // node values
                wire [NODES*W-1:0] q;  // node values after the optional register
                wire [N-1:0] ra, rb;   // the lanes' operands after the registers so far
                /* verilator lint_on UNUSEDSIGNAL */
                if (gl == 0) begin : g_leaves
                    // a leaf is its lane's operands (level 1 reads them from ra, rb); its XNOR
                    // is the sum of a tree of one lane
                    assign v = xnor_word[NODES-1:0];
                end else begin : g_sums
                    for (gn = 0; gn < NODES; gn = gn + 1) begin : g_node
                        localparam HAS_B = (2 * gn + 1 < NP) ? 1 : 0;  // a second node
                        localparam HAS_C = (OFF + gn < N) ? 1 : 0;     // a carry-in lane
                        localparam LA = 2 * gn;
                        localparam LB = (HAS_B != 0) ? 2 * gn + 1 : 0;
                        localparam LC = (HAS_C != 0) ? OFF + gn : 0;
                        /* verilator lint_off UNUSEDSIGNAL */  // without a lane: unused
                        wire [1:0] lc = {g_level[gl-1].rb[LC], g_level[gl-1].ra[LC]};
                        /* verilator lint_on UNUSEDSIGNAL */
                        // CONST_A: lane k's weights {at select 1, at 0}; an absent lane is
                        // x = 0 with weight 1 at both selects, so it counts 0
                        localparam [1:0] WA = {A1[LA], A0[LA]};
                        localparam [1:0] WB = (HAS_B != 0) ? {A1[LB], A0[LB]} : 2'b11;
                        localparam [1:0] WC = (HAS_C != 0) ? {A1[LC], A0[LC]} : 2'b11;
                        if (gl == 1 && CONST_A != 0) begin : g_first_const
                            // three constant-weight lanes: one full adder (KIND 4)
                            wire xb = (HAS_B != 0) ? g_level[0].rb[LB] : 1'b0;
                            wire xc = (HAS_C != 0) ? lc[1] : 1'b0;
                            hwbnn_popcount_cell #(.KIND(4),
                                .W({WC[1], WB[1], WA[1], WC[0], WB[0], WA[0]})
                            ) u_abc (.in({g_level[0].ra[LA], xc, xb, g_level[0].rb[LA]}),
                                .out(v[gn*W +: W]));
                        end else if (gl == 1) begin : g_first
                            // three lanes: a half adder of a, b, then the third lane
                            wire [1:0] la = {g_level[0].rb[LA], g_level[0].ra[LA]};
                            wire [1:0] lb = {g_level[0].rb[LB], g_level[0].ra[LB]};
                            if (HAS_B != 0 && HAS_C != 0) begin : g_abc
                                wire [1:0] gp;
                                hwbnn_popcount_cell #(.KIND(0)) u_ab (.in({lb, la}), .out(gp));
                                hwbnn_popcount_cell #(.KIND(2)) u_c (
                                    .in({lc, gp}), .out(v[gn*W +: W]));
                            end else if (HAS_B != 0 || HAS_C != 0) begin : g_two
                                hwbnn_popcount_cell #(.KIND(0)) u_ab (
                                    .in({(HAS_B != 0) ? lb : lc, la}), .out(v[gn*W +: W]));
                            end else begin : g_one
                                assign v[gn*W +: W] = {1'b0, ~(la[0] ^ la[1])};
                            end
                        end else if (gl < CHAIN_LEVEL) begin : g_cells
                            wire [WP-1:0] a = g_level[gl-1].q[LA*WP +: WP];
                            /* verilator lint_off UNUSEDSIGNAL */  // unused by a lone node
                            wire [WP-1:0] b = (HAS_B != 0) ? g_level[gl-1].q[LB*WP +: WP]
                                                           : {WP{1'b0}};
                            /* verilator lint_on UNUSEDSIGNAL */
                            if (HAS_B == 0 && HAS_C == 0) begin : g_pass
                                assign v[gn*W +: W] = {1'b0, a};
                            end else begin : g_ripple
                                wire [WP:0] k;  // carries
                                // bit 0 with the lane (KIND 1, or 5 with CONST_A; also when
                                // there is none: it costs the same two LUTs)
                                if (CONST_A != 0) begin : g_const_bit0
                                    hwbnn_popcount_cell #(.KIND(5),
                                        .W({2'b00, WC[1], 2'b00, WC[0]})
                                    ) u_bit0 (.in({lc[0], (HAS_C != 0) ? lc[1] : 1'b0, b[0],
                                        a[0]}), .out({k[1], v[gn*W]}));
                                end else begin : g_bit0
                                    wire [1:0] l0 = (HAS_C != 0) ? lc : 2'b01;  // xnor(0,1) = 0
                                    hwbnn_popcount_cell #(.KIND(1)) u_bit0 (
                                        .in({l0, b[0], a[0]}), .out({k[1], v[gn*W]}));
                                end
                                for (gb = 1; gb < WP; gb = gb + 1) begin : g_bit
                                    hwbnn_popcount_cell #(.KIND(3)) u_bit (
                                        .in({1'b0, k[gb], b[gb], a[gb]}),
                                        .out({k[gb+1], v[gn*W + gb]}));
                                end
                                assign k[0] = 1'b0;
                                assign v[gn*W + WP] = k[WP];
                            end
                        end else begin : g_chain
                            wire [WP-1:0] a = g_level[gl-1].q[LA*WP +: WP];
                            wire [WP-1:0] b = (HAS_B != 0) ? g_level[gl-1].q[LB*WP +: WP]
                                                           : {WP{1'b0}};
                            // (CONST_A: lc is {x, select}, the weight a constant of the select)
                            wire c = (HAS_C == 0) ? 1'b0
                                   : (CONST_A != 0) ? ~(lc[1] ^ (lc[0] ? WC[1] : WC[0]))
                                   : ~(lc[0] ^ lc[1]);
                            // the carry-in as a bit below both operands: one two-operand sum,
                            // one carry chain (bit 0 is c + c = 2c, unused)
                            /* verilator lint_off UNUSEDSIGNAL */
                            wire [W:0] t = {1'b0, a, c} + {1'b0, b, c};
                            /* verilator lint_on UNUSEDSIGNAL */
                            assign v[gn*W +: W] = t[W:1];
                        end
                    end
                end
                if (register_after(gl, LEVELS_PER_REG, DEPTH, REGS) != 0) begin : g_reg
                    reg [NODES*W-1:0] r;
                    reg [N-1:0] r_a, r_b;
                    always @(posedge clk) begin
                        if (en) begin
                            r <= v;
                            r_a <= g_level[gl-1].ra;
                            r_b <= g_level[gl-1].rb;
                        end
                    end
                    assign q = r;
                    assign ra = r_a;
                    assign rb = r_b;
                end else begin : g_wire
                    assign q = v;
                    if (gl == 0) begin : g_in
                        assign ra = a_in;
                        assign rb = in_b;
                    end else begin : g_pass
                        assign ra = g_level[gl-1].ra;
                        assign rb = g_level[gl-1].rb;
                    end
                end
            end
            if (SUM_WIDTH > DEPTH + 1) begin : g_extend
                assign sum = {{(SUM_WIDTH - DEPTH - 1){1'b0}}, g_level[DEPTH].q[DEPTH:0]};
            end else begin : g_full
                assign sum = g_level[DEPTH].q[DEPTH:0];
            end
        end
`endif
    endgenerate

    // The tag, through REGS registers cleared by rst.
    hwbnn_delay #(.WIDTH(TAG_WIDTH), .STAGES(REGS), .RESET(1)) u_tag (.clk(clk), .rst(rst),
        .en(en), .in(in_tag), .out(tag));
endmodule

`default_nettype wire
