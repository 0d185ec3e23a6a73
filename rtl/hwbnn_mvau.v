// hwbnn_mvau: matrix-vector-threshold unit with PE x SIMD XNOR-popcount (or +-code) lanes.
//
// Computes, per input vector x of MW elements and output channel c in 0..MH-1,
//   INPUT_BITS = 1 (x_i bipolar bits, -1 = 0, +1 = 1):
//     pop_c = #{i : x_i == w_ci}                      (XNOR-popcount, 0..MW)
//     OUTPUT_MODE 0: bit c = (pop_c >= T_c),  T_c unsigned in [0, MW+1]
//     OUTPUT_MODE 1: acc_c = 2*pop_c - MW      (the bipolar dot product)
//   INPUT_BITS = B > 1 (x_i unsigned codes k_i in 0..2^B-1):
//     acc_c = sum_i (w_ci ? +k_i : -k_i)
//     OUTPUT_MODE 0: bit c = (acc_c >= T_c),  T_c signed in [-MAX_ABS, MAX_ABS+1]
//     OUTPUT_MODE 1: acc_c
// with weight bit w_ci = 1 meaning +1 and MAX_ABS = MW*(2^B-1). So T_c = 0 / MW+1 (B = 1) or
// -MAX_ABS / MAX_ABS+1 (B > 1) make a channel always +1 / always -1.
//
// A frame is VECTORS input vectors (a convolution runs once per output pixel), each mapped
// to one output vector independently.
// Input stream: MW/SIMD beats per vector, SIMD elements per beat; element i at bits
// [(i % SIMD)*INPUT_BITS +: INPUT_BITS] of beat i / SIMD; vectors follow each other, tlast
// on the last beat of a frame only (tlast on other beats is not needed). Vectors are
// counted by beats: a vector ends after MW/SIMD beats, a frame after VECTORS vectors.
// Resynchronisation: a beat with tlast ends both its vector and its frame at once. A frame
// cut short that way yields one output vector per started vector (the missing elements of
// the last one keep stale values), the last with tlast, and the next beat starts a new
// frame, so later frames stay aligned. A frame whose tlast is missing still ends after
// VECTORS vectors (its last output beat has tlast).
// Output stream: MH/PE beats per vector, VECTORS vectors per frame, tlast only on the last
// beat of the last vector of a frame. Beat nf of a vector carries channels
// nf*PE .. nf*PE+PE-1: channel nf*PE+p at bit p (OUTPUT_MODE 0) or at bits
// [p*ACC_WIDTH +: ACC_WIDTH] in two's complement (OUTPUT_MODE 1).
//
// Weights: (MH/PE)*(MW/SIMD) words of PE*SIMD bits, the PE weight memories side by side. Word
// nf*(MW/SIMD)+sf holds at bit p*SIMD+s the weight of row nf*PE+p, column sf*SIMD+s. They live
// where WEIGHT_STORAGE says (hwbnn_mvau_weights): a ROM (block RAM or logic, synthesis' or the
// plan's choice) loaded from WEIGHT_FILE ($readmemh), or, for 1 or 2 words, constants: the parameter WEIGHTS = {word 1,
// word 0}, folded into the lanes (hwbnn_popcount's CONST_A: no XNOR LUTs, no memory).
// Threshold memory (THRESH_FILE, OUTPUT_MODE 0 only): MH/PE words of PE*THRESH_WIDTH bits; word
// nf holds T of channel nf*PE+p at bits [p*THRESH_WIDTH +: THRESH_WIDTH], unsigned for
// INPUT_BITS = 1, two's complement otherwise. hwbnn.codegen.memfiles writes the files; an
// empty name sets the memory to 0 with a warning at time 0 (for lint and synthesis trials).
//
// Schedule: the input vector is buffered (two banks, so the next vector loads while the
// current one is computed) and reused for each of the MH/PE neuron folds; each cycle one
// (fold, SIMD group) pair is issued. Initiation interval: (MH/PE)*(MW/SIMD) cycles per vector
// when input and output never stall. Latency from the last input beat of a vector to its
// first output beat (localparam LATENCY): MW/SIMD + 5 + TREE_REGS cycles, where
// TREE_REGS = floor((ceil(log2(SIMD)) - 1) / L) with L = 3 adder levels per register for
// bipolar input (0 for SIMD <= 8, 1 up to 64, 2 up to 512) and L = 2 for integer codes, plus 1
// for constant one-word binary weights of SIMD >= 16 (hwbnn_mvau_lanes' HALF path), minus 1
// when MW/SIMD = MH/PE = 1 (DIRECT: no input buffer, a beat goes straight to the operands).
// Pipeline: synchronous weight ROM and input buffer read, their output registers, per PE a
// lane-sum unit (hwbnn_mvau_lanes, TREE_REGS registers), the lane-sum
// register, accumulate, compare (synchronous threshold ROM read), output register.
// It stalls as a whole, a cycle after the output register and the places behind it (skid)
// fill up: the pipeline enable is itself a register (run), copied once per PE and per copy of
// the inputs so that no enable net spans a large layer (at 784 x 64 one combinational enable
// was TFC-1's critical path: 16.7 ns of routing). Layers with more than 4 input copies
// (PE > 16 on the constant sparser-half path) take the copies from a first level of run
// copies and have two skid places (the stall a cycle later), the output places' state copied
// once per 8 output bits. m_axis_tvalid and s_axis_tready come from registers only (neither
// depends on the other side).
`default_nettype none

module hwbnn_mvau #(
    parameter MW          = 16,  // fan-in: elements per input vector
    parameter MH          = 8,   // output channels
    parameter PE          = 2,   // output channels computed in parallel; divides MH
    parameter SIMD        = 4,   // input elements consumed per cycle; divides MW
    parameter INPUT_BITS  = 1,   // 1: bipolar bits (XNOR-popcount); > 1: unsigned codes
    parameter OUTPUT_MODE = 0,   // 0: threshold bit per channel; 1: signed accumulator
    parameter VECTORS     = 1,   // input vectors per frame (output pixels of a convolution)
    parameter WEIGHT_FILE = "",  // $readmemh file with the weights (layout above)
    parameter WEIGHT_STORAGE = 0,  // 0: ROM, 1: block RAM, 2: LUT ROM, 3: constant (<= 2 words)
    // WEIGHT_STORAGE 3: the (MH/PE)*(MW/SIMD) words, {word 1, word 0} (layout above)
    parameter [((WEIGHT_STORAGE == 3) ? MW * MH : 1)-1:0] WEIGHTS = 0,
    parameter THRESH_FILE = "",  // $readmemh file with the thresholds (OUTPUT_MODE 0)
    // Derived, do not override (checked):
    parameter ACC_WIDTH   = $clog2(MW * ((1 << INPUT_BITS) - 1) + 1) + 1,  // signed acc bits
    parameter OUT_WIDTH   = (OUTPUT_MODE != 0) ? PE * ACC_WIDTH : PE       // m_axis_tdata bits
) (
    input  wire                       clk,
    input  wire                       rst,
    input  wire [SIMD*INPUT_BITS-1:0] s_axis_tdata,
    input  wire                       s_axis_tvalid,
    output wire                       s_axis_tready,
    input  wire                       s_axis_tlast,
    output wire [OUT_WIDTH-1:0]       m_axis_tdata,
    output wire                       m_axis_tvalid,
    input  wire                       m_axis_tready,
    output wire                       m_axis_tlast
);
    localparam SF       = (SIMD > 0) ? MW / SIMD : 1;               // input beats per vector
    localparam NF       = (PE > 0) ? MH / PE : 1;                   // neuron folds
    localparam IN_WIDTH = SIMD * INPUT_BITS;                        // bits per input beat
    localparam MAX_ABS  = MW * ((1 << INPUT_BITS) - 1);             // largest |acc|
    // Bits of one threshold: unsigned popcount threshold 0..MW+1, or signed -MAX_ABS..MAX_ABS+1.
    localparam THRESH_WIDTH = (INPUT_BITS == 1) ? $clog2(MW + 2) : $clog2(MAX_ABS + 2) + 1;
    // Bits of the running sum: unsigned popcount 0..MW, or the signed accumulator.
    localparam SUM_WIDTH    = (INPUT_BITS == 1) ? $clog2(MW + 1) : ACC_WIDTH;
    localparam SF_WIDTH     = (SF > 1) ? $clog2(SF) : 1;            // SIMD-group counter bits
    localparam NF_WIDTH     = (NF > 1) ? $clog2(NF) : 1;            // fold counter bits
    localparam WADDR_WIDTH  = (NF * SF > 1) ? $clog2(NF * SF) : 1;  // weight address bits
    localparam VEC_WIDTH    = (VECTORS > 1) ? $clog2(VECTORS) : 1;  // vector counter bits
    localparam CTRL_WIDTH   = NF_WIDTH + 3;                 // {first, last, flast, nf}
    // Lane sums (hwbnn_mvau_lanes): adder levels, levels per register; the registers (its
    // derived REGS), and the cycles from a vector's last input beat to its first output beat
    // without stalls (read back by the testbench).
    localparam TREE_DEPTH   = (SIMD > 1) ? $clog2(SIMD) : 0;
    // 3 levels of XNOR counts per register; 2 of +-code sums (wider adders: 110 MHz on
    // ECP5 for 8-bit codes at SIMD 16, against 78 MHz and twice the LUT4s at 3)
    localparam TREE_LEVELS_PER_REG = (INPUT_BITS > 1) ? 2 : 3;
    localparam TREE_HALF    = (WEIGHT_STORAGE == 3 && NF * SF == 1 && INPUT_BITS == 1
                               && SIMD >= 16) ? 1 : 0;  // hwbnn_mvau_lanes' HALF
    localparam TREE_REGS    = ((TREE_DEPTH > 0) ? (TREE_DEPTH - 1) / TREE_LEVELS_PER_REG : 0)
                              + TREE_HALF;
    localparam X_GROUP      = 4;  // PEs per copy of the input register (HALF path)
    localparam X_COPIES     = (TREE_HALF != 0) ? (PE + X_GROUP - 1) / X_GROUP : 1;
    // Copies of the inputs' first register (a_x), each feeding X_MID_GROUP copies of the
    // second, when there are more than X_MID_GROUP: one a_x bit reaching copies all over the die
    // was TFC-1's critical path on ECP5 (13.2 ns of routing from a single a_x).
    localparam X_MID_GROUP  = 4;
    localparam X_MIDS       = (X_COPIES > X_MID_GROUP)
                              ? (X_COPIES + X_MID_GROUP - 1) / X_MID_GROUP : 1;
    // The pipeline enable (run) in one register level, or, for layers that large (X_MIDS > 1),
    // in two (RUN_MIDS copies, each feeding the copies of its share of the layer); a level
    // more delays the stall by a cycle, so the output has a place more (SKID behind the
    // output register: run is high when the places cannot overflow before it drops).
    localparam RUN_LEVELS   = (X_MIDS > 1) ? 2 : 1;
    localparam RUN_MIDS     = X_MIDS;
    localparam SKID         = RUN_LEVELS;
    // copies of the pipeline enable: the control, one per PE (lane sum, partial sum,
    // accumulator), one per copy of the inputs (and of a_x when there are several), and at two
    // levels one for s_axis_tready alone (it reaches the unit in front)
    localparam EN_COPIES    = 1 + PE + X_COPIES + ((X_MIDS > 1) ? X_MIDS : 0)
                              + ((RUN_LEVELS > 1) ? 1 : 0);
    localparam READY_COPY   = (RUN_LEVELS > 1) ? EN_COPIES - 1 : 0;
    // The output places in OUT_GROUPS groups of output bits, each with its own copies of the
    // places' state (valid, skid count, s3_valid) and of the enable, so that no decision of the
    // output stage fans out across a large layer (one group at one enable level). The copies of
    // the enable for groups 1.. follow the others (group 0 uses the control copy run[0]).
    localparam OUT_GROUP    = 8;  // output bits per group
    localparam OUT_GROUPS   = (RUN_LEVELS > 1) ? (OUT_WIDTH + OUT_GROUP - 1) / OUT_GROUP : 1;
    // At two levels each copy of the inputs' registers (a_x, b_x: IN_WIDTH flip-flops each)
    // takes its enable from X_EN_SPLIT copies of run, one per slice of its bits (one copy of
    // run to the 784 clock enables of an a_x copy was 10.8 ns of routing in TFC-1 on ECP5);
    // those copies follow the output groups' (SPLIT_BASE: a_x's, then b_x's).
    localparam X_EN_SPLIT   = (RUN_LEVELS > 1 && IN_WIDTH >= 4) ? 4 : 1;
    localparam SPLIT_BASE   = EN_COPIES + OUT_GROUPS - 1;
    localparam RUN_COPIES   = SPLIT_BASE + (X_MIDS + X_COPIES) * (X_EN_SPLIT - 1);  // all
    // one beat per vector and one fold: the beat goes straight to the operand register
    localparam DIRECT       = (SF == 1 && NF == 1) ? 1 : 0;
    /* verilator lint_off UNUSEDPARAM */
    localparam LATENCY      = SF + 5 + TREE_REGS - DIRECT;
    /* verilator lint_on UNUSEDPARAM */
    localparam IADDR_WIDTH  = $clog2(2 * SF);                       // input buffer address bits
    localparam integer SF_M1 = SF - 1;
    localparam integer NF_M1 = NF - 1;
    localparam integer WADDR_M1 = NF * SF - 1;
    localparam [SF_WIDTH-1:0]    SF_LAST    = SF_M1[SF_WIDTH-1:0];
    localparam [NF_WIDTH-1:0]    NF_LAST    = NF_M1[NF_WIDTH-1:0];
    localparam integer VEC_M1 = VECTORS - 1;
    localparam [WADDR_WIDTH-1:0] WADDR_LAST = WADDR_M1[WADDR_WIDTH-1:0];
    localparam [VEC_WIDTH-1:0]   VEC_LAST   = VEC_M1[VEC_WIDTH-1:0];
    localparam [IADDR_WIDTH-1:0] BANK1_BASE = SF[IADDR_WIDTH-1:0];
    localparam [ACC_WIDTH-1:0]   MW_ACC     = MW[ACC_WIDTH-1:0];

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(PE >= 1 && MH >= 1 && MH % PE == 0), .RULE("PE must divide MH"),
        .NAME0("PE"), .VALUE0(PE), .NAME1("MH"), .VALUE1(MH)) u_check_pe ();
    hwbnn_param_check #(.OK(SIMD >= 1 && MW >= 1 && MW % SIMD == 0),
        .RULE("SIMD must divide MW"), .NAME0("SIMD"), .VALUE0(SIMD), .NAME1("MW"), .VALUE1(MW)
    ) u_check_simd ();
    // (MW*(2^INPUT_BITS-1) must stay well inside 32-bit parameter arithmetic.)
    hwbnn_param_check #(.OK(INPUT_BITS >= 1 && INPUT_BITS <= 16),
        .RULE("INPUT_BITS must be in 1..16"), .NAME0("INPUT_BITS"), .VALUE0(INPUT_BITS)
    ) u_check_input_bits ();
    hwbnn_param_check #(.OK(OUTPUT_MODE == 0 || OUTPUT_MODE == 1),
        .RULE("OUTPUT_MODE must be 0 or 1"), .NAME0("OUTPUT_MODE"), .VALUE0(OUTPUT_MODE)
    ) u_check_output_mode ();
    hwbnn_param_check #(.OK(VECTORS >= 1), .RULE("VECTORS must be at least 1"),
        .NAME0("VECTORS"), .VALUE0(VECTORS)) u_check_vectors ();
    hwbnn_param_check #(.OK(ACC_WIDTH == $clog2(MAX_ABS + 1) + 1
                            && OUT_WIDTH == ((OUTPUT_MODE != 0) ? PE * ACC_WIDTH : PE)),
        .RULE("ACC_WIDTH and OUT_WIDTH are derived, do not override them"),
        .NAME0("ACC_WIDTH"), .VALUE0(ACC_WIDTH), .NAME1("OUT_WIDTH"), .VALUE1(OUT_WIDTH)
    ) u_check_derived ();

    // ---------------------------------------------------------------- input vector buffer
    // Two banks of SF words: bank b holds words b*SF .. b*SF+SF-1.
    reg [1:0]             bank_full;  // bank b holds a whole vector not yet fully issued
    reg [1:0]             bank_flast; // bank b holds the last vector of a frame
    reg [VEC_WIDTH-1:0]   wr_vec;     // vector of the frame being loaded
    reg                   wr_bank;    // bank being loaded
    reg [SF_WIDTH-1:0]    wr_sf;      // next word of the bank being loaded
    reg                   rd_bank;    // bank being computed on
    wire                  in_accept = s_axis_tvalid && s_axis_tready;
    wire                  in_end    = (wr_sf == SF_LAST) || s_axis_tlast;  // vector ends
    wire                  in_fend   = (wr_vec == VEC_LAST) || s_axis_tlast;  // frame ends
    /* verilator lint_off UNUSEDSIGNAL */  // DIRECT has no buffer
    wire [IADDR_WIDTH-1:0] ibuf_waddr;
    wire [IADDR_WIDTH-1:0] ibuf_raddr;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [IN_WIDTH-1:0]    ibuf_word;  // the buffer's word at ibuf_raddr (DIRECT: the beat)

    // DIRECT (one beat per vector and one fold): no buffer, a beat is issued as it arrives
    // and taken whenever the pipeline runs (en, a register).
    assign s_axis_tready = (DIRECT != 0) ? run[READY_COPY] : !bank_full[wr_bank];

    generate
        if (DIRECT == 0) begin : g_ibuf
            reg [IN_WIDTH-1:0] ibuf [0:2*SF-1];
            always @(posedge clk) begin
                if (in_accept) begin
                    ibuf[ibuf_waddr] <= s_axis_tdata;
                end
            end
            assign ibuf_word = ibuf[ibuf_raddr];
        end else begin : g_direct
            assign ibuf_word = s_axis_tdata;
        end
    endgenerate

    // ---------------------------------------------------------------- issue (stage 0)
    // en advances the whole compute pipeline. It is a register (run), so that its fan-out to
    // every pipeline register starts at a flip-flop and can be copied (RUN_COPIES, see the
    // localparams). A register reacts RUN_LEVELS cycles late, so the output has SKID places
    // behind its register (below): run is high for the next cycle when every beat the running
    // cycles may still produce has room.
    wire [RUN_COPIES-1:0]  run;  // copies of one value
    wire                   en = run[0];
    // (DIRECT: the banks are written and issued in one cycle, so bank_full stays 0)
    wire                   issue = (DIRECT != 0) ? in_accept : en && bank_full[rd_bank];
    reg  [SF_WIDTH-1:0]    c_sf;   // SIMD group being issued
    reg  [NF_WIDTH-1:0]    c_nf;   // neuron fold being issued
    reg  [WADDR_WIDTH-1:0] waddr;  // c_nf*SF + c_sf
    wire                   issue_end = (waddr == WADDR_LAST);  // last pair of the vector

    // Input buffer addresses: bank*SF + word (IADDR_WIDTH = SF_WIDTH + 1, except for SF = 1,
    // where the bank alone is the address).
    generate
        if (SF == 1) begin : g_iaddr_bank
            assign ibuf_waddr = wr_bank;
            assign ibuf_raddr = rd_bank;
        end else begin : g_iaddr_bank_word
            assign ibuf_waddr = wr_bank ? BANK1_BASE + {1'b0, wr_sf} : {1'b0, wr_sf};
            assign ibuf_raddr = rd_bank ? BANK1_BASE + {1'b0, c_sf} : {1'b0, c_sf};
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            bank_full <= 2'b00;
            wr_bank   <= 1'b0;
            wr_sf     <= {SF_WIDTH{1'b0}};
            wr_vec    <= {VEC_WIDTH{1'b0}};
            rd_bank   <= 1'b0;
            c_sf      <= {SF_WIDTH{1'b0}};
            c_nf      <= {NF_WIDTH{1'b0}};
            waddr     <= {WADDR_WIDTH{1'b0}};
        end else begin
            // A bank is never loaded and issued at once, so the two updates never collide.
            if (in_accept) begin
                if (in_end) begin
                    bank_full[wr_bank]  <= 1'b1;
                    bank_flast[wr_bank] <= in_fend;
                    wr_bank             <= !wr_bank;
                    wr_sf               <= {SF_WIDTH{1'b0}};
                    wr_vec              <= in_fend ? {VEC_WIDTH{1'b0}} : wr_vec + 1'b1;
                end else begin
                    wr_sf <= wr_sf + 1'b1;
                end
            end
            if (issue) begin
                if (issue_end) begin
                    bank_full[rd_bank] <= 1'b0;
                    rd_bank            <= !rd_bank;
                    waddr              <= {WADDR_WIDTH{1'b0}};
                end else begin
                    waddr <= waddr + 1'b1;
                end
                if (c_sf == SF_LAST) begin
                    c_sf <= {SF_WIDTH{1'b0}};
                    c_nf <= (c_nf == NF_LAST) ? {NF_WIDTH{1'b0}} : c_nf + 1'b1;
                end else begin
                    c_sf <= c_sf + 1'b1;
                end
            end
        end
    end

    // ---------------------------------------------------------------- stage 1: operands
    // Synchronous reads of the weights and the input buffer (a_*), then their output
    // registers (b_*), so the block RAM's clock-to-out never meets the adder tree.
    /* verilator lint_off UNUSEDSIGNAL */  // constant weights in the popcount use b_sel only
    wire [PE*SIMD-1:0] b_w;    // the pair's weights
    wire               b_sel;  // waddr[0] of the pair (constant weights: the word)
    /* verilator lint_on UNUSEDSIGNAL */
    wire [X_MIDS*IN_WIDTH-1:0] a_x;    // X_MIDS copies of the pair's inputs
    wire [X_COPIES*IN_WIDTH-1:0] b_x;  // X_COPIES copies of them a cycle later
    reg                a_valid, b_valid;
    reg [CTRL_WIDTH-1:0] a_ctrl, b_ctrl;  // {first, last, flast, nf} of the pair

    always @(posedge clk) begin
        if (en) begin
            a_ctrl <= {c_sf == {SF_WIDTH{1'b0}}, c_sf == SF_LAST,
                       (DIRECT != 0) ? in_fend : bank_flast[rd_bank], c_nf};
            b_ctrl <= a_ctrl;
        end
    end

    // The inputs' second register, once per group of about X_GROUP PEs on the sparser-half
    // path: there every input fans out to the first cells of half the PEs, and one register
    // per input (yosys merges identical registers unless kept) made that fan-out the
    // critical path of a 784 x 64 layer on ECP5 (18 ns of routing across the die).
    // With more than X_MID_GROUP of those, a_x itself is copied (X_MIDS), each copy feeding
    // X_MID_GROUP of them: two levels of fan-out, no added latency.
    genvar gc, gk;
    generate
        for (gc = 0; gc < X_MIDS; gc = gc + 1) begin : g_a_x_copy
            // one copy: on the control's enable; several: each on its own (X_EN_SPLIT slices)
            localparam integer EN_A = (X_MIDS > 1) ? 1 + PE + X_COPIES + gc : 0;
            reg [IN_WIDTH-1:0] r;
            for (gk = 0; gk < X_EN_SPLIT; gk = gk + 1) begin : g_slice
                localparam integer LO = gk * IN_WIDTH / X_EN_SPLIT;
                localparam integer HI = (gk + 1) * IN_WIDTH / X_EN_SPLIT;
                localparam integer EN_K = (gk == 0) ? EN_A
                                          : SPLIT_BASE + gc * (X_EN_SPLIT - 1) + gk - 1;
                (* keep *)
                always @(posedge clk) begin
                    if (run[EN_K]) begin
                        r[HI-1:LO] <= ibuf_word[HI-1:LO];
                    end
                end
            end
            assign a_x[gc*IN_WIDTH +: IN_WIDTH] = r;
        end
        for (gc = 0; gc < X_COPIES; gc = gc + 1) begin : g_x_copy
            reg [IN_WIDTH-1:0] r;
            wire [IN_WIDTH-1:0] from = a_x[(gc / X_MID_GROUP)*IN_WIDTH +: IN_WIDTH];
            for (gk = 0; gk < X_EN_SPLIT; gk = gk + 1) begin : g_slice
                localparam integer LO = gk * IN_WIDTH / X_EN_SPLIT;
                localparam integer HI = (gk + 1) * IN_WIDTH / X_EN_SPLIT;
                localparam integer EN_K = (gk == 0) ? 1 + PE + gc
                    : SPLIT_BASE + (X_MIDS + gc) * (X_EN_SPLIT - 1) + gk - 1;
                (* keep *)
                always @(posedge clk) begin
                    if (run[EN_K]) begin
                        r[HI-1:LO] <= from[HI-1:LO];
                    end
                end
            end
            assign b_x[gc*IN_WIDTH +: IN_WIDTH] = r;
        end
    endgenerate

    hwbnn_mvau_weights #(.DEPTH(NF * SF), .WIDTH(PE * SIMD), .STORAGE(WEIGHT_STORAGE),
        .WEIGHT_FILE(WEIGHT_FILE), .WEIGHTS(WEIGHTS)
    ) u_weights (.clk(clk), .en(en), .addr(waddr), .w(b_w), .sel(b_sel));

    // ---------------------------------------------------------------- stage 2: lane sums
    // Per PE the lane sum (hwbnn_mvau_lanes: XNOR popcounts, constant-weight counts or adder
    // trees of +-codes, TREE_REGS registers), the pair's {valid, control} alongside.
    wire [PE*SUM_WIDTH-1:0] partial;
    wire                    t_valid;
    wire [CTRL_WIDTH-1:0]   t_ctrl;
    hwbnn_mvau_lanes #(.PE(PE), .SIMD(SIMD), .INPUT_BITS(INPUT_BITS), .WORDS(NF * SF),
        .CONST((WEIGHT_STORAGE == 3) ? 1 : 0), .WEIGHTS(WEIGHTS),
        .LEVELS_PER_REG(TREE_LEVELS_PER_REG), .TAG_WIDTH(CTRL_WIDTH + 1), .SUM_WIDTH(SUM_WIDTH),
        .X_COPIES(X_COPIES), .EN_COPIES(PE)
    ) u_lanes (.clk(clk), .rst(rst), .en(run[PE:1]), .w(b_w), .sel(b_sel), .x(b_x),
        .x_early(a_x[IN_WIDTH-1:0]), .in_tag_early({a_valid, a_ctrl}),
        .in_tag({b_valid, b_ctrl}), .sum(partial), .tag({t_valid, t_ctrl}));

    reg [PE*SUM_WIDTH-1:0] s2_partial;
    reg                    s2_valid;
    reg                    s2_first;
    reg                    s2_last;
    reg                    s2_flast;
    reg [NF_WIDTH-1:0]     s2_nf;

    always @(posedge clk) begin
        if (en) begin
            {s2_first, s2_last, s2_flast, s2_nf} <= t_ctrl;
        end
    end

    // ---------------------------------------------------------------- stage 3: accumulate
    // acc holds the running sums; after the last SIMD group of a fold it holds the result
    // (s3_valid) until the next fold's first group replaces it.
    reg  [PE*SUM_WIDTH-1:0] acc;
    reg  [PE*SUM_WIDTH-1:0] acc_next;
    reg                     s3_valid;
    wire                    s3_push = s2_valid && s2_last;  // s3_valid's next value (running)
    reg  [NF_WIDTH-1:0]     s3_nf;
    reg                     s3_flast;
    // one SIMD group per vector: every pair is a whole sum (first and last), so no adder
    // (yosys does not see that s2_first is constant: TFC-1 had an adder per PE here)
    integer q;
    always @* begin
        for (q = 0; q < PE; q = q + 1) begin
            acc_next[q*SUM_WIDTH +: SUM_WIDTH] = (SF == 1) ? s2_partial[q*SUM_WIDTH +: SUM_WIDTH]
                : (s2_first ? {SUM_WIDTH{1'b0}} : acc[q*SUM_WIDTH +: SUM_WIDTH])
                  + s2_partial[q*SUM_WIDTH +: SUM_WIDTH];
        end
    end

    // per PE on its copy of the enable; with one SIMD group per vector the accumulator takes
    // every pair, valid or not (s3_valid marks the valid one), so its enable is the copy alone
    genvar gq2;
    generate
        for (gq2 = 0; gq2 < PE; gq2 = gq2 + 1) begin : g_acc
            always @(posedge clk) begin
                if (run[1 + gq2]) begin
                    s2_partial[gq2*SUM_WIDTH +: SUM_WIDTH] <= partial[gq2*SUM_WIDTH +: SUM_WIDTH];
                end
                if (run[1 + gq2] && (SF == 1 || s2_valid)) begin
                    acc[gq2*SUM_WIDTH +: SUM_WIDTH] <= acc_next[gq2*SUM_WIDTH +: SUM_WIDTH];
                end
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (en) begin
            s3_nf    <= s2_nf;
            s3_flast <= s2_flast;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            a_valid  <= 1'b0;
            b_valid  <= 1'b0;
            s2_valid <= 1'b0;
            s3_valid <= 1'b0;
        end else if (en) begin
            a_valid  <= issue;
            b_valid  <= a_valid;
            s2_valid <= t_valid;
            s3_valid <= s3_push;
        end
    end

    // ---------------------------------------------------------------- stage 4: output
    // Comparisons run in CMP_WIDTH bits, wider than both operands.
    localparam CMP_WIDTH = THRESH_WIDTH + 1;
    wire [OUT_WIDTH-1:0] result;
    generate
        if (OUTPUT_MODE == 0) begin : g_threshold
            reg [PE*THRESH_WIDTH-1:0] tmem [0:NF-1];
            reg [PE*THRESH_WIDTH-1:0] s3_thresh;  // thresholds of fold s3_nf
            if (THRESH_FILE != "") begin : g_load_thresholds
                initial $readmemh(THRESH_FILE, tmem);
            end else begin : g_no_thresholds
                integer i;
                initial $display("WARNING: %m: THRESH_FILE is empty, all thresholds are 0");
                initial for (i = 0; i < NF; i = i + 1) tmem[i] = {(PE * THRESH_WIDTH){1'b0}};
            end
            if (NF == 1) begin : g_one_fold  // one word: constants after synthesis
                always @(posedge clk) begin
                    if (en) begin
                        s3_thresh <= tmem[0];
                    end
                end
            end else begin : g_folds
                // read with the fold entering stage 2 (t_ctrl's nf), registered as s2_nf is,
                // then once more beside stage 3: the memory's clock-to-out (5.6 ns from a
                // DP16KD without its output register) ends at a flip-flop, not in the compare
                // (CNV at 16,384 cycles/frame: 72.5 MHz with that read as its critical path)
                reg [PE*THRESH_WIDTH-1:0] s2_thresh;  // thresholds of fold s2_nf
                always @(posedge clk) begin
                    if (en) begin
                        s2_thresh <= tmem[t_ctrl[NF_WIDTH-1:0]];
                        s3_thresh <= s2_thresh;
                    end
                end
            end
            // acc >= threshold in CMP_WIDTH bits: unsigned popcounts (INPUT_BITS = 1), else
            // two's complement; as gates when the thresholds are one word (constants after
            // synthesis), see hwbnn_compare_ge
            genvar gq;
            for (gq = 0; gq < PE; gq = gq + 1) begin : g_compare
                wire [SUM_WIDTH-1:0]    a = acc[gq*SUM_WIDTH +: SUM_WIDTH];
                wire [THRESH_WIDTH-1:0] t = s3_thresh[gq*THRESH_WIDTH +: THRESH_WIDTH];
                wire                    a_ext = (INPUT_BITS == 1) ? 1'b0 : a[SUM_WIDTH-1];
                wire                    t_ext = (INPUT_BITS == 1) ? 1'b0 : t[THRESH_WIDTH-1];
                hwbnn_compare_ge #(.WIDTH(CMP_WIDTH), .SIGNED((INPUT_BITS == 1) ? 0 : 1),
                    .GATES((NF == 1) ? 1 : 0)
                ) u_ge (.a({{(CMP_WIDTH - SUM_WIDTH){a_ext}}, a}), .b({t_ext, t}),
                    .ge(result[gq]));
            end
        end else if (INPUT_BITS == 1) begin : g_dot_product
            // 2*popcount - MW (SUM_WIDTH = ACC_WIDTH - 1)
            genvar gq;
            for (gq = 0; gq < PE; gq = gq + 1) begin : g_pe
                assign result[gq*ACC_WIDTH +: ACC_WIDTH] =
                    {acc[gq*SUM_WIDTH +: SUM_WIDTH], 1'b0} - MW_ACC;
            end
        end else begin : g_accumulator
            // the signed sum itself (SUM_WIDTH = ACC_WIDTH)
            assign result = acc;
        end
    endgenerate

    // 1 + SKID places for output beats: the output register (m_axis_*) and SKID behind it (a
    // FIFO, its oldest beat in skid entry 0), per group of output bits (OUT_GROUPS, each with
    // its own copy of the state; they decide alike). A running cycle with s3_valid pushes
    // result; the output register takes the oldest skid beat, else the pushed one, whenever it
    // is empty or taken. run_next (from group 0): the places taken after this cycle, plus the
    // push the next cycle may still make at two levels (run_mid), leave room for every push
    // run allows before it drops.
    wire                 push_last = (s3_nf == NF_LAST) && s3_flast;
    /* verilator lint_off UNUSEDSIGNAL */  // one level: no mid copies
    wire [((RUN_LEVELS > 1) ? RUN_MIDS : 1)-1:0] run_mid;
    /* verilator lint_on UNUSEDSIGNAL */
    wire                 pending = (RUN_LEVELS > 1) ? run_mid[0] : 1'b0;  // next cycle's run
    wire [2:0]           places_next;  // group 0's places taken after this cycle, + pending
    wire                 run_next = places_next <= SKID;

    genvar gg;
    generate
        for (gg = 0; gg < OUT_GROUPS; gg = gg + 1) begin : g_out
            localparam integer LO = gg * OUT_GROUP;
            localparam integer GW = (OUT_WIDTH - LO < OUT_GROUP || OUT_GROUPS == 1)
                                    ? OUT_WIDTH - LO : OUT_GROUP;  // bits of this group
            wire               run_g = (gg == 0) ? en : run[EN_COPIES + gg - 1];
            wire               s3_valid_g;
            reg  [GW-1:0]      data;
            reg                last;
            reg                valid;
            reg  [1:0]         count;  // skid entries taken, 0..SKID
            wire [GW-1:0]      skid_head;
            wire               skid_head_last;
            if (gg == 0) begin : g_first_valid
                assign s3_valid_g = s3_valid;
            end else begin : g_valid_copy
                reg r;
                (* keep *)
                always @(posedge clk) begin
                    if (rst) begin
                        r <= 1'b0;
                    end else if (run_g) begin
                        r <= s3_push;
                    end
                end
                assign s3_valid_g = r;
            end
            wire        push = run_g && s3_valid_g;
            wire        head_free = !valid || m_axis_tready;
            wire        take = head_free && (count != 2'd0);  // skid -> output register
            wire        put  = push && ((count != 2'd0) || !head_free);  // push -> skid
            /* verilator lint_off UNUSEDSIGNAL */  // one skid entry: kept is 0 whenever put
            wire [1:0]  kept = count - {1'b0, take};  // skid entries not taken
            /* verilator lint_on UNUSEDSIGNAL */
            wire        valid_next = head_free ? ((count != 2'd0) || push) : 1'b1;
            wire [1:0]  count_next = kept + {1'b0, put};
            wire [GW-1:0] pushed = result[LO +: GW];

            if (SKID == 1) begin : g_skid_one
                reg [GW-1:0] d;
                reg          l;
                always @(posedge clk) begin
                    if (put) begin
                        d <= pushed;
                        l <= push_last;
                    end
                end
                assign skid_head      = d;
                assign skid_head_last = l;
            end else begin : g_skid_two
                reg [GW-1:0] d0, d1;
                reg          l0, l1;
                always @(posedge clk) begin
                    if (take) begin
                        d0 <= d1;
                        l0 <= l1;
                    end
                    if (put && kept == 2'd0) begin
                        d0 <= pushed;
                        l0 <= push_last;
                    end
                    if (put && kept != 2'd0) begin
                        d1 <= pushed;
                        l1 <= push_last;
                    end
                end
                assign skid_head      = d0;
                assign skid_head_last = l0;
            end

            always @(posedge clk) begin
                if (head_free) begin
                    if (count != 2'd0) begin
                        data <= skid_head;
                        last <= skid_head_last;
                    end else if (push) begin
                        data <= pushed;
                        last <= push_last;
                    end
                end
            end

            (* keep *)  // one copy per group (yosys would merge them)
            always @(posedge clk) begin
                if (rst) begin
                    valid <= 1'b0;
                    count <= 2'd0;
                end else begin
                    valid <= valid_next;
                    count <= count_next;
                end
            end

            assign m_axis_tdata[LO +: GW] = data;
            if (gg == 0) begin : g_state
                assign m_axis_tvalid = valid;
                assign m_axis_tlast  = last;
                assign places_next = {2'b00, valid_next} + {1'b0, count_next} + {2'b00, pending};
            end else begin : g_copy_state
                wire unused_last = last;  // group 0 holds tlast
            end
        end
    endgenerate

    // run and its copies (kept: yosys would merge identical registers)
    genvar ge;
    generate
        // the first level (all the copies at one level)
        localparam RUN_FIRST = (RUN_LEVELS > 1) ? RUN_MIDS : RUN_COPIES;
        wire [RUN_FIRST-1:0] run_first;
        for (ge = 0; ge < RUN_FIRST; ge = ge + 1) begin : g_first
            reg r;
            (* keep *)
            always @(posedge clk) begin
                r <= rst || run_next;
            end
            assign run_first[ge] = r;
        end
        if (RUN_LEVELS == 1) begin : g_run_one
            assign run     = run_first;
            assign run_mid = 1'b0;
        end else begin : g_run_two
            assign run_mid = run_first;
            for (ge = 0; ge < RUN_COPIES; ge = ge + 1) begin : g_run
                reg r;
                (* keep *)
                always @(posedge clk) begin
                    r <= run_mid[ge * RUN_MIDS / RUN_COPIES];
                end
                assign run[ge] = r;
            end
        end
    endgenerate
endmodule

`default_nettype wire
