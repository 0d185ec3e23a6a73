// hwbnn_threshold: multi-step per-channel thresholds on an integer stream, the threshold set
// optionally selected per element by a side bit (the Bi-Real shortcut sign(BN(acc) + x) is
// acc >= T[c][x]).
//
// Per element x (IN_BITS two's complement) of channel c with side bit v (SIDE = 1: the
// matching bit of s1_axis; SIDE = 0: v = 0):
//   out = OUT_BASE + #{j in 0..STEPS-1 : x >= T[c][v][j]}
// in OUT_BITS two's complement; OUT_BITS = 1, OUT_BASE = 0, STEPS = 1 is a bit (1 = +1).
// OUT_BITS must hold [OUT_BASE, OUT_BASE + STEPS] (except that binary case); OUT_BASE may be
// negative. Thresholds need not be sorted for this unit (the IR keeps them nondecreasing).
//
// Beat layout: SIMD elements per beat; element s of s_axis_tdata at [s*IN_BITS +: IN_BITS],
// its side bit at s1_axis_tdata[s], its output at m_axis_tdata[s*OUT_BITS +: OUT_BITS].
// Beat b of a frame covers channels (b % (CHANNELS/SIMD))*SIMD + s: the channel fold
// advances by one each beat and wraps, and restarts at 0 after a beat with tlast (so a
// malformed frame cannot shift later frames). The output beat carries s_axis_tlast;
// s1_axis_tlast is not used. With SIDE = 0 the s1_axis inputs are ignored and s1_axis_tready
// is 0.
//
// Threshold memory (THRESH_FILE, $readmemh): CHANNELS/SIMD words of
// SIMD*(SIDE+1)*STEPS*THRESH_WIDTH bits; word f holds T[f*SIMD+s][v][j] (lane s, selection
// v in 0..SIDE, step j) at bits [((s*(SIDE+1) + v)*STEPS + j)*THRESH_WIDTH +: THRESH_WIDTH],
// two's complement. hwbnn.codegen.memfiles.write_threshold_memfile writes it. An empty
// THRESH_FILE sets every threshold to 0 and prints a warning at time 0 (for lint and
// synthesis trials).
//
// Handshake: with SIDE = 1 a data beat and a side beat are consumed together (each input's
// tready waits for the other's tvalid). Timing: one beat per cycle when no port stalls; one
// cycle latency; the threshold ROM is read synchronously (block RAM friendly) one beat
// ahead. m_axis_tdata, m_axis_tvalid and m_axis_tlast are registered; s_axis_tready and
// s1_axis_tready depend combinationally on m_axis_tready (and on the other input's tvalid).
`default_nettype none

module hwbnn_threshold #(
    parameter CHANNELS     = 8,            // channels; the fold of beat b is b % (CHANNELS/SIMD)
    parameter SIMD         = 4,            // elements per beat; divides CHANNELS
    parameter IN_BITS      = 8,            // bits per two's complement input element
    parameter STEPS        = 1,            // thresholds per channel and selection, at least 1
    parameter SIDE         = 0,            // 1: a side bit per element selects the thresholds
    parameter OUT_BITS     = 1,            // bits per output element (two's complement)
    parameter OUT_BASE     = 0,            // output when no threshold is reached (may be < 0)
    parameter THRESH_WIDTH = IN_BITS + 1,  // bits per two's complement threshold
    parameter THRESH_FILE  = ""            // $readmemh file with the thresholds (layout above)
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire [SIMD*IN_BITS-1:0]  s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    input  wire                     s_axis_tlast,
    /* verilator lint_off UNUSEDSIGNAL */  // s1_axis_tdata unused when SIDE = 0; tlast always
    input  wire [SIMD-1:0]          s1_axis_tdata,
    input  wire                     s1_axis_tvalid,
    output wire                     s1_axis_tready,
    input  wire                     s1_axis_tlast,
    /* verilator lint_on UNUSEDSIGNAL */
    output reg  [SIMD*OUT_BITS-1:0] m_axis_tdata,
    output reg                      m_axis_tvalid,
    input  wire                     m_axis_tready,
    output reg                      m_axis_tlast
);
    localparam NF         = (SIMD > 0) ? CHANNELS / SIMD : 1;   // words (channel folds)
    localparam SETS       = (SIDE != 0) ? 2 : 1;                // threshold selections
    localparam WORD_WIDTH = SIMD * SETS * STEPS * THRESH_WIDTH; // bits per threshold word
    localparam ADDR_WIDTH = (NF > 1) ? $clog2(NF) : 1;          // threshold address bits
    // Comparison width: both operands sign-extended by at least one bit.
    localparam CMP_WIDTH  = ((IN_BITS > THRESH_WIDTH) ? IN_BITS : THRESH_WIDTH) + 1;
    localparam X_PAD      = (CMP_WIDTH > IN_BITS) ? CMP_WIDTH - IN_BITS : 1;
    localparam T_PAD      = (CMP_WIDTH > THRESH_WIDTH) ? CMP_WIDTH - THRESH_WIDTH : 1;
    localparam integer NF_M1 = NF - 1;
    localparam [ADDR_WIDTH-1:0] ADDR_LAST = NF_M1[ADDR_WIDTH-1:0];
    // Output range check: [OUT_BASE, OUT_BASE + STEPS] in OUT_BITS two's complement.
    localparam integer OUT_HALF = (OUT_BITS >= 1 && OUT_BITS <= 31) ? (1 << (OUT_BITS - 1)) : 1;
    localparam OUT_OK = (OUT_BITS == 1 && OUT_BASE == 0 && STEPS == 1)
                        || (OUT_BASE >= -OUT_HALF && OUT_BASE + STEPS < OUT_HALF);

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(CHANNELS >= 1 && SIMD >= 1 && CHANNELS % SIMD == 0),
        .RULE("SIMD must divide CHANNELS"),
        .NAME0("SIMD"), .VALUE0(SIMD), .NAME1("CHANNELS"), .VALUE1(CHANNELS)) u_check_simd ();
    hwbnn_param_check #(.OK(IN_BITS >= 1 && THRESH_WIDTH >= 1),
        .RULE("IN_BITS and THRESH_WIDTH must be at least 1"),
        .NAME0("IN_BITS"), .VALUE0(IN_BITS), .NAME1("THRESH_WIDTH"), .VALUE1(THRESH_WIDTH)
    ) u_check_widths ();
    hwbnn_param_check #(.OK(STEPS >= 1 && (SIDE == 0 || SIDE == 1)),
        .RULE("STEPS must be at least 1 and SIDE 0 or 1"),
        .NAME0("STEPS"), .VALUE0(STEPS), .NAME1("SIDE"), .VALUE1(SIDE)) u_check_steps ();
    hwbnn_param_check #(.OK(OUT_BITS >= 1 && OUT_BITS <= 31 && OUT_OK),
        .RULE("OUT_BITS (at most 31) must hold OUT_BASE .. OUT_BASE+STEPS in two's complement"),
        .NAME0("OUT_BITS"), .VALUE0(OUT_BITS), .NAME1("OUT_BASE"), .VALUE1(OUT_BASE),
        .NAME2("STEPS"), .VALUE2(STEPS)) u_check_out ();

    reg [WORD_WIDTH-1:0] tmem [0:NF-1];
    generate
        if (THRESH_FILE != "") begin : g_load
            initial $readmemh(THRESH_FILE, tmem);
        end else begin : g_no_file
            // No file: every threshold is 0. For lint and synthesis trials.
            integer i;
            initial begin
                $display("WARNING: %m: THRESH_FILE is empty, all thresholds are 0");
                for (i = 0; i < NF; i = i + 1) begin
                    tmem[i] = {WORD_WIDTH{1'b0}};
                end
            end
        end
    endgenerate

    wire out_free = !m_axis_tvalid || m_axis_tready;
    assign s_axis_tready  = out_free && (SIDE == 0 || s1_axis_tvalid);
    assign s1_axis_tready = (SIDE != 0) && out_free && s_axis_tvalid;
    wire accept = s_axis_tvalid && s_axis_tready;

    reg  [ADDR_WIDTH-1:0] addr;    // channel fold of the current beat
    reg  [WORD_WIDTH-1:0] thresh;  // thresholds of fold addr, read one beat ahead
    wire                  fold_end  = (addr == ADDR_LAST) || s_axis_tlast;
    wire [ADDR_WIDTH-1:0] addr_next = fold_end ? {ADDR_WIDTH{1'b0}} : addr + 1'b1;
    wire [ADDR_WIDTH-1:0] read_addr = rst ? {ADDR_WIDTH{1'b0}} : addr_next;

    always @(posedge clk) begin
        if (rst || accept) begin
            thresh <= tmem[read_addr];
        end
    end

    // Per lane: count the thresholds of the selected set that x reaches, add OUT_BASE.
    reg [CMP_WIDTH-1:0]     x_ext;
    reg [CMP_WIDTH-1:0]     t_ext;
    reg [THRESH_WIDTH-1:0]  t_sel;
    reg [SIMD*OUT_BITS-1:0] outs;
    integer s, j, count;
    /* verilator lint_off UNUSEDSIGNAL */  // only the low OUT_BITS bits of the sum are output
    integer value;
    /* verilator lint_on UNUSEDSIGNAL */
    always @* begin
        for (s = 0; s < SIMD; s = s + 1) begin
            x_ext = {{X_PAD{s_axis_tdata[s*IN_BITS + IN_BITS - 1]}},
                     s_axis_tdata[s*IN_BITS +: IN_BITS]};
            count = 0;
            for (j = 0; j < STEPS; j = j + 1) begin
                if (SIDE != 0 && s1_axis_tdata[s]) begin
                    t_sel = thresh[((s*SETS + SETS - 1)*STEPS + j)*THRESH_WIDTH +: THRESH_WIDTH];
                end else begin
                    t_sel = thresh[(s*SETS*STEPS + j)*THRESH_WIDTH +: THRESH_WIDTH];
                end
                t_ext = {{T_PAD{t_sel[THRESH_WIDTH-1]}}, t_sel};
                if ($signed(x_ext) >= $signed(t_ext)) begin
                    count = count + 1;
                end
            end
            value = OUT_BASE + count;
            outs[s*OUT_BITS +: OUT_BITS] = value[OUT_BITS-1:0];
        end
    end

    always @(posedge clk) begin
        if (accept) begin
            m_axis_tdata <= outs;
            m_axis_tlast <= s_axis_tlast;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            addr          <= {ADDR_WIDTH{1'b0}};
            m_axis_tvalid <= 1'b0;
        end else begin
            if (accept) begin
                addr          <= addr_next;
                m_axis_tvalid <= 1'b1;
            end else if (m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire
