// hwbnn_sliding_window: sliding-window generator (im2col stream) with a line buffer.
//
// Input: an IN_H x IN_W image of CHANNELS elements per pixel, ELEM_BITS bits each, in raster
// order with the channels of a pixel contiguous; SIMD_IN = min(SIMD, CHANNELS) elements per
// beat, CF = CHANNELS/SIMD_IN beats per pixel, element c of a pixel at bits
// [(c % SIMD_IN)*ELEM_BITS +: ELEM_BITS] of the pixel's beat c / SIMD_IN.
// A frame is IN_H*IN_W*CF beats, counted: s_axis_tlast is ignored.
// Output: for each output pixel (oy, ox) in raster order, OUT_H = (IN_H+PAD_TOP+PAD_BOTTOM-
// EXT)/STRIDE + 1 rows and OUT_W likewise, the KERNEL*KERNEL*CHANNELS window in (ky, kx, c)
// order, SIMD elements per beat (KERNEL*KERNEL*CHANNELS/SIMD beats per window), element e of
// a beat at bits [e*ELEM_BITS +: ELEM_BITS]: element (ky, kx, c) is input pixel
// (oy*STRIDE - PAD_TOP + ky*DILATION, ox*STRIDE - PAD_LEFT + kx*DILATION), channel c, or
// PAD_CODE where that lies outside the image (hwbnn.reference.sliding_windows); the window
// spans EXT = DILATION*(KERNEL-1) + 1 rows and columns (a dilated convolution's taps are
// DILATION apart; each padding is below EXT). tlast on the last beat of each
// frame. SIMD divides CHANNELS, or SIMD = MMV*CHANNELS with MMV dividing KERNEL*KERNEL: then
// each output beat carries MMV whole window positions (FINN's MMV) while the input still
// brings one pixel per beat.
//
// Line buffer: ROWS = max(EXT + STRIDE, 2*EXT - PAD_TOP - PAD_BOTTOM + REM) image rows,
// REM = (IN_H + PAD_TOP + PAD_BOTTOM - EXT) % STRIDE, i.e. ROWS*IN_W*CF words of
// SIMD_IN*ELEM_BITS bits in one memory with a synchronous read port (block or LUT RAM), MMV
// identical copies with MMV > 1 (one read port per position of a beat). Input rows go to
// consecutive row slots (row g of the stream, counted across frames, in slot g % ROWS).
// EXT + STRIDE rows let the next STRIDE rows load while a row of windows is read; the second
// bound lets the first rows of the next frame load while the last row of windows of the
// current frame is read, so frames overlap.
// Flow control: a window is started once its last input pixel has been written (the writer is
// past it; with DILATION > 1 the pixel at the bottom-right of its extent, clamped to the image,
// which may be a few pixels later than its last tap); an input row may be written once no
// window still to be emitted needs the row it replaces (a credit counter of free rows). With
// the input always valid and the output always ready, frames back to back take exactly max(in
// beats, out beats) cycles each in steady state, in = IN_H*IN_W*CF and out =
// OUT_H*OUT_W*KERNEL^2*CHANNELS/SIMD (the unit test measures it).
// Between other layers running at the same rate, its row-wise input and window-wise output are
// bursty: the generated top puts small FIFOs between the layers of image networks.
// Control (hwbnn_sliding_window_ctrl, with hwbnn_sliding_window_lanes for MMV > 1): the
// window's position is counters plus registered "last" flags, and "the writer is past the
// window's last pixel" is the sign of a counter (pixels written minus that pixel's index + 1,
// both counted across frames), so the issue decision depends on registers through a few LUTs,
// with no comparison or carry chain in between (docs/benchmarks.md: digits-cnn).
// Timing: one beat per cycle in and out. Latency: the first beat of a window is valid on
// m_axis 3 cycles after the input beat that completes its last pixel was accepted (issue,
// memory read, output register). m_axis_tdata, m_axis_tvalid, m_axis_tlast and s_axis_tready
// are registers; the output pipeline stalls on m_axis_tready (no path from either tready to a
// tvalid).
`default_nettype none

module hwbnn_sliding_window #(
    parameter IN_H       = 8,  // input image rows
    parameter IN_W       = 8,  // input image columns
    parameter CHANNELS   = 4,  // elements per pixel
    parameter KERNEL     = 3,  // window rows and columns
    parameter STRIDE     = 1,  // step between windows, rows and columns
    parameter DILATION   = 1,  // step between a window's taps, rows and columns
    parameter PAD_TOP    = 0,  // padding rows above the image, < EXT
    parameter PAD_LEFT   = 0,  // padding columns left of the image, < EXT
    parameter PAD_BOTTOM = 0,  // padding rows below the image, < EXT
    parameter PAD_RIGHT  = 0,  // padding columns right of the image, < EXT
    parameter SIMD       = 2,  // elements per output beat: divides CHANNELS, or MMV*CHANNELS
    parameter ELEM_BITS  = 1,  // bits per element: 1 for bipolar bits, else the code width
    parameter PAD_CODE   = 0   // element value of padding positions (0 is -1 for bits)
) (
    input  wire                         clk,
    input  wire                         rst,
    input  wire [SIMD_IN*ELEM_BITS-1:0] s_axis_tdata,
    input  wire                         s_axis_tvalid,
    output wire                         s_axis_tready,
    input  wire                         s_axis_tlast,
    output reg  [SIMD*ELEM_BITS-1:0]    m_axis_tdata,
    output reg                          m_axis_tvalid,
    input  wire                         m_axis_tready,
    output reg                          m_axis_tlast
);
    localparam SIMD_IN = (SIMD > CHANNELS) ? CHANNELS : SIMD;       // elements per input beat
    localparam MMV     = (SIMD > CHANNELS && CHANNELS > 0) ? SIMD / CHANNELS : 1;  // positions
    localparam WORD  = SIMD_IN * ELEM_BITS;                           // bits per word (lane)
    localparam CF    = (SIMD_IN > 0) ? CHANNELS / SIMD_IN : 1;        // beats per pixel
    localparam PH    = IN_H + PAD_TOP + PAD_BOTTOM;                   // padded rows
    localparam PW    = IN_W + PAD_LEFT + PAD_RIGHT;                   // padded columns
    localparam EXT   = DILATION * (KERNEL - 1) + 1;                   // window extent
    /* verilator lint_off UNUSEDPARAM */  // the output size, for a reader of the module
    localparam OUT_H = (STRIDE > 0 && PH >= EXT) ? (PH - EXT) / STRIDE + 1 : 1;  // rows
    localparam OUT_W = (STRIDE > 0 && PW >= EXT) ? (PW - EXT) / STRIDE + 1 : 1;  // cols
    /* verilator lint_on UNUSEDPARAM */
    localparam REM   = (STRIDE > 0 && PH >= EXT) ? (PH - EXT) % STRIDE : 0;  // unused rows
    localparam ROWS_A = EXT + STRIDE;                                 // a row of windows
    localparam ROWS_B = 2 * EXT - PAD_TOP - PAD_BOTTOM + REM;         // frame overlap
    localparam ROWS   = (ROWS_A > ROWS_B) ? ROWS_A : ROWS_B;          // line buffer rows
    localparam MEM_WORDS = ROWS * IN_W * CF;                          // line buffer words
    localparam AW  = (MEM_WORDS > 1) ? $clog2(MEM_WORDS) : 1;         // memory address
    localparam integer PAD_INT = PAD_CODE;
    localparam [ELEM_BITS-1:0] PAD_ELEM = PAD_INT[ELEM_BITS-1:0];
    localparam [WORD-1:0] PAD_WORD = {SIMD_IN{PAD_ELEM}};

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(SIMD >= 1 && CHANNELS >= 1 && (CHANNELS % SIMD == 0
                            || (SIMD % CHANNELS == 0 && (KERNEL * KERNEL) % MMV == 0))),
        .RULE("SIMD must divide CHANNELS or be MMV*CHANNELS with MMV dividing KERNEL*KERNEL"),
        .NAME0("SIMD"), .VALUE0(SIMD), .NAME1("CHANNELS"), .VALUE1(CHANNELS),
        .NAME2("KERNEL"), .VALUE2(KERNEL)) u_check_simd ();
    hwbnn_param_check #(.OK(KERNEL >= 1 && STRIDE >= 1 && IN_H >= 1 && IN_W >= 1),
        .RULE("KERNEL, STRIDE, IN_H and IN_W must be at least 1"),
        .NAME0("KERNEL"), .VALUE0(KERNEL), .NAME1("STRIDE"), .VALUE1(STRIDE),
        .NAME2("IN_H"), .VALUE2(IN_H), .NAME3("IN_W"), .VALUE3(IN_W)) u_check_sizes ();
    hwbnn_param_check #(.OK(DILATION >= 1), .RULE("DILATION must be at least 1"),
        .NAME0("DILATION"), .VALUE0(DILATION)) u_check_dilation ();
    hwbnn_param_check #(.OK(PAD_TOP >= 0 && PAD_LEFT >= 0 && PAD_BOTTOM >= 0 && PAD_RIGHT >= 0
                            && PAD_TOP < EXT && PAD_LEFT < EXT
                            && PAD_BOTTOM < EXT && PAD_RIGHT < EXT),
        .RULE("PAD_TOP/LEFT/BOTTOM/RIGHT must be in 0..EXT-1, EXT = DILATION*(KERNEL-1)+1"),
        .NAME0("PAD_TOP"), .VALUE0(PAD_TOP), .NAME1("PAD_LEFT"), .VALUE1(PAD_LEFT),
        .NAME2("PAD_BOTTOM"), .VALUE2(PAD_BOTTOM), .NAME3("PAD_RIGHT"), .VALUE3(PAD_RIGHT)
    ) u_check_padding ();
    hwbnn_param_check #(.OK(PH >= EXT && PW >= EXT),
        .RULE("the window extent EXT is larger than the padded image PH x PW"),
        .NAME0("EXT"), .VALUE0(EXT), .NAME1("PH"), .VALUE1(PH), .NAME2("PW"), .VALUE2(PW)
    ) u_check_kernel ();
    hwbnn_param_check #(.OK(ELEM_BITS >= 1 && PAD_CODE >= 0 && PAD_CODE < (1 << ELEM_BITS)),
        .RULE("ELEM_BITS must be at least 1, PAD_CODE must fit in it"),
        .NAME0("ELEM_BITS"), .VALUE0(ELEM_BITS),
        .NAME1("PAD_CODE"), .VALUE1(PAD_CODE)) u_check_pad_code ();

    // Frames are counted; tlast carries nothing the generator needs.
    wire unused_tlast = s_axis_tlast;

    wire [AW-1:0]     waddr;       // the word written this cycle
    wire              issue;       // a beat is read this cycle
    wire [MMV*AW-1:0] lane_raddr;  // its words
    wire [MMV-1:0]    lane_pad;    // its padding lanes
    wire              frame_end;   // it is the frame's last
    // Output pipeline: stage b (memory read registers) and stage c (m_axis registers).
    reg  [MMV*WORD-1:0] b_data;
    reg                 b_valid;
    reg  [MMV-1:0]      b_pad;
    reg                 b_last;
    wire en_c = !m_axis_tvalid || m_axis_tready;
    wire en_b = !b_valid || en_c;
    wire accept = s_axis_tvalid && s_axis_tready;

    hwbnn_sliding_window_ctrl #(
        .IN_H(IN_H), .IN_W(IN_W), .CHANNELS(CHANNELS), .KERNEL(KERNEL), .STRIDE(STRIDE),
        .DILATION(DILATION), .PAD_TOP(PAD_TOP), .PAD_LEFT(PAD_LEFT), .PAD_BOTTOM(PAD_BOTTOM),
        .PAD_RIGHT(PAD_RIGHT),
        .SIMD(SIMD_IN), .MMV(MMV), .AW(AW)
    ) u_ctrl (
        .clk(clk), .rst(rst), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .waddr(waddr), .en_b(en_b), .issue(issue), .lane_raddr(lane_raddr),
        .lane_pad(lane_pad), .frame_end(frame_end)
    );

    // The line buffer: one memory per lane, all written alike.
    genvar g;
    generate
        for (g = 0; g < MMV; g = g + 1) begin : g_mem
            reg [WORD-1:0] mem [0:MEM_WORDS-1];
            always @(posedge clk) begin
                if (accept) begin
                    mem[waddr] <= s_axis_tdata;
                end
                if (issue) begin
                    b_data[g*WORD +: WORD] <= mem[lane_raddr[g*AW +: AW]];
                end
            end
        end
    endgenerate

    // ---------------------------------------------------------------- output
    integer i;
    always @(posedge clk) begin
        if (en_b) begin
            b_pad  <= lane_pad;
            b_last <= frame_end;
        end
        if (en_c) begin
            for (i = 0; i < MMV; i = i + 1) begin
                m_axis_tdata[i*WORD +: WORD] <= b_pad[i] ? PAD_WORD : b_data[i*WORD +: WORD];
            end
            m_axis_tlast <= b_last;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            b_valid       <= 1'b0;
            m_axis_tvalid <= 1'b0;
        end else begin
            if (en_b) begin
                b_valid <= issue;
            end
            if (en_c) begin
                m_axis_tvalid <= b_valid;
            end
        end
    end
endmodule

`default_nettype wire
