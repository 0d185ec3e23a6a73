// hwbnn_mvau_lanes: the lane sums of hwbnn_mvau's PE processing elements for one (fold, SIMD
// group) pair, REGS enabled cycles after its operands, with a tag alongside.
//
//   INPUT_BITS = 1: sum_p = #{s : x_s == w_(p,s)}                       (XNOR-popcount)
//   INPUT_BITS > 1: sum_p = sum_s (w_(p,s) ? +k_s : -k_s)  (k_s the unsigned code of lane s)
// in SUM_WIDTH bits (two's complement for INPUT_BITS > 1), w_(p,s) = bit p*SIMD+s of w.
//
// How a PE sums (the cheapest form for its operands):
// - XNOR bits, SIMD >= POPCOUNT_SIMD: hwbnn_popcount, its XNORs in the first cells;
// - constant weights of two words (CONST, WORDS 2): hwbnn_popcount's CONST_A, the word chosen
//   by sel;
// - constant weights of one word (CONST, WORDS 1): with n1 weights +1 and n0 = SIMD - n1 -1 in
//   a PE's row and S = #{s : x_s = 1} (one count shared by all PEs),
//     sum_p = 2*P - S + n0,  P = #{s : w_s = +1, x_s = 1}     when n1 <= n0, else
//     sum_p = S - 2*P' + n0, P' = #{s : w_s = -1, x_s = 1},
//   so a PE counts only the min(n1, n0) <= SIMD/2 inputs of its sparser half (hwbnn_mvau_half,
//   one instance per PE with only its row as a parameter: Yosys evaluates the gather table of
//   a row, not of the whole weight word, so a 64 x 784 layer elaborates in minutes, not hours):
//   about half the LUTs of a full count;
// - otherwise (SIMD < POPCOUNT_SIMD, or integer codes) hwbnn_adder_tree on the lanes' terms.
// Every path has floor((ceil(log2(SIMD)) - 1) / LEVELS_PER_REG) registers (shorter counts are
// delayed to match), and the sparser-half path (HALF) one more: S and each PE's count are
// registered before 2P - S + n0, so neither S's fan-out to the PEs nor the combination shares
// a cycle with the last adder levels. REGS states the total; hwbnn_mvau derives the same.
// With more than S_GROUP copies of x (S_TWO), S fans out in two register levels (one copy per
// S_GROUP copies of x, each feeding its S_GROUP) and is counted a cycle earlier, from x_early
// and in_tag_early (x and in_tag one enabled cycle before, as the register x loads from holds
// them), so the PEs' counts and REGS stay as they are.
`default_nettype none

module hwbnn_mvau_lanes #(
    parameter PE             = 2,   // processing elements
    parameter SIMD           = 16,  // lanes per PE
    parameter INPUT_BITS     = 1,   // 1: bipolar bits; > 1: unsigned codes
    parameter WORDS          = 1,   // CONST: words of WEIGHTS (1 or 2)
    parameter CONST          = 0,   // 1: the weights are WEIGHTS (w is unused)
    // CONST: {word 1, word 0} of PE*SIMD bits each (word 1 only when WORDS is 2)
    parameter [((CONST != 0) ? WORDS * PE * SIMD : 1)-1:0] WEIGHTS = 0,
    parameter LEVELS_PER_REG = 3,   // adder levels per pipeline register
    parameter TAG_WIDTH      = 1,   // bits of the tag
    parameter SUM_WIDTH      = 8,   // bits of one PE's sum (enough for its range)
    // copies of x side by side (identical values, separate registers): PE p reads copy
    // p*X_COPIES/PE, the shared count copy 0
    parameter X_COPIES       = 1,
    // copies of en side by side (identical values, separate registers): PE p's registers
    // take copy p*EN_COPIES/PE, the shared count's copy 0
    parameter EN_COPIES      = 1,
    // Derived, do not override: 1 for the sparser-half path (see above), and the registers
    parameter HALF = (CONST != 0 && WORDS == 1 && INPUT_BITS == 1 && SIMD >= 16) ? 1 : 0,
    parameter REGS = (((SIMD > 1) ? $clog2(SIMD) : 0) > 0
                     ? (((SIMD > 1) ? $clog2(SIMD) : 0) - 1) / LEVELS_PER_REG : 0) + HALF
) (
    input  wire                       clk,
    input  wire                       rst,     // clears the tag's registers
    input  wire [EN_COPIES-1:0]       en,      // clock enable of every register, EN_COPIES times
    /* verilator lint_off UNUSEDSIGNAL */  // CONST uses sel (two words) and not w
    input  wire [PE*SIMD-1:0]         w,       // the pair's weights (CONST = 0)
    input  wire                       sel,     // CONST: the word of WEIGHTS
    /* verilator lint_on UNUSEDSIGNAL */
    /* verilator lint_off UNUSEDSIGNAL */  // copies beyond the first: HALF only
    input  wire [X_COPIES*SIMD*INPUT_BITS-1:0] x,  // the pair's inputs, X_COPIES times
    input  wire [SIMD*INPUT_BITS-1:0] x_early,       // S_TWO: x one enabled cycle earlier
    input  wire [TAG_WIDTH-1:0]       in_tag_early,  // S_TWO: in_tag one enabled cycle earlier
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [TAG_WIDTH-1:0]       in_tag,  // a tag of the pair
    output wire [PE*SUM_WIDTH-1:0]    sum,     // the PE sums, REGS cycles later
    output wire [TAG_WIDTH-1:0]       tag      // in_tag, REGS cycles later
);
    localparam POPCOUNT_SIMD = 16;  // XNOR lane sums of at least this many lanes: hwbnn_popcount
    localparam LANE_WIDTH = (INPUT_BITS == 1) ? 1 : INPUT_BITS + 1;  // bits of a lane's term
    localparam DEPTH      = (SIMD > 1) ? $clog2(SIMD) : 0;
    localparam TREE_WIDTH = LANE_WIDTH + DEPTH;                      // bits of a full sum
    localparam COUNT_WIDTH = DEPTH + 1;                              // bits of a count 0..SIMD
    localparam S_GROUP = 4;  // copies of x per copy of S's first level
    localparam S_TWO   = (HALF != 0 && X_COPIES > S_GROUP) ? 1 : 0;  // S in two levels
    localparam S_MIDS  = (S_TWO != 0) ? (X_COPIES + S_GROUP - 1) / S_GROUP : 1;

    hwbnn_param_check #(.OK(PE >= 1 && SIMD >= 1 && (CONST == 0 || WORDS == 1 || WORDS == 2)),
        .RULE("PE and SIMD must be at least 1, WORDS 1 or 2 with CONST"),
        .NAME0("PE"), .VALUE0(PE), .NAME1("SIMD"), .VALUE1(SIMD), .NAME2("WORDS"),
        .VALUE2(WORDS)) u_check_sizes ();
    hwbnn_param_check #(.OK(HALF == ((CONST != 0 && WORDS == 1 && INPUT_BITS == 1
            && SIMD >= POPCOUNT_SIMD) ? 1 : 0)
            && REGS == ((DEPTH > 0) ? (DEPTH - 1) / LEVELS_PER_REG : 0) + HALF),
        .RULE("HALF and REGS are derived, do not override them"), .NAME0("REGS"),
        .VALUE0(REGS), .NAME1("HALF"), .VALUE1(HALF)
    ) u_check_derived ();

    hwbnn_param_check #(.OK(EN_COPIES >= 1 && EN_COPIES <= PE),
        .RULE("EN_COPIES must be in 1..PE"), .NAME0("EN_COPIES"), .VALUE0(EN_COPIES),
        .NAME1("PE"), .VALUE1(PE)) u_check_en_copies ();
    hwbnn_param_check #(.OK(X_COPIES >= 1 && X_COPIES <= PE && (X_COPIES == 1 || HALF != 0)),
        .RULE("X_COPIES must be 1, or at most PE on the HALF path"), .NAME0("X_COPIES"),
        .VALUE0(X_COPIES), .NAME1("PE"), .VALUE1(PE)) u_check_copies ();
    wire [SIMD*INPUT_BITS-1:0] x0 = x[SIMD*INPUT_BITS-1:0];  // the first copy
    /* verilator lint_off UNUSEDSIGNAL */  // the shared count's (HALF only)
    wire                       en0 = en[0];
    /* verilator lint_on UNUSEDSIGNAL */

    // The tag and, for HALF, S = #{s : x_s = 1}: a popcount of x against all-ones weights,
    // then one register (S and the tag, the tag's cleared by rst) before S fans out to the PEs;
    // S's register once per copy of x (kept: identical registers would be merged), so each
    // group of PEs reads its own, on the enable of the group's first PE. S_TWO: the count of
    // x_early, then S_MIDS first-level copies of S, then the copies per copy of x.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PE*TAG_WIDTH-1:0]          tags;    // each PE's tag (the first one is used)
    wire [X_COPIES*COUNT_WIDTH-1:0]  x_ones;  // S, once per copy
    /* verilator lint_on UNUSEDSIGNAL */
    genvar gp, gn, gc;
    generate
        if (HALF != 0) begin : g_shared
            wire [COUNT_WIDTH-1:0] ones;
            wire [TAG_WIDTH-1:0]   ones_tag;
            hwbnn_popcount #(.N(SIMD), .LEVELS_PER_REG(LEVELS_PER_REG), .TAG_WIDTH(TAG_WIDTH),
                .CONST_A(1), .A_ROWS({(2 * SIMD){1'b1}})
            ) u_ones (.clk(clk), .rst(rst), .en(en0), .in_a({SIMD{1'b0}}), .in_sel(1'b0),
                .in_b((S_TWO != 0) ? x_early : x0),
                .in_tag((S_TWO != 0) ? in_tag_early : in_tag), .sum(ones), .tag(ones_tag));
            // S's first level: ones itself, or S_MIDS registers (mid m on the enable of the
            // first PE of copy m*S_GROUP)
            wire [S_MIDS*COUNT_WIDTH-1:0] mids;
            if (S_TWO != 0) begin : g_two
                for (gc = 0; gc < S_MIDS; gc = gc + 1) begin : g_mid
                    localparam integer P0 = (gc * S_GROUP * PE + X_COPIES - 1) / X_COPIES;
                    reg [COUNT_WIDTH-1:0] r;
                    (* keep *)
                    always @(posedge clk) begin
                        if (en[P0 * EN_COPIES / PE]) begin
                            r <= ones;
                        end
                    end
                    assign mids[gc*COUNT_WIDTH +: COUNT_WIDTH] = r;
                end
            end else begin : g_one
                assign mids = ones;
            end
            for (gc = 0; gc < X_COPIES; gc = gc + 1) begin : g_ones_reg
                // the first PE reading copy gc (PE p reads copy p*X_COPIES/PE)
                localparam integer P0 = (gc * PE + X_COPIES - 1) / X_COPIES;
                localparam integer M  = (S_TWO != 0) ? gc / S_GROUP : 0;
                reg [COUNT_WIDTH-1:0] r;
                (* keep *)
                always @(posedge clk) begin
                    if (en[P0 * EN_COPIES / PE]) begin
                        r <= mids[M*COUNT_WIDTH +: COUNT_WIDTH];
                    end
                end
                assign x_ones[gc*COUNT_WIDTH +: COUNT_WIDTH] = r;
            end
            hwbnn_delay #(.WIDTH(TAG_WIDTH), .STAGES(1 + S_TWO), .RESET(1)) u_tag_reg (
                .clk(clk), .rst(rst), .en(en0), .in(ones_tag), .out(tag));
        end else begin : g_pe_tag
            assign x_ones = {(X_COPIES * COUNT_WIDTH){1'b0}};
            assign tag = tags[TAG_WIDTH-1:0];
        end

        for (gp = 0; gp < PE; gp = gp + 1) begin : g_pe
            /* verilator lint_off UNUSEDSIGNAL */  // top bits repeat the sign or are 0
            wire [TREE_WIDTH-1:0] total;
            /* verilator lint_on UNUSEDSIGNAL */
            wire en_pe = en[gp * EN_COPIES / PE];  // the PE's copy of en
            if (HALF != 0) begin : g_half
                wire [COUNT_WIDTH-1:0] v;
                localparam integer C = gp * X_COPIES / PE;  // the PE's copy of x and S
                hwbnn_mvau_half #(.SIMD(SIMD), .ROW(WEIGHTS[gp*SIMD +: SIMD]),
                    .LEVELS_PER_REG(LEVELS_PER_REG), .REGS(REGS)
                ) u_half (.clk(clk), .rst(rst), .en(en_pe), .x(x[C*SIMD +: SIMD]),
                    .x_ones(x_ones[C*COUNT_WIDTH +: COUNT_WIDTH]), .sum(v));
                assign total = {{(TREE_WIDTH - COUNT_WIDTH){1'b0}}, v};
                assign tags[gp*TAG_WIDTH +: TAG_WIDTH] = {TAG_WIDTH{1'b0}};
            end else if (INPUT_BITS == 1 && SIMD >= POPCOUNT_SIMD && CONST != 0) begin : g_const
                localparam integer WORD1 = (WORDS > 1) ? PE * SIMD : 0;  // word 1's offset
                hwbnn_popcount #(.N(SIMD), .LEVELS_PER_REG(LEVELS_PER_REG),
                    .TAG_WIDTH(TAG_WIDTH), .CONST_A(1),
                    .A_ROWS({WEIGHTS[WORD1 + gp*SIMD +: SIMD], WEIGHTS[gp*SIMD +: SIMD]})
                ) u_popcount (.clk(clk), .rst(rst), .en(en_pe), .in_a({SIMD{1'b0}}),
                    .in_sel(sel), .in_b(x0), .in_tag(in_tag), .sum(total),
                    .tag(tags[gp*TAG_WIDTH +: TAG_WIDTH]));
            end else if (INPUT_BITS == 1 && SIMD >= POPCOUNT_SIMD) begin : g_popcount
                hwbnn_popcount #(.N(SIMD), .LEVELS_PER_REG(LEVELS_PER_REG),
                    .TAG_WIDTH(TAG_WIDTH)
                ) u_popcount (.clk(clk), .rst(rst), .en(en_pe), .in_a(w[gp*SIMD +: SIMD]),
                    .in_sel(1'b0), .in_b(x0), .in_tag(in_tag), .sum(total),
                    .tag(tags[gp*TAG_WIDTH +: TAG_WIDTH]));
            end else begin : g_adder_tree
                // the PE's weights: w, or the word of WEIGHTS that sel picks (constants that
                // synthesis folds into the terms)
                wire [SIMD-1:0] row;
                if (CONST != 0 && WORDS > 1) begin : g_two
                    assign row = sel ? WEIGHTS[PE*SIMD + gp*SIMD +: SIMD]
                                     : WEIGHTS[gp*SIMD +: SIMD];
                end else if (CONST != 0) begin : g_one
                    assign row = WEIGHTS[gp*SIMD +: SIMD];
                end else begin : g_port
                    assign row = w[gp*SIMD +: SIMD];
                end
                wire [SIMD*LANE_WIDTH-1:0] terms;
                if (INPUT_BITS == 1) begin : g_xnor
                    // one XNOR per lane, on the whole word (a few word operations in simulation)
                    assign terms = ~(row ^ x0);
                end else begin : g_code
                    for (gn = 0; gn < SIMD; gn = gn + 1) begin : g_lane
                        wire [LANE_WIDTH-1:0] code = {1'b0, x0[gn*INPUT_BITS +: INPUT_BITS]};
                        assign terms[gn*LANE_WIDTH +: LANE_WIDTH] = row[gn] ? code : -code;
                    end
                end
                hwbnn_adder_tree #(.N(SIMD), .OPERAND_WIDTH(LANE_WIDTH),
                    .SIGNED((INPUT_BITS > 1) ? 1 : 0), .LEVELS_PER_REG(LEVELS_PER_REG),
                    .TAG_WIDTH(TAG_WIDTH)
                ) u_tree (.clk(clk), .rst(rst), .en(en_pe), .in_data(terms), .in_tag(in_tag),
                    .sum(total), .tag(tags[gp*TAG_WIDTH +: TAG_WIDTH]));
            end
            // the sum in SUM_WIDTH bits (it fits its range; sign-extended for codes)
            if (TREE_WIDTH >= SUM_WIDTH) begin : g_cut
                assign sum[gp*SUM_WIDTH +: SUM_WIDTH] = total[SUM_WIDTH-1:0];
            end else begin : g_extend
                wire sign = (INPUT_BITS > 1) ? total[TREE_WIDTH-1] : 1'b0;
                assign sum[gp*SUM_WIDTH +: SUM_WIDTH] = {{(SUM_WIDTH - TREE_WIDTH){sign}}, total};
            end
        end
    endgenerate
endmodule

`default_nettype wire
