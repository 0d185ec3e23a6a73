// hwbnn_dbf: a Deterministic Binary Filter layer, "basis first" (Tseng, Bhattacharya,
// Fernandez-Marques, Alizadeh, Tong and Lane, IJCAI 2018; IR: hwbnn.ir.dbf).
//
// Per input vector x of MW elements:
//   d_m = sum_i x_i * b_mi          for the BASES fixed codes b_m (CODES bit 1 = +1, 0 = -1),
//                                   x_i = -1/+1 for bits (INPUT_BITS = 1), else the code k_i
//   y_c = sum_m alpha_cm * d_m      for the MH output channels (ALPHA, signed integers)
//   OUTPUT_MODE 0: bit c = (y_c >= T_c);  OUTPUT_MODE 1: y_c (ACC_WIDTH bits, two's complement)
// The codes, alpha and thresholds are parameters: no memory. Every basis product is shared by
// all MH channels, so the unit needs BASES*SIMD XNOR (or +-k) lanes against constants instead
// of PE*SIMD lanes against stored weights, plus PE*BASES_PER_CYCLE small multipliers.
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
// Schedule: the basis stage adds one beat's SIMD elements to all BASES sums per cycle, into
// one of two slots (the next vector loads while the combination stage works on the other);
// the combination stage adds BASES_PER_CYCLE products with alpha to each of PE channels per
// cycle, so an output beat takes BASES/BASES_PER_CYCLE cycles. A vector takes
// max(MW/SIMD, (MH/PE) * (BASES/BASES_PER_CYCLE)) cycles when input and output never stall. Latency from a
// vector's last input beat to its first output beat (localparam LATENCY): 1 + BASES/BASES_PER_CYCLE
// cycles.
// The combination stage stalls while the output register holds a beat that is not taken;
// m_axis_tvalid and s_axis_tready come from registers only.
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
    localparam THRESH_WIDTH = ACC_WIDTH + 1;                        // signed threshold bits
    localparam SLOT_WIDTH  = BASES * BASIS_WIDTH;                   // one vector's d
    localparam SF_WIDTH    = (SF > 1) ? $clog2(SF) : 1;             // beat counter bits
    localparam NF_WIDTH    = (NF > 1) ? $clog2(NF) : 1;             // fold counter bits
    localparam BF_WIDTH    = (BF > 1) ? $clog2(BF) : 1;             // basis fold counter bits
    localparam VEC_WIDTH   = (VECTORS > 1) ? $clog2(VECTORS) : 1;   // vector counter bits
    /* verilator lint_off UNUSEDPARAM */
    localparam LATENCY     = 1 + BF;
    /* verilator lint_on UNUSEDPARAM */
    localparam integer SF_M1 = SF - 1;
    localparam integer NF_M1 = NF - 1;
    localparam integer VEC_M1 = VECTORS - 1;
    localparam [SF_WIDTH-1:0]  SF_LAST  = SF_M1[SF_WIDTH-1:0];
    localparam [NF_WIDTH-1:0]  NF_LAST  = NF_M1[NF_WIDTH-1:0];
    localparam integer BF_M1 = BF - 1;
    localparam [BF_WIDTH-1:0]  BF_LAST  = BF_M1[BF_WIDTH-1:0];
    localparam [VEC_WIDTH-1:0] VEC_LAST = VEC_M1[VEC_WIDTH-1:0];

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
    reg [SLOT_WIDTH-1:0] slot0, slot1;  // d of one vector per slot
    reg [1:0]            full;        // slot s holds a whole vector not yet combined
    reg [1:0]            flast;       // slot s holds the last vector of a frame
    reg                  wr_slot;     // slot being loaded
    reg [SF_WIDTH-1:0]   wr_sf;       // next beat of the vector being loaded
    reg [VEC_WIDTH-1:0]  wr_vec;      // vector of the frame being loaded
    reg                  rd_slot;     // slot being combined
    reg [NF_WIDTH-1:0]   c_nf;        // fold being issued
    reg [BF_WIDTH-1:0]   c_bf;        // basis fold being issued
    wire in_accept = s_axis_tvalid && s_axis_tready;
    wire in_end    = (wr_sf == SF_LAST) || s_axis_tlast;
    wire in_fend   = (wr_vec == VEC_LAST) || s_axis_tlast;

    wire [SLOT_WIDTH-1:0] wr_d = wr_slot ? slot1 : slot0;  // running sums being loaded
    wire [SLOT_WIDTH-1:0] rd_d = rd_slot ? slot1 : slot0;  // d being combined

    assign s_axis_tready = !full[wr_slot];

    // The constants, cut into the words one cycle uses: the codes of beat sf (bit m*SIMD + s
    // is element sf*SIMD + s of code m), alpha of fold nf (field p*BASES + m is channel
    // nf*PE + p, basis m) and its thresholds (field p), so that a cycle selects one word by
    // its counter instead of shifting the whole constant.
    wire [BASES*SIMD-1:0]                code_beat   [0:SF-1];
    wire [PE*BASES*ALPHA_BITS-1:0]       alpha_fold  [0:NF-1];
    wire [PE*THRESH_WIDTH-1:0]           thresh_fold [0:NF-1];
    genvar gs, gm, gf;
    generate
        for (gs = 0; gs < SF; gs = gs + 1) begin : g_beat
            for (gm = 0; gm < BASES; gm = gm + 1) begin : g_code
                assign code_beat[gs][gm*SIMD +: SIMD] = CODES[gm*MW + gs*SIMD +: SIMD];
            end
        end
        for (gf = 0; gf < NF; gf = gf + 1) begin : g_fold
            assign alpha_fold[gf] =
                ALPHA[gf*PE*BASES*ALPHA_BITS +: PE*BASES*ALPHA_BITS];
            assign thresh_fold[gf] = THRESHOLDS[gf*PE*THRESH_WIDTH +: PE*THRESH_WIDTH];
        end
    endgenerate
    wire [BASES*SIMD-1:0]          codes_now  = code_beat[wr_sf];
    wire [PE*BASES*ALPHA_BITS-1:0] alpha_now  = alpha_fold[c_nf];
    wire [PE*THRESH_WIDTH-1:0]     thresh_now = thresh_fold[c_nf];

    // The beat's contribution to every basis sum, added to the slot's running sums.
    reg [SLOT_WIDTH-1:0]        summed;
    reg signed [BASIS_WIDTH-1:0] part;
    reg signed [BASIS_WIDTH-1:0] value;
    reg [INPUT_BITS-1:0]        element;
    reg [BASIS_WIDTH-1:0]       wide;  // the element zero-extended
    reg                         code;
    integer m, s;
    always @(*) begin
        summed = {SLOT_WIDTH{1'b0}};
        for (m = 0; m < BASES; m = m + 1) begin
            part = {BASIS_WIDTH{1'b0}};
            for (s = 0; s < SIMD; s = s + 1) begin
                element = s_axis_tdata[s*INPUT_BITS +: INPUT_BITS];
                wide = {{(BASIS_WIDTH - INPUT_BITS){1'b0}}, element};
                code = codes_now[m*SIMD + s];
                if (INPUT_BITS == 1)
                    value = (element[0] == code) ? 1 : -1;
                else
                    value = code ? $signed(wide) : -$signed(wide);
                part = part + value;
            end
            if (wr_sf != {SF_WIDTH{1'b0}})
                part = part + $signed(wr_d[m*BASIS_WIDTH +: BASIS_WIDTH]);
            summed[m*BASIS_WIDTH +: BASIS_WIDTH] = part;
        end
    end

    // ---------------------------------------------------------------- combination stage
    wire en    = !m_axis_tvalid || m_axis_tready;
    wire issue = en && full[rd_slot];
    wire issue_end = (c_nf == NF_LAST);
    wire bf_end    = (c_bf == BF_LAST);
    reg [PE*ACC_WIDTH-1:0] partial;  // y over the basis folds issued so far (BF > 1)

    /* verilator lint_off UNUSEDSIGNAL */
    reg [PE*ACC_WIDTH-1:0]       accs;     // OUTPUT_MODE 1: y of the PE channels
    reg [PE-1:0]                 bits;     // OUTPUT_MODE 0: their threshold bits
    /* verilator lint_on UNUSEDSIGNAL */
    wire [OUT_WIDTH-1:0]         result;
    reg signed [ACC_WIDTH-1:0]   y;
    reg signed [ACC_WIDTH-1:0]   term;
    reg signed [ALPHA_BITS-1:0]  alpha;
    reg signed [BASIS_WIDTH-1:0] d;
    reg signed [THRESH_WIDTH-1:0] t;
    integer p, k;
    always @(*) begin
        accs = {PE*ACC_WIDTH{1'b0}};
        bits = {PE{1'b0}};
        for (p = 0; p < PE; p = p + 1) begin
            if (c_bf == {BF_WIDTH{1'b0}})
                y = {ACC_WIDTH{1'b0}};
            else
                y = partial[p*ACC_WIDTH +: ACC_WIDTH];
            for (k = 0; k < MB; k = k + 1) begin
                alpha = alpha_now[(p*BASES + c_bf*MB + k)*ALPHA_BITS +: ALPHA_BITS];
                d = rd_d[(c_bf*MB + k)*BASIS_WIDTH +: BASIS_WIDTH];
                term = alpha * d;  // both signed: sign-extended to ACC_WIDTH bits
                y = y + term;
            end
            accs[p*ACC_WIDTH +: ACC_WIDTH] = y;
            t = thresh_now[p*THRESH_WIDTH +: THRESH_WIDTH];
            bits[p] = ($signed({y[ACC_WIDTH-1], y}) >= t);
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
        if (rst) begin
            full    <= 2'b00;
            flast   <= 2'b00;
            wr_slot <= 1'b0;
            wr_sf   <= {SF_WIDTH{1'b0}};
            wr_vec  <= {VEC_WIDTH{1'b0}};
            rd_slot <= 1'b0;
            c_nf    <= {NF_WIDTH{1'b0}};
            c_bf    <= {BF_WIDTH{1'b0}};
            m_axis_tvalid <= 1'b0;
            m_axis_tlast  <= 1'b0;
        end else begin
            // the two stages never touch the same slot's flag in one cycle
            if (in_accept) begin
                if (wr_slot) slot1 <= summed;
                else         slot0 <= summed;
                if (in_end) begin
                    full[wr_slot]  <= 1'b1;
                    flast[wr_slot] <= in_fend;
                    wr_slot <= !wr_slot;
                    wr_sf   <= {SF_WIDTH{1'b0}};
                    wr_vec  <= in_fend ? {VEC_WIDTH{1'b0}} : wr_vec + 1'b1;
                end else begin
                    wr_sf <= wr_sf + 1'b1;
                end
            end
            if (issue && !bf_end) begin  // a basis fold: add to the partial sums
                partial <= accs;
                c_bf    <= c_bf + 1'b1;
                m_axis_tvalid <= 1'b0;
            end else if (issue) begin
                m_axis_tdata  <= result;
                m_axis_tvalid <= 1'b1;
                m_axis_tlast  <= issue_end && flast[rd_slot];
                c_bf <= {BF_WIDTH{1'b0}};
                if (issue_end) begin
                    full[rd_slot] <= 1'b0;
                    rd_slot <= !rd_slot;
                    c_nf    <= {NF_WIDTH{1'b0}};
                end else begin
                    c_nf <= c_nf + 1'b1;
                end
            end else if (en) begin
                m_axis_tvalid <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire
