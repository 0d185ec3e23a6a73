// hwbnn_dbf: a Deterministic Binary Filter layer, "basis first" (Tseng, Bhattacharya,
// Fernandez-Marques, Alizadeh, Tong and Lane, IJCAI 2018; IR: hwbnn.ir.dbf).
//
// Per input vector x of MW elements:
//   d_m = sum_i x_i * b_mi          for the BASES fixed codes b_m (CODES bit 1 = +1, 0 = -1),
//                                   x_i = -1/+1 for bits (INPUT_BITS = 1), else the code k_i
//   y_c = sum_m alpha_cm * d_m      for the MH output channels (ALPHA, signed integers)
//   OUTPUT_MODE 0: bit c = (y_c >= T_c);  OUTPUT_MODE 1: y_c (ACC_WIDTH bits, two's complement)
// The codes, alpha and thresholds are parameters: tables in logic, no block RAM. Every basis
// product is shared by all MH channels, so the unit needs BASES*SIMD XNOR (or +-k) lanes
// against the codes instead of PE*SIMD lanes against stored weights, plus PE*BASES_PER_CYCLE
// small products with alpha.
//
// Structure (the cost a designer expects; docs/dbf.md "Cost" has the yosys counts):
// - basis stage: the beat in a register (S0, with its codes when MW/SIMD > 2, read from a ROM
//   in logic), then per basis the lanes of hwbnn_mvau_lanes (adder trees or XNOR popcounts,
//   pipelined as in hwbnn_mvau, one more register before the sum when they are deep and a
//   vector takes several beats), then the running sum in one of two slots. For bits a slot
//   holds the count P_m = #{i : x_i = b_mi} (d_m = 2*P_m - MW), for codes d_m;
// - combination stage, a pipeline: C1 the basis fold's D from the slot and, unless each PE
//   lane's alpha is a constant (MH = PE and BASES_PER_CYCLE = BASES: constant shift-adds),
//   the fold's alpha word from a ROM in logic, both registered; C2 the PE*BASES_PER_CYCLE
//   products alpha*D as ALPHA_BITS shifted, gated copies of D (no multiplier cells),
//   registered; an hwbnn_adder_tree per PE (a register per 2 levels after the first); C3 the
//   running sum Y' over the basis folds and the fold's constant from a ROM; C4 the compare
//   Y' >= T' (T' = ceil((T + K)/2) with K_c = MW*sum_m alpha_cm for bits, T for codes) or
//   y = 2Y' - K (bits) / Y' (codes) into the output register.
//
// A frame is VECTORS input vectors (a convolution's output pixels), each mapped to one output
// vector independently.
// Input stream: MW/SIMD beats per vector, SIMD elements per beat; element i at bits
// [(i % SIMD)*INPUT_BITS +: INPUT_BITS] of beat i / SIMD; tlast on the last beat of a frame.
// A beat with tlast ends its vector and its frame at once (resynchronisation, as hwbnn_mvau);
// a frame without tlast still ends after VECTORS vectors.
// Output stream: MH/PE beats per vector, VECTORS vectors per frame, tlast on the last beat of
// the last vector; beat nf carries channels nf*PE .. nf*PE+PE-1, channel nf*PE+p at bit p
// (OUTPUT_MODE 0) or at bits [p*ACC_WIDTH +: ACC_WIDTH] (OUTPUT_MODE 1).
//
// Schedule: the basis stage takes one beat of SIMD elements per cycle into all BASES sums;
// the combination stage issues one (output fold, basis fold) per cycle, so an output beat
// takes BASES/BASES_PER_CYCLE cycles. A vector takes
// max(MW/SIMD, (MH/PE) * (BASES/BASES_PER_CYCLE)) cycles when input and output never stall.
// Latency from a vector's last input beat to its first output beat (localparam LATENCY):
// LANE_REGS + SUM_REG + TREE_REGS + BASES/BASES_PER_CYCLE + 5 cycles
// (hwbnn.plan.fifos.dbf_latency).
// The basis stage stalls (s_axis_tready low) only while the beat at its end would start a
// slot still holding a vector not yet combined; the combination stage stalls while the
// output register holds a beat that is not taken. m_axis_tvalid and s_axis_tready come from
// registers only.
`default_nettype none

module hwbnn_dbf #(
    parameter MW          = 16,  // fan-in: elements per input vector
    parameter MH          = 8,   // output channels
    parameter BASES       = 4,   // M: basis codes
    parameter PE          = 2,   // output channels computed per cycle; divides MH
    parameter BASES_PER_CYCLE = BASES,  // products with alpha per channel per cycle; divides BASES
    parameter SIMD        = 4,   // input elements consumed per cycle; divides MW
    parameter INPUT_BITS  = 1,   // 1: bipolar bits; > 1: unsigned codes
    parameter OUTPUT_MODE = 0,   // 0: threshold bit per channel; 1: y_c
    parameter VECTORS     = 1,   // input vectors per frame
    parameter ALPHA_BITS  = 4,   // bits of one alpha (two's complement)
    parameter ACC_WIDTH   = 16,  // bits of y_c, enough for every attainable y (the IR's acc_bits)
    // the codes: bit m*MW + i is element i of code m (1: +1)
    parameter [BASES*MW-1:0] CODES = 0,
    // alpha of channel c, basis m at bits [(c*BASES + m)*ALPHA_BITS +: ALPHA_BITS]
    parameter [MH*BASES*ALPHA_BITS-1:0] ALPHA = 0,
    // OUTPUT_MODE 0: T_c at bits [c*(ACC_WIDTH+1) +: ACC_WIDTH+1] (two's complement)
    parameter [MH*(ACC_WIDTH+1)-1:0] THRESHOLDS = 0,
    // Derived, do not override (checked):
    parameter OUT_WIDTH   = (OUTPUT_MODE != 0) ? PE * ACC_WIDTH : PE  // m_axis_tdata bits
) (
    input  wire                       clk,
    input  wire                       rst,
    input  wire [SIMD*INPUT_BITS-1:0] s_axis_tdata,
    input  wire                       s_axis_tvalid,
    output wire                       s_axis_tready,
    input  wire                       s_axis_tlast,
    output reg  [OUT_WIDTH-1:0]       m_axis_tdata,
    output reg                        m_axis_tvalid,
    input  wire                       m_axis_tready,
    output reg                        m_axis_tlast
);
    localparam SF          = (SIMD > 0) ? MW / SIMD : 1;            // input beats per vector
    localparam NF          = (PE > 0) ? MH / PE : 1;                // output beats per vector
    localparam MB          = BASES_PER_CYCLE;
    localparam BF          = (MB > 0) ? BASES / MB : 1;             // basis folds per output beat
    localparam MAX_ABS     = MW * ((1 << INPUT_BITS) - 1);          // largest |d_m|
    localparam BASIS_WIDTH = $clog2(MAX_ABS + 1) + 1;               // signed d_m bits
    // D_m as a slot holds it: the count P_m of bits (d_m = 2*P_m - MW), or d_m of codes
    localparam D_WIDTH     = (INPUT_BITS == 1) ? $clog2(MW + 1) : BASIS_WIDTH;
    // one beat's sum per basis: a count 0..SIMD, or a signed sum of SIMD terms +-k
    localparam BEAT_WIDTH  = (INPUT_BITS == 1) ? $clog2(SIMD + 1)
                           : $clog2(SIMD * ((1 << INPUT_BITS) - 1) + 1) + 1;
    localparam PROD_WIDTH  = D_WIDTH + ALPHA_BITS;                  // alpha * D, signed
    localparam TREE_WIDTH  = PROD_WIDTH + ((MB > 1) ? $clog2(MB) : 0);  // a PE's tree sum
    localparam THRESH_WIDTH = ACC_WIDTH + 1;                        // signed threshold bits
    localparam SLOT_WIDTH  = BASES * D_WIDTH;                       // one vector's D
    localparam SF_WIDTH    = (SF > 1) ? $clog2(SF) : 1;             // beat counter bits
    localparam NF_WIDTH    = (NF > 1) ? $clog2(NF) : 1;             // fold counter bits
    localparam BF_WIDTH    = (BF > 1) ? $clog2(BF) : 1;             // basis fold counter bits
    localparam IDX_WIDTH   = (NF * BF > 1) ? $clog2(NF * BF) : 1;   // alpha word index bits
    localparam VEC_WIDTH   = (VECTORS > 1) ? $clog2(VECTORS) : 1;   // vector counter bits
    localparam CTAG_WIDTH  = NF_WIDTH + 4;                          // combination tag bits
    // alpha a constant of each PE lane's product: one fold of channels and of bases
    localparam CONST_ALPHA = (NF == 1 && BF == 1) ? 1 : 0;
    // adder levels per register: the lanes as hwbnn_mvau's, the products' trees
    localparam LANE_LEVELS_PER_REG    = (INPUT_BITS == 1) ? 3 : 2;
    localparam PRODUCT_LEVELS_PER_REG = 2;
    // registers of the lanes (hwbnn_mvau_lanes' REGS) and of the products' trees
    localparam LOG_SIMD    = (SIMD > 1) ? $clog2(SIMD) : 0;
    localparam LANE_HALF   = (SF == 1 && INPUT_BITS == 1 && SIMD >= 16) ? 1 : 0;
    localparam LANE_REGS   = ((LOG_SIMD > 0) ? (LOG_SIMD - 1) / LANE_LEVELS_PER_REG : 0)
                             + LANE_HALF;
    // a register between deep lanes (pipelined trees) and the running sum over the beats
    localparam SUM_REG     = (SF > 1 && LOG_SIMD > LANE_LEVELS_PER_REG) ? 1 : 0;
    localparam LOG_MB      = (MB > 1) ? $clog2(MB) : 0;
    localparam TREE_REGS   = (LOG_MB > 0) ? (LOG_MB - 1) / PRODUCT_LEVELS_PER_REG : 0;
    /* verilator lint_off UNUSEDPARAM */
    localparam LATENCY     = LANE_REGS + SUM_REG + TREE_REGS + BF + 5;
    /* verilator lint_on UNUSEDPARAM */
    localparam integer SF_M1 = SF - 1;
    localparam integer NF_M1 = NF - 1;
    localparam integer VEC_M1 = VECTORS - 1;
    localparam [SF_WIDTH-1:0]  SF_LAST  = SF_M1[SF_WIDTH-1:0];
    localparam [NF_WIDTH-1:0]  NF_LAST  = NF_M1[NF_WIDTH-1:0];
    localparam integer BF_M1 = BF - 1;
    localparam [BF_WIDTH-1:0]  BF_LAST  = BF_M1[BF_WIDTH-1:0];
    localparam [VEC_WIDTH-1:0] VEC_LAST = VEC_M1[VEC_WIDTH-1:0];

    // The constant of channel c: for bits, K_c = MW * sum_m alpha_cm (y_c = 2*Y'_c - K_c with
    // Y'_c = sum_m alpha_cm P_m) and, OUTPUT_MODE 0, T'_c = ceil((T_c + K_c) / 2) (y_c >= T_c
    // iff Y'_c >= T'_c); for codes (Y' = y) T_c itself.
    function [THRESH_WIDTH-1:0] fold_constant(input [BASES*ALPHA_BITS-1:0] row,
                                              input [THRESH_WIDTH-1:0] t);
        reg signed [63:0] k, v, tt;
        integer b;
        begin
            k = 0;
            for (b = 0; b < BASES; b = b + 1) begin
                v = {{(64 - ALPHA_BITS){row[b*ALPHA_BITS + ALPHA_BITS - 1]}},
                     row[b*ALPHA_BITS +: ALPHA_BITS]};
                k = k + v;
            end
            k = k * MW;
            tt = {{(64 - THRESH_WIDTH){t[THRESH_WIDTH-1]}}, t};
            if (INPUT_BITS != 1)
                fold_constant = t;
            else if (OUTPUT_MODE == 0)
            begin
                tt = (tt + k + 1) >>> 1;
                fold_constant = tt[THRESH_WIDTH-1:0];
            end
            else
                fold_constant = k[THRESH_WIDTH-1:0];
        end
    endfunction

    hwbnn_param_check #(.OK(PE >= 1 && MH >= 1 && MH % PE == 0), .RULE("PE must divide MH"),
        .NAME0("PE"), .VALUE0(PE), .NAME1("MH"), .VALUE1(MH)) u_check_pe ();
    hwbnn_param_check #(.OK(SIMD >= 1 && MW >= 1 && MW % SIMD == 0),
        .RULE("SIMD must divide MW"), .NAME0("SIMD"), .VALUE0(SIMD), .NAME1("MW"), .VALUE1(MW)
    ) u_check_simd ();
    hwbnn_param_check #(.OK(BASES >= 1), .RULE("BASES must be at least 1"),
        .NAME0("BASES"), .VALUE0(BASES)) u_check_bases ();
    hwbnn_param_check #(.OK(MB >= 1 && BASES % MB == 0),
        .RULE("BASES_PER_CYCLE must divide BASES"), .NAME0("BASES_PER_CYCLE"), .VALUE0(MB),
        .NAME1("BASES"), .VALUE1(BASES)) u_check_bases_per_cycle ();
    hwbnn_param_check #(.OK(INPUT_BITS >= 1 && INPUT_BITS <= 16),
        .RULE("INPUT_BITS must be in 1..16"), .NAME0("INPUT_BITS"), .VALUE0(INPUT_BITS)
    ) u_check_input_bits ();
    hwbnn_param_check #(.OK(OUTPUT_MODE == 0 || OUTPUT_MODE == 1),
        .RULE("OUTPUT_MODE must be 0 or 1"), .NAME0("OUTPUT_MODE"), .VALUE0(OUTPUT_MODE)
    ) u_check_output_mode ();
    hwbnn_param_check #(.OK(VECTORS >= 1), .RULE("VECTORS must be at least 1"),
        .NAME0("VECTORS"), .VALUE0(VECTORS)) u_check_vectors ();
    hwbnn_param_check #(.OK(ALPHA_BITS >= 2 && ALPHA_BITS <= 16),
        .RULE("ALPHA_BITS must be in 2..16"), .NAME0("ALPHA_BITS"), .VALUE0(ALPHA_BITS)
    ) u_check_alpha_bits ();
    hwbnn_param_check #(.OK(ACC_WIDTH >= BASIS_WIDTH && ACC_WIDTH <= 63),
        .RULE("ACC_WIDTH must hold a basis product and be at most 63"),
        .NAME0("ACC_WIDTH"), .VALUE0(ACC_WIDTH), .NAME1("BASIS_WIDTH"), .VALUE1(BASIS_WIDTH)
    ) u_check_acc_width ();
    hwbnn_param_check #(.OK(OUT_WIDTH == ((OUTPUT_MODE != 0) ? PE * ACC_WIDTH : PE)),
        .RULE("OUT_WIDTH is derived, do not override it"),
        .NAME0("OUT_WIDTH"), .VALUE0(OUT_WIDTH)) u_check_derived ();

    // ---------------------------------------------------------------- basis stage
    // S0: the accepted beat and its flags {fend, end, first, valid} (its index sf selects the
    // beat's code bits). The lanes (hwbnn_mvau_lanes, one "PE" per basis against its code:
    // XNOR popcounts or +-k sums) take it from there through LANE_REGS registers; their
    // output is added to the slot being loaded. The whole stage advances on en_b, which is
    // low only while the beat at its end would start a slot that still holds a vector not yet
    // combined: s_axis_tready = en_b comes from registers only.
    reg [SIMD*INPUT_BITS-1:0] x_r;      // S0: the beat
    /* verilator lint_off UNUSEDSIGNAL */  // bit 0 picks a word of two
    reg [SF_WIDTH-1:0]        sf_r;     // S0: its index in the vector
    /* verilator lint_on UNUSEDSIGNAL */
    reg [3:0]                 btag0;    // S0: {fend, end, first, valid}
    reg [SF_WIDTH-1:0]        wr_sf;    // next beat of the vector being accepted
    reg [VEC_WIDTH-1:0]       wr_vec;   // vector of the frame being accepted
    reg [SLOT_WIDTH-1:0]      slot0, slot1;  // the D of one vector per slot
    reg [1:0]                 done;     // slot s holds a whole vector not yet combined
    reg [1:0]                 flast;    // slot s holds the last vector of a frame
    reg                       wr_slot;  // slot being loaded
    wire [BASES*BEAT_WIDTH-1:0] lane_sum;  // the beat's sums at the lanes' output
    wire [3:0]                lane_tag;    // its flags
    wire [BASES*BEAT_WIDTH-1:0] bsum;   // the same after SUM_REG registers
    wire [3:0]                btag;
    wire b_valid = btag[0];
    wire b_first = btag[1];
    wire b_end   = btag[2];
    wire b_fend  = btag[3];
    wire en_b = !(b_valid && b_first && done[wr_slot]);
    assign s_axis_tready = en_b;
    wire in_accept = s_axis_tvalid && en_b;
    wire in_end    = (wr_sf == SF_LAST) || s_axis_tlast;
    wire in_fend   = (wr_vec == VEC_LAST) || s_axis_tlast;

    always @(posedge clk) begin
        if (en_b) begin
            x_r  <= s_axis_tdata;
            sf_r <= wr_sf;
        end
    end

    // The lanes' codes: row m of beat sf is CODES[m*MW + sf*SIMD +: SIMD]. One or two beats:
    // constants (hwbnn_mvau_lanes CONST, the beat's row picked by sf_r[0]); more: a word of
    // the beat, selected from the constant by sf_r.
    localparam CONST_CODES = (SF <= 2) ? 1 : 0;
    localparam CODE_WORDS  = (SF <= 2) ? SF : 1;
    // The tables the stages read by a counter, as ROMs in logic read into a register (a mux
    // tree per bit; words past the last are 0): the codes of beat sf (row m at bits
    // [m*SIMD +: SIMD]), read with the beat into S0; alpha of word nf*BF + bf (field p*MB + k:
    // channel nf*PE + p, basis bf*MB + k), read at the issue; the constants of fold nf
    // (field p), read into C3.
    /* verilator lint_off WIDTHEXPAND */  // each field zero-extended, then shifted up
    function [BASES*SIMD-1:0] code_word(input integer sf);
        integer r;
        begin
            code_word = 0;
            for (r = BASES - 1; r >= 0; r = r - 1)
                code_word = (code_word << SIMD) | CODES[r*MW + sf*SIMD +: SIMD];
        end
    endfunction
    function [PE*MB*ALPHA_BITS-1:0] alpha_word(input integer idx);
        integer q, c, b;
        begin
            alpha_word = 0;
            for (q = PE*MB - 1; q >= 0; q = q - 1) begin
                c = (idx / BF) * PE + q / MB;
                b = (idx % BF) * MB + q % MB;
                alpha_word = (alpha_word << ALPHA_BITS)
                             | ALPHA[(c*BASES + b)*ALPHA_BITS +: ALPHA_BITS];
            end
        end
    endfunction
    function [PE*THRESH_WIDTH-1:0] const_word(input integer nf);
        integer q, c;
        begin
            const_word = 0;
            for (q = PE - 1; q >= 0; q = q - 1) begin
                c = nf * PE + q;
                const_word = (const_word << THRESH_WIDTH) | fold_constant(
                    ALPHA[c*BASES*ALPHA_BITS +: BASES*ALPHA_BITS],
                    THRESHOLDS[c*THRESH_WIDTH +: THRESH_WIDTH]);
            end
        end
    endfunction
    /* verilator lint_on WIDTHEXPAND */
    (* rom_style = "logic" *) reg [BASES*SIMD-1:0] code_rom [0:(1 << SF_WIDTH)-1];
    (* rom_style = "logic" *) reg [PE*MB*ALPHA_BITS-1:0] alpha_rom [0:(1 << IDX_WIDTH)-1];
    (* rom_style = "logic" *) reg [PE*THRESH_WIDTH-1:0] const_rom [0:(1 << NF_WIDTH)-1];
    integer i;
    initial begin
        for (i = 0; i < (1 << SF_WIDTH); i = i + 1)
            code_rom[i] = (i < SF && CONST_CODES == 0) ? code_word(i) : {(BASES*SIMD){1'b0}};
        for (i = 0; i < (1 << IDX_WIDTH); i = i + 1)
            alpha_rom[i] = (i < NF*BF && CONST_ALPHA == 0) ? alpha_word(i)
                                                           : {(PE*MB*ALPHA_BITS){1'b0}};
        for (i = 0; i < (1 << NF_WIDTH); i = i + 1)
            const_rom[i] = (i < NF) ? const_word(i) : {(PE*THRESH_WIDTH){1'b0}};
    end
    /* verilator lint_off UNUSEDSIGNAL */  // constant codes: unused
    reg [BASES*SIMD-1:0] code_r;  // S0: the beat's codes (more than two beats)
    /* verilator lint_on UNUSEDSIGNAL */
    always @(posedge clk) begin
        if (en_b) code_r <= code_rom[wr_sf];
    end
    genvar gp, gk;

    // {beat 1, beat 0} of the codes (SF <= 2) as hwbnn_mvau_lanes' WEIGHTS, row m of a word
    // at bits [m*SIMD +: SIMD]
    function [BASES*MW-1:0] code_rows(input [BASES*MW-1:0] codes);
        reg [BASES*MW-1:0] row;
        integer w, r;
        begin
            code_rows = 0;
            for (w = CODE_WORDS - 1; w >= 0; w = w - 1)
                for (r = BASES - 1; r >= 0; r = r - 1) begin
                    row = (codes >> (r*MW + w*SIMD)) & ~({(BASES*MW){1'b1}} << SIMD);
                    code_rows = (code_rows << SIMD) | row;
                end
        end
    endfunction
    localparam LANE_WEIGHT_BITS = (CONST_CODES != 0) ? BASES*MW : 1;
    localparam [BASES*MW-1:0] CODE_ROWS = code_rows(CODES);
    localparam [LANE_WEIGHT_BITS-1:0] LANE_WEIGHTS = CODE_ROWS[LANE_WEIGHT_BITS-1:0];

    /* verilator lint_off UNUSEDSIGNAL */  // sel is unused without two words
    wire sel_beat = sf_r[0];
    /* verilator lint_on UNUSEDSIGNAL */
    hwbnn_mvau_lanes #(.PE(BASES), .SIMD(SIMD), .INPUT_BITS(INPUT_BITS), .WORDS(CODE_WORDS),
        .CONST(CONST_CODES), .WEIGHTS(LANE_WEIGHTS), .LEVELS_PER_REG(LANE_LEVELS_PER_REG),
        .TAG_WIDTH(4), .SUM_WIDTH(BEAT_WIDTH)
    ) u_lanes (.clk(clk), .rst(rst), .en(en_b),
        .w((CONST_CODES != 0) ? {(BASES*SIMD){1'b0}} : code_r), .sel(sel_beat), .x(x_r),
        .x_early({(SIMD*INPUT_BITS){1'b0}}), .in_tag_early(4'b0),  // one copy of x: unused
        .in_tag(btag0), .sum(lane_sum), .tag(lane_tag));
    hwbnn_delay #(.WIDTH(BASES*BEAT_WIDTH), .STAGES(SUM_REG), .RESET(0)) u_sum_reg (
        .clk(clk), .rst(rst), .en(en_b), .in(lane_sum), .out(bsum));
    hwbnn_delay #(.WIDTH(4), .STAGES(SUM_REG), .RESET(1)) u_tag_reg (
        .clk(clk), .rst(rst), .en(en_b), .in(lane_tag), .out(btag));

    // The beat's sums added to the slot being loaded (the first beat of a vector starts it).
    wire [SLOT_WIDTH-1:0] wr_d = wr_slot ? slot1 : slot0;
    reg  [SLOT_WIDTH-1:0] summed;
    reg  [D_WIDTH-1:0]    beat_d;
    /* verilator lint_off UNUSEDSIGNAL */  // a beat's sum fits D_WIDTH bits
    reg  [D_WIDTH+BEAT_WIDTH-1:0] beat_wide;
    /* verilator lint_on UNUSEDSIGNAL */
    integer m;
    always @(*) begin
        for (m = 0; m < BASES; m = m + 1) begin
            // a count zero-extended, a signed sum sign-extended
            beat_wide = {{D_WIDTH{(INPUT_BITS != 1) && bsum[m*BEAT_WIDTH + BEAT_WIDTH - 1]}},
                         bsum[m*BEAT_WIDTH +: BEAT_WIDTH]};
            beat_d = beat_wide[D_WIDTH-1:0];
            if (SF == 1 || b_first)
                summed[m*D_WIDTH +: D_WIDTH] = beat_d;
            else
                summed[m*D_WIDTH +: D_WIDTH] = wr_d[m*D_WIDTH +: D_WIDTH] + beat_d;
        end
    end

    // ---------------------------------------------------------------- combination stage
    // C1 (issue): the MB values of D of basis fold bf and, unless alpha is a constant of each
    // PE lane (one fold of channels, one basis fold), the fold's alpha word from the table;
    // C2: the PE*MB products alpha*D (shift-add); then a pipelined adder tree per PE over its
    // MB products; C3: the running sum over the basis folds (Y'), and the fold's constant
    // (threshold or offset) from its table; C4: the compare (or 2Y' - K) into the output
    // register. Every register of the stage advances on en (the output register free).
    wire en    = !m_axis_tvalid || m_axis_tready;
    reg                  rd_slot;  // slot being combined
    reg [NF_WIDTH-1:0]   c_nf;     // fold being issued
    reg [BF_WIDTH-1:0]   c_bf;     // basis fold being issued
    reg [IDX_WIDTH-1:0]  c_idx;    // c_nf*BF + c_bf
    wire issue     = en && done[rd_slot];
    wire issue_end = (c_nf == NF_LAST);
    wire bf_end    = (c_bf == BF_LAST);
    wire [SLOT_WIDTH-1:0] rd_d = rd_slot ? slot1 : slot0;

    reg [MB*D_WIDTH-1:0]  d_r;     // C1: the basis fold's values of D
    reg [CTAG_WIDTH-1:0]  ctag1;   // C1: {nf, tlast, last bf, first bf, valid}
    reg [CTAG_WIDTH-1:0]  ctag2;   // C2
    /* verilator lint_off UNUSEDSIGNAL */  // C4 reads valid, last bf and tlast
    reg [CTAG_WIDTH-1:0]  ctag3;   // C3
    /* verilator lint_on UNUSEDSIGNAL */
    wire [CTAG_WIDTH-1:0] ctag_t;  // after the adder trees
    /* verilator lint_off UNUSEDSIGNAL */  // constant alpha: unused
    reg [PE*MB*ALPHA_BITS-1:0] alpha_r;  // C1: the fold's alpha (PE lane p, product k)
    /* verilator lint_on UNUSEDSIGNAL */
    wire [PE*MB*PROD_WIDTH-1:0] prods;    // the products of d_r and alpha
    reg  [PE*MB*PROD_WIDTH-1:0] prod_r;   // C2
    wire [PE*TREE_WIDTH-1:0]    tree_sum; // the PE sums of the products
    reg  [PE*ACC_WIDTH-1:0]     acc;      // C3: Y' of the PE lanes (partial over basis folds)
    /* verilator lint_off UNUSEDSIGNAL */  // OUTPUT_MODE 1 on codes: no constant
    reg  [PE*THRESH_WIDTH-1:0]  const_r;  // C3: the fold's thresholds T' or offsets K
    wire [PE*CTAG_WIDTH-1:0]    tree_tags;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [NF_WIDTH-1:0] t_nf = ctag_t[CTAG_WIDTH-1 -: NF_WIDTH];

    generate
        for (gp = 0; gp < PE; gp = gp + 1) begin : g_pe
            for (gk = 0; gk < MB; gk = gk + 1) begin : g_product
                wire [D_WIDTH-1:0] dk = d_r[gk*D_WIDTH +: D_WIDTH];
                // D extended to the product's width: a count zero-, a sum sign-extended
                wire [PROD_WIDTH-1:0] dx = (INPUT_BITS == 1)
                    ? {{ALPHA_BITS{1'b0}}, dk} : {{ALPHA_BITS{dk[D_WIDTH-1]}}, dk};
                reg [PROD_WIDTH-1:0] prod;
                integer j;
                if (CONST_ALPHA != 0) begin : g_const
                    // alpha a constant: |alpha| * D as shifted copies of D, negated for alpha < 0
                    localparam [ALPHA_BITS-1:0] A =
                        ALPHA[(gp*BASES + gk)*ALPHA_BITS +: ALPHA_BITS];
                    localparam NEG = A[ALPHA_BITS-1];
                    localparam [ALPHA_BITS:0] MAG = (NEG != 0) ? ~{1'b1, A} + 1'b1 : {1'b0, A};
                    reg [PROD_WIDTH-1:0] pos;
                    always @(*) begin
                        pos = {PROD_WIDTH{1'b0}};
                        for (j = 0; j < ALPHA_BITS; j = j + 1) begin
                            if (MAG[j]) pos = pos + (dx << j);
                        end
                        prod = (NEG != 0) ? -pos : pos;
                    end
                end else begin : g_variable
                    // alpha from alpha_r: ALPHA_BITS partial products, the top one negative
                    wire [ALPHA_BITS-1:0] a = alpha_r[(gp*MB + gk)*ALPHA_BITS +: ALPHA_BITS];
                    always @(*) begin
                        prod = {PROD_WIDTH{1'b0}};
                        for (j = 0; j < ALPHA_BITS - 1; j = j + 1) begin
                            prod = prod + ((dx & {PROD_WIDTH{a[j]}}) << j);
                        end
                        prod = prod - ((dx & {PROD_WIDTH{a[ALPHA_BITS-1]}}) << (ALPHA_BITS - 1));
                    end
                end
                assign prods[(gp*MB + gk)*PROD_WIDTH +: PROD_WIDTH] = prod;
            end
            hwbnn_adder_tree #(.N(MB), .OPERAND_WIDTH(PROD_WIDTH), .SIGNED(1),
                .LEVELS_PER_REG(PRODUCT_LEVELS_PER_REG), .TAG_WIDTH(CTAG_WIDTH)
            ) u_tree (.clk(clk), .rst(rst), .en(en),
                .in_data(prod_r[gp*MB*PROD_WIDTH +: MB*PROD_WIDTH]), .in_tag(ctag2),
                .sum(tree_sum[gp*TREE_WIDTH +: TREE_WIDTH]),
                .tag(tree_tags[gp*CTAG_WIDTH +: CTAG_WIDTH]));
        end
    endgenerate
    assign ctag_t = tree_tags[CTAG_WIDTH-1:0];

    // C3: the tree sums (which fit ACC_WIDTH) added to the running sum of the basis folds.
    reg [PE*ACC_WIDTH-1:0] acc_next;
    reg [ACC_WIDTH-1:0]    term;
    /* verilator lint_off UNUSEDSIGNAL */  // the sum fits ACC_WIDTH bits
    reg [ACC_WIDTH+TREE_WIDTH-1:0] wide;  // the tree sum sign-extended
    /* verilator lint_on UNUSEDSIGNAL */
    integer p;
    always @(*) begin
        for (p = 0; p < PE; p = p + 1) begin
            wide = {{ACC_WIDTH{tree_sum[p*TREE_WIDTH + TREE_WIDTH - 1]}},
                    tree_sum[p*TREE_WIDTH +: TREE_WIDTH]};
            term = wide[ACC_WIDTH-1:0];
            if (BF == 1 || ctag_t[1])
                acc_next[p*ACC_WIDTH +: ACC_WIDTH] = term;
            else
                acc_next[p*ACC_WIDTH +: ACC_WIDTH] = acc[p*ACC_WIDTH +: ACC_WIDTH] + term;
        end
    end

    // C4: y = Y' (codes) or 2Y' - K_c (bits; K_c = MW * sum_m alpha_cm), or the bit
    // Y' >= T'_c (T'_c = T_c for codes, ceil((T_c + K_c) / 2) for bits: y >= T_c).
    /* verilator lint_off UNUSEDSIGNAL */
    reg [PE*ACC_WIDTH-1:0] accs;
    reg [PE-1:0]           bits;
    reg [ACC_WIDTH-1:0]    yp;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [OUT_WIDTH-1:0]   result;
    always @(*) begin
        for (p = 0; p < PE; p = p + 1) begin
            yp = acc[p*ACC_WIDTH +: ACC_WIDTH];
            if (INPUT_BITS == 1)
                accs[p*ACC_WIDTH +: ACC_WIDTH] = {yp[ACC_WIDTH-2:0], 1'b0}
                    - const_r[p*THRESH_WIDTH +: ACC_WIDTH];
            else
                accs[p*ACC_WIDTH +: ACC_WIDTH] = yp;
            bits[p] = $signed({yp[ACC_WIDTH-1], yp})
                      >= $signed(const_r[p*THRESH_WIDTH +: THRESH_WIDTH]);
        end
    end
    generate
        if (OUTPUT_MODE != 0) begin : g_out_acc
            assign result = accs;
        end else begin : g_out_bits
            assign result = bits;
        end
    endgenerate

    always @(posedge clk) begin
        if (en) begin
            d_r     <= rd_d[c_bf*MB*D_WIDTH +: MB*D_WIDTH];
            alpha_r <= alpha_rom[c_idx];
            prod_r  <= prods;
            if (ctag_t[0]) acc <= acc_next;
            const_r <= const_rom[t_nf];
            m_axis_tdata <= result;
        end
        if (en_b && b_valid) begin
            if (wr_slot) slot1 <= summed;
            else         slot0 <= summed;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            btag0   <= 4'b0000;
            wr_sf   <= {SF_WIDTH{1'b0}};
            wr_vec  <= {VEC_WIDTH{1'b0}};
            done    <= 2'b00;
            flast   <= 2'b00;
            wr_slot <= 1'b0;
            rd_slot <= 1'b0;
            c_nf    <= {NF_WIDTH{1'b0}};
            c_bf    <= {BF_WIDTH{1'b0}};
            c_idx   <= {IDX_WIDTH{1'b0}};
            ctag1   <= {CTAG_WIDTH{1'b0}};
            ctag2   <= {CTAG_WIDTH{1'b0}};
            ctag3   <= {CTAG_WIDTH{1'b0}};
            m_axis_tvalid <= 1'b0;
            m_axis_tlast  <= 1'b0;
        end else begin
            if (en_b) begin
                btag0 <= {in_fend, in_end, wr_sf == {SF_WIDTH{1'b0}}, in_accept};
            end
            if (in_accept) begin
                if (in_end) begin
                    wr_sf  <= {SF_WIDTH{1'b0}};
                    wr_vec <= in_fend ? {VEC_WIDTH{1'b0}} : wr_vec + 1'b1;
                end else begin
                    wr_sf <= wr_sf + 1'b1;
                end
            end
            // the two stages never touch the same slot's flag in one cycle
            if (en_b && b_valid && b_end) begin
                done[wr_slot]  <= 1'b1;
                flast[wr_slot] <= b_fend;
                wr_slot <= !wr_slot;
            end
            if (en) begin
                ctag1 <= {c_nf, issue_end && bf_end && flast[rd_slot], bf_end,
                          c_bf == {BF_WIDTH{1'b0}}, issue};
                ctag2 <= ctag1;
                ctag3 <= ctag_t;
                m_axis_tvalid <= ctag3[0] && ctag3[2];
                m_axis_tlast  <= ctag3[3];
            end
            if (issue) begin
                if (!bf_end) begin
                    c_bf  <= c_bf + 1'b1;
                    c_idx <= c_idx + 1'b1;
                end else begin
                    c_bf <= {BF_WIDTH{1'b0}};
                    if (issue_end) begin
                        done[rd_slot] <= 1'b0;
                        rd_slot <= !rd_slot;
                        c_nf    <= {NF_WIDTH{1'b0}};
                        c_idx   <= {IDX_WIDTH{1'b0}};
                    end else begin
                        c_nf  <= c_nf + 1'b1;
                        c_idx <= c_idx + 1'b1;
                    end
                end
            end
        end
    end
endmodule

`default_nettype wire
