// hwbnn_sliding_window: sliding-window generator (im2col stream) with a line buffer.
//
// Input: an IN_H x IN_W image of CHANNELS elements per pixel, ELEM_BITS bits each, in raster
// order with the channels of a pixel contiguous; CF = CHANNELS/SIMD beats per pixel, element
// c of a pixel at bits [(c % SIMD)*ELEM_BITS +: ELEM_BITS] of the pixel's beat c / SIMD.
// A frame is IN_H*IN_W*CF beats, counted: s_axis_tlast is ignored.
// Output: for each output pixel (oy, ox) in raster order, OUT_H = (IN_H+PAD_TOP+PAD_BOTTOM-
// KERNEL)/STRIDE + 1 rows and OUT_W likewise, the KERNEL*KERNEL*CHANNELS window in (ky, kx, c)
// order, SIMD elements per beat (KERNEL*KERNEL*CF beats per window): element (ky, kx, c) is
// input pixel (oy*STRIDE - PAD_TOP + ky, ox*STRIDE - PAD_LEFT + kx), channel c, or PAD_CODE
// where that lies outside the image (hwbnn.reference.sliding_windows). tlast on the last beat
// of each frame.
//
// Line buffer: ROWS = max(KERNEL + STRIDE, 2*KERNEL - PAD_TOP - PAD_BOTTOM + REM) image rows,
// REM = (IN_H + PAD_TOP + PAD_BOTTOM - KERNEL) % STRIDE, i.e. ROWS*IN_W*CF words of
// SIMD*ELEM_BITS bits in one memory with a synchronous read port (block or LUT RAM). Input
// rows go to consecutive row slots (row g of the stream, counted across frames, in slot
// g % ROWS). KERNEL + STRIDE rows let the next STRIDE rows load while a row of windows is read;
// the second bound lets the first rows of the next frame load while the last row of windows of
// the current frame is read, so frames overlap.
// Flow control: a window is started once its last input pixel has been written (the writer is
// past it); an input row may be written once no window still to be emitted needs the row it
// replaces (a credit counter of free rows). With the input always valid and the output always
// ready, frames back to back take exactly max(in beats, out beats) cycles each in steady state,
// in = IN_H*IN_W*CF and out = OUT_H*OUT_W*KERNEL^2*CF (the unit test measures it). Between
// other layers running at the same rate, its row-wise input and window-wise output are bursty:
// the generated top puts small FIFOs between the layers of image networks.
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
    parameter PAD_TOP    = 0,  // padding rows above the image, < KERNEL
    parameter PAD_LEFT   = 0,  // padding columns left of the image, < KERNEL
    parameter PAD_BOTTOM = 0,  // padding rows below the image, < KERNEL
    parameter PAD_RIGHT  = 0,  // padding columns right of the image, < KERNEL
    parameter SIMD       = 2,  // elements per beat, in and out; divides CHANNELS
    parameter ELEM_BITS  = 1,  // bits per element: 1 for bipolar bits, else the code width
    parameter PAD_CODE   = 0   // element value of padding positions (0 is -1 for bits)
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [SIMD*ELEM_BITS-1:0] s_axis_tdata,
    input  wire                      s_axis_tvalid,
    output reg                       s_axis_tready,
    input  wire                      s_axis_tlast,
    output reg  [SIMD*ELEM_BITS-1:0] m_axis_tdata,
    output reg                       m_axis_tvalid,
    input  wire                      m_axis_tready,
    output reg                       m_axis_tlast
);
    localparam WIDTH = SIMD * ELEM_BITS;                              // bits per beat
    localparam CF    = (SIMD > 0) ? CHANNELS / SIMD : 1;              // beats per pixel
    localparam PH    = IN_H + PAD_TOP + PAD_BOTTOM;                   // padded rows
    localparam PW    = IN_W + PAD_LEFT + PAD_RIGHT;                   // padded columns
    localparam OUT_H = (STRIDE > 0 && PH >= KERNEL) ? (PH - KERNEL) / STRIDE + 1 : 1;  // rows
    localparam OUT_W = (STRIDE > 0 && PW >= KERNEL) ? (PW - KERNEL) / STRIDE + 1 : 1;  // cols
    localparam REM   = (STRIDE > 0 && PH >= KERNEL) ? (PH - KERNEL) % STRIDE : 0;  // unused rows
    localparam ROWS_A = KERNEL + STRIDE;                              // a row of windows
    localparam ROWS_B = 2 * KERNEL - PAD_TOP - PAD_BOTTOM + REM;      // frame overlap
    localparam ROWS   = (ROWS_A > ROWS_B) ? ROWS_A : ROWS_B;          // line buffer rows
    localparam ROW_WORDS = IN_W * CF;                                 // words per row
    localparam MEM_WORDS = ROWS * ROW_WORDS;                          // line buffer words
    localparam KCF       = KERNEL * CF;                               // beats per window row
    // Real rows between the first rows needed by the last row of windows and the next
    // frame's first (both clamped to the image), and the same in row slots (mod ROWS).
    localparam LAST_TOP  = (OUT_H - 1) * STRIDE - PAD_TOP;
    localparam FRAME_INC = IN_H - ((LAST_TOP > 0) ? LAST_TOP : 0);
    localparam integer FRAME_SLOTS = (((IN_H - (OUT_H - 1) * STRIDE) % ROWS) + ROWS) % ROWS;
    localparam integer TOP_SLOT = ((ROWS - PAD_TOP) % ROWS);          // slot of row -PAD_TOP
    // Frames the writer is ahead of the reader: at most AHEAD_MAX, and -1 when the reader has
    // finished a frame whose last rows are not used (floor mode) before they came in.
    localparam AHEAD_MAX = 1 + (ROWS - 1) / IN_H;
    // Counter widths.
    localparam CW  = $clog2(PH + PW + KERNEL + STRIDE + 2);           // pixel coordinates
    localparam JW  = (KCF > 1) ? $clog2(KCF) : 1;                     // beat in a window row
    localparam KW  = (KERNEL > 1) ? $clog2(KERNEL) : 1;               // window row
    localparam FW  = (CF > 1) ? $clog2(CF) : 1;                       // beat in a pixel
    localparam AW  = (MEM_WORDS > 1) ? $clog2(MEM_WORDS) : 1;         // memory address
    localparam PCW0 = $clog2(PW * CF + KCF + 1);
    localparam PCW = (PCW0 > AW) ? PCW0 : AW;                         // padded column words
    localparam DW  = $clog2(ROWS + PH + PW + KERNEL + STRIDE + 2) + 1;  // free-row credits
    localparam HW  = $clog2(AHEAD_MAX + 2);                           // frames ahead + 1
    // Sized constants.
    localparam integer KCF_M1 = KCF - 1;
    localparam integer K_M1   = KERNEL - 1;
    localparam integer CF_M1  = CF - 1;
    localparam integer OW_LAST = (OUT_W - 1) * STRIDE;                // last window column
    localparam integer OH_LAST = (OUT_H - 1) * STRIDE;                // last window row
    localparam integer PY_MAX = PAD_TOP + IN_H - 1;                   // last image row
    localparam integer PX_MAX = PAD_LEFT + IN_W - 1;                  // last image column
    localparam integer PCOL_LO = PAD_LEFT * CF;                       // first image word
    localparam integer PCOL_HI = (PAD_LEFT + IN_W) * CF;              // past the last
    localparam integer STRIDE_CF = STRIDE * CF;
    localparam integer ROW_STEP = ROW_WORDS;
    localparam integer WIN_STEP = STRIDE * ROW_WORDS;
    localparam integer FRAME_STEP = FRAME_SLOTS * ROW_WORDS;
    localparam integer TOP_ADDR = TOP_SLOT * ROW_WORDS;
    localparam integer MEM_M1 = MEM_WORDS - 1;
    localparam [JW-1:0]  J_LAST   = KCF_M1[JW-1:0];
    localparam [KW-1:0]  KY_LAST  = K_M1[KW-1:0];
    localparam [FW-1:0]  WC_LAST  = CF_M1[FW-1:0];
    localparam [CW-1:0]  CTOP_LAST = OW_LAST[CW-1:0];
    localparam [CW-1:0]  RTOP_LAST = OH_LAST[CW-1:0];
    localparam [CW-1:0]  C_STRIDE = STRIDE[CW-1:0];
    localparam [CW-1:0]  C_K_M1   = K_M1[CW-1:0];
    localparam [CW-1:0]  C_PT     = PAD_TOP[CW-1:0];
    localparam [CW-1:0]  C_PL     = PAD_LEFT[CW-1:0];
    localparam [CW-1:0]  C_PY_MAX = PY_MAX[CW-1:0];
    localparam [CW-1:0]  C_PX_MAX = PX_MAX[CW-1:0];
    localparam [PCW-1:0] P_LO     = PCOL_LO[PCW-1:0];
    localparam [PCW-1:0] P_HI     = PCOL_HI[PCW-1:0];
    localparam [PCW-1:0] P_STRIDE = STRIDE_CF[PCW-1:0];
    localparam [DW-1:0]  D_ROWS   = ROWS[DW-1:0];
    localparam [DW-1:0]  D_FRAME  = FRAME_INC[DW-1:0];
    localparam [AW:0]    A_MEM    = MEM_WORDS[AW:0];
    localparam [AW:0]    A_ROW    = ROW_STEP[AW:0];
    localparam [AW:0]    A_WIN    = WIN_STEP[AW:0];
    localparam [AW:0]    A_FRAME  = FRAME_STEP[AW:0];
    localparam [AW-1:0]  A_TOP    = TOP_ADDR[AW-1:0];
    localparam [AW-1:0]  A_LAST   = MEM_M1[AW-1:0];
    localparam integer PAD_INT = PAD_CODE;
    localparam [ELEM_BITS-1:0] PAD_ELEM = PAD_INT[ELEM_BITS-1:0];
    localparam [WIDTH-1:0] PAD_WORD = {SIMD{PAD_ELEM}};

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(SIMD >= 1 && CHANNELS >= 1 && CHANNELS % SIMD == 0),
        .RULE("SIMD must divide CHANNELS"), .NAME0("SIMD"), .VALUE0(SIMD),
        .NAME1("CHANNELS"), .VALUE1(CHANNELS)) u_check_simd ();
    hwbnn_param_check #(.OK(KERNEL >= 1 && STRIDE >= 1 && IN_H >= 1 && IN_W >= 1),
        .RULE("KERNEL, STRIDE, IN_H and IN_W must be at least 1"),
        .NAME0("KERNEL"), .VALUE0(KERNEL), .NAME1("STRIDE"), .VALUE1(STRIDE),
        .NAME2("IN_H"), .VALUE2(IN_H), .NAME3("IN_W"), .VALUE3(IN_W)) u_check_sizes ();
    hwbnn_param_check #(.OK(PAD_TOP >= 0 && PAD_LEFT >= 0 && PAD_BOTTOM >= 0 && PAD_RIGHT >= 0
                            && PAD_TOP < KERNEL && PAD_LEFT < KERNEL
                            && PAD_BOTTOM < KERNEL && PAD_RIGHT < KERNEL),
        .RULE("PAD_TOP/LEFT/BOTTOM/RIGHT must be in 0..KERNEL-1"),
        .NAME0("PAD_TOP"), .VALUE0(PAD_TOP), .NAME1("PAD_LEFT"), .VALUE1(PAD_LEFT),
        .NAME2("PAD_BOTTOM"), .VALUE2(PAD_BOTTOM), .NAME3("PAD_RIGHT"), .VALUE3(PAD_RIGHT)
    ) u_check_padding ();
    hwbnn_param_check #(.OK(PH >= KERNEL && PW >= KERNEL),
        .RULE("KERNEL is larger than the padded image PH x PW"), .NAME0("KERNEL"), .VALUE0(KERNEL),
        .NAME1("PH"), .VALUE1(PH), .NAME2("PW"), .VALUE2(PW)) u_check_kernel ();
    hwbnn_param_check #(.OK(ELEM_BITS >= 1 && PAD_CODE >= 0 && PAD_CODE < (1 << ELEM_BITS)),
        .RULE("ELEM_BITS must be at least 1, PAD_CODE must fit in it"),
        .NAME0("ELEM_BITS"), .VALUE0(ELEM_BITS),
        .NAME1("PAD_CODE"), .VALUE1(PAD_CODE)) u_check_pad_code ();

    // Frames are counted; tlast carries nothing the generator needs.
    wire unused_tlast = s_axis_tlast;

    reg [WIDTH-1:0] mem [0:MEM_WORDS-1];

    // ---------------------------------------------------------------- writer
    reg  [FW-1:0] wc;     // beat of the pixel being written
    reg  [CW-1:0] wpx;    // its column + PAD_LEFT
    reg  [CW-1:0] wpy;    // its row + PAD_TOP
    reg  [AW-1:0] waddr;  // line buffer word (consecutive mod MEM_WORDS)
    wire          accept    = s_axis_tvalid && s_axis_tready;
    wire          wpix_end  = (wc == WC_LAST);
    wire          wrow_end  = wpix_end && (wpx == C_PX_MAX);
    wire          wframe_end = wrow_end && (wpy == C_PY_MAX);

    always @(posedge clk) begin
        if (accept) begin
            mem[waddr] <= s_axis_tdata;
        end
    end

    // ---------------------------------------------------------------- reader (issue stage)
    reg  [JW-1:0]  j;      // beat within the window row: kx*CF + c/SIMD
    reg  [KW-1:0]  ky;     // window row
    reg  [CW-1:0]  ctop;   // ox*STRIDE: padded column of the window's left edge
    reg  [CW-1:0]  rtop;   // oy*STRIDE: padded row of the window's top edge
    reg  [CW-1:0]  pry;    // rtop + ky: padded row being read
    reg  [PCW-1:0] pcol0;  // ctop*CF: padded column word of the window's left edge
    reg  [PCW-1:0] pcol;   // pcol0 + j: padded column word being read
    reg  [AW-1:0]  top_addr;  // slot address of real row rtop - PAD_TOP
    reg  [AW-1:0]  row_addr;  // slot address of real row pry - PAD_TOP
    reg  [HW-1:0]  ahead1;  // 1 + frames the writer is ahead of the reader (0 .. AHEAD_MAX+1)
    reg  [DW-1:0]  credits;  // rows the writer may still start (see header)

    wire [CW-1:0]  py_end  = rtop + C_K_M1;
    wire [CW-1:0]  px_end  = ctop + C_K_M1;
    wire [CW-1:0]  py_last = (py_end > C_PY_MAX) ? C_PY_MAX : py_end;  // last image row used
    wire [CW-1:0]  px_last = (px_end > C_PX_MAX) ? C_PX_MAX : px_end;  // ... and column
    wire win_start = (ky == {KW{1'b0}}) && (j == {JW{1'b0}});
    wire same_frame = (ahead1 == {{(HW - 1){1'b0}}, 1'b1});
    wire win_ready  = (ahead1 > {{(HW - 1){1'b0}}, 1'b1})
                      || (same_frame && ((wpy > py_last) || ((wpy == py_last) && (wpx > px_last))));
    wire j_end     = (j == J_LAST);
    wire win_end   = j_end && (ky == KY_LAST);
    wire row_end   = win_end && (ctop == CTOP_LAST);
    wire frame_end = row_end && (rtop == RTOP_LAST);
    // (Comparisons with a zero padding are constant; that is intended.)
    /* verilator lint_off UNSIGNED */
    wire pad       = (pry < C_PT) || (pry > C_PY_MAX) || (pcol < P_LO) || (pcol >= P_HI);
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PCW-1:0] col  = pcol - P_LO;  // column word in the row (bits above AW are 0 unless pad)
    /* verilator lint_on UNUSEDSIGNAL */
    wire [AW-1:0]  raddr = row_addr + col[AW-1:0];

    // Output pipeline: stage b (memory read register) and stage c (m_axis registers).
    reg  [WIDTH-1:0] b_data;
    reg              b_valid;
    reg              b_pad;
    reg              b_last;
    wire en_c  = !m_axis_tvalid || m_axis_tready;
    wire en_b  = !b_valid || en_c;
    wire issue = en_b && (!win_start || win_ready);

    // Free-row credits: real rows the first window row still to be read starts at, plus ROWS,
    // minus the writer's row. Advancing a row of windows frees max(rtop+STRIDE-PAD_TOP, 0) -
    // max(rtop-PAD_TOP, 0) rows; the end of a frame frees FRAME_INC.
    wire [DW-1:0] row_free = (rtop >= C_PT) ? STRIDE[DW-1:0]
                           : (rtop + C_STRIDE > C_PT) ? {{(DW - CW){1'b0}}, rtop + C_STRIDE - C_PT}
                           : {DW{1'b0}};
    /* verilator lint_on UNSIGNED */
    wire [DW-1:0] freed = !(issue && row_end) ? {DW{1'b0}} : frame_end ? D_FRAME : row_free;
    wire [DW-1:0] credits_next = credits + freed - {{(DW - 1){1'b0}}, accept && wrow_end};

    function [AW-1:0] wrap_add;  // (a + step) mod MEM_WORDS for a < MEM_WORDS, step < it
        input [AW-1:0] a;
        input [AW:0]   step;
        reg   [AW:0]   sum;
        begin
            sum = {1'b0, a} + step;
            if (sum >= A_MEM) begin
                sum = sum - A_MEM;
            end
            wrap_add = sum[AW-1:0];
        end
    endfunction

    always @(posedge clk) begin
        if (rst) begin
            wc            <= {FW{1'b0}};
            wpx           <= C_PL;
            wpy           <= C_PT;
            waddr         <= {AW{1'b0}};
            j             <= {JW{1'b0}};
            ky            <= {KW{1'b0}};
            ctop          <= {CW{1'b0}};
            rtop          <= {CW{1'b0}};
            pry           <= {CW{1'b0}};
            pcol0         <= {PCW{1'b0}};
            pcol          <= {PCW{1'b0}};
            top_addr      <= A_TOP;
            row_addr      <= A_TOP;
            ahead1        <= {{(HW - 1){1'b0}}, 1'b1};
            credits       <= D_ROWS;
            s_axis_tready <= 1'b1;
        end else begin
            if (accept) begin
                waddr <= (waddr == A_LAST) ? {AW{1'b0}} : waddr + 1'b1;
                wc    <= wpix_end ? {FW{1'b0}} : wc + 1'b1;
                if (wpix_end) begin
                    wpx <= (wpx == C_PX_MAX) ? C_PL : wpx + 1'b1;
                end
                if (wrow_end) begin
                    wpy <= (wpy == C_PY_MAX) ? C_PT : wpy + 1'b1;
                end
            end
            ahead1 <= ahead1 + {{(HW - 1){1'b0}}, accept && wframe_end}
                     - {{(HW - 1){1'b0}}, issue && frame_end};
            credits       <= credits_next;
            s_axis_tready <= (credits_next != {DW{1'b0}});
            if (issue) begin
                if (!j_end) begin
                    j    <= j + 1'b1;
                    pcol <= pcol + 1'b1;
                end else if (!win_end) begin  // next row of the window
                    j        <= {JW{1'b0}};
                    pcol     <= pcol0;
                    ky       <= ky + 1'b1;
                    pry      <= pry + 1'b1;
                    row_addr <= wrap_add(row_addr, A_ROW);
                end else if (!row_end) begin  // next window in the row
                    j        <= {JW{1'b0}};
                    ky       <= {KW{1'b0}};
                    ctop     <= ctop + C_STRIDE;
                    pcol0    <= pcol0 + P_STRIDE;
                    pcol     <= pcol0 + P_STRIDE;
                    pry      <= rtop;
                    row_addr <= top_addr;
                end else begin  // next row of windows, or the next frame
                    j        <= {JW{1'b0}};
                    ky       <= {KW{1'b0}};
                    ctop     <= {CW{1'b0}};
                    pcol0    <= {PCW{1'b0}};
                    pcol     <= {PCW{1'b0}};
                    rtop     <= frame_end ? {CW{1'b0}} : rtop + C_STRIDE;
                    pry      <= frame_end ? {CW{1'b0}} : rtop + C_STRIDE;
                    top_addr <= wrap_add(top_addr, frame_end ? A_FRAME : A_WIN);
                    row_addr <= wrap_add(top_addr, frame_end ? A_FRAME : A_WIN);
                end
            end
        end
    end

    // ---------------------------------------------------------------- read and output
    always @(posedge clk) begin
        if (issue) begin
            b_data <= mem[raddr];
        end
        if (en_b) begin
            b_pad  <= pad;
            b_last <= frame_end;
        end
        if (en_c) begin
            m_axis_tdata <= b_pad ? PAD_WORD : b_data;
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
