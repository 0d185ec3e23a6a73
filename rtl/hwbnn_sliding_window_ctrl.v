// hwbnn_sliding_window_ctrl: the address and flow control of hwbnn_sliding_window (see there
// for the stream formats, the line buffer and the flow control).
//
// Writer: the line buffer word of each accepted input beat (waddr, consecutive mod MEM_WORDS)
// and s_axis_tready (a register: credits of free rows). Reader: the window position as
// counters plus registered "last" flags; issue (a beat is read this cycle: the output
// pipeline can take it, en_b, and a window's first beat waits until the writer is past its
// last pixel), the read address and padding flag of each of the MMV lanes (lane i at
// raddr[i*AW +: AW], pad[i]) and frame_end (the issued beat is the frame's last).
// With MMV = 1 the reader walks a window's KERNEL rows of KERNEL*CF beats (beat j = kx*CF + f
// of row ky: column word (ox*STRIDE + kx*DILATION)*CF + f of padded row rtop + ky*DILATION);
// with MMV > 1 (CF = 1) it walks the window's
// KERNEL*KERNEL/MMV beats as one row and hwbnn_sliding_window_lanes addresses the positions.
`default_nettype none

module hwbnn_sliding_window_ctrl #(
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
    parameter SIMD       = 2,  // elements per input beat (per line buffer word); divides CHANNELS
    parameter MMV        = 1,  // window positions per output beat (> 1: SIMD = CHANNELS)
    parameter AW         = 6   // line buffer address bits (hwbnn_sliding_window's AW)
) (
    input  wire              clk,
    input  wire              rst,
    input  wire              s_axis_tvalid,  // the writer
    output reg               s_axis_tready,
    output reg  [AW-1:0]     waddr,          // word of the beat accepted this cycle
    input  wire              en_b,           // the output pipeline takes a beat
    output wire              issue,          // a beat is read this cycle
    output wire [MMV*AW-1:0] lane_raddr,     // its words, lane i at [i*AW +: AW]
    output wire [MMV-1:0]    lane_pad,       // lane i is padding
    output wire              frame_end       // it is the frame's last beat
);
    localparam CF    = (SIMD > 0) ? CHANNELS / SIMD : 1;              // beats per pixel
    localparam PH    = IN_H + PAD_TOP + PAD_BOTTOM;                   // padded rows
    localparam PW    = IN_W + PAD_LEFT + PAD_RIGHT;                   // padded columns
    localparam EXT   = DILATION * (KERNEL - 1) + 1;                   // window extent
    localparam OUT_H = (STRIDE > 0 && PH >= EXT) ? (PH - EXT) / STRIDE + 1 : 1;  // rows
    localparam OUT_W = (STRIDE > 0 && PW >= EXT) ? (PW - EXT) / STRIDE + 1 : 1;  // cols
    localparam REM   = (STRIDE > 0 && PH >= EXT) ? (PH - EXT) % STRIDE : 0;  // unused rows
    localparam ROWS_A = EXT + STRIDE;                                 // a row of windows
    localparam ROWS_B = 2 * EXT - PAD_TOP - PAD_BOTTOM + REM;         // frame overlap
    localparam ROWS   = (ROWS_A > ROWS_B) ? ROWS_A : ROWS_B;          // line buffer rows
    localparam ROW_WORDS = IN_W * CF;                                 // words per row
    localparam MEM_WORDS = ROWS * ROW_WORDS;                          // line buffer words
    localparam KCF       = KERNEL * CF;                               // beats per window row
    // The read loop: NJ beats per window row, NKY window rows (with MMV > 1: the K*K/MMV
    // beats of a window as one row; the lanes then address the positions themselves).
    localparam NJ  = (MMV > 1) ? KERNEL * KERNEL / MMV : KCF;
    localparam NKY = (MMV > 1) ? 1 : KERNEL;
    // Real rows between the first rows needed by the last row of windows and the next
    // frame's first (both clamped to the image), and the same in row slots (mod ROWS).
    localparam LAST_TOP  = (OUT_H - 1) * STRIDE - PAD_TOP;
    localparam FRAME_INC = IN_H - ((LAST_TOP > 0) ? LAST_TOP : 0);
    localparam integer FRAME_SLOTS = (((IN_H - (OUT_H - 1) * STRIDE) % ROWS) + ROWS) % ROWS;
    localparam integer TOP_SLOT = ((ROWS - PAD_TOP) % ROWS);          // slot of row -PAD_TOP
    // The last image pixel of the first and of the last window of a row (columns) and of a
    // column (rows) (the bottom-right of the window's extent, clamped to the image), its index
    // in the frame for the first and the last window of a frame, and the step of that index
    // from a row's last window to the next row's first.
    localparam integer PX_MAX = PAD_LEFT + IN_W - 1;                  // last image column
    localparam integer PY_MAX = PAD_TOP + IN_H - 1;                   // last image row
    localparam integer PXL0 = (EXT - 1 < PX_MAX) ? EXT - 1 : PX_MAX;
    localparam integer PYL0 = (EXT - 1 < PY_MAX) ? EXT - 1 : PY_MAX;
    localparam integer PXLN = ((OUT_W - 1) * STRIDE + EXT - 1 < PX_MAX)
                              ? (OUT_W - 1) * STRIDE + EXT - 1 : PX_MAX;
    localparam integer PYLN = ((OUT_H - 1) * STRIDE + EXT - 1 < PY_MAX)
                              ? (OUT_H - 1) * STRIDE + EXT - 1 : PY_MAX;
    localparam integer NEED0 = (PYL0 - PAD_TOP) * IN_W + PXL0 - PAD_LEFT;
    localparam integer NEEDN = (PYLN - PAD_TOP) * IN_W + PXLN - PAD_LEFT;
    localparam integer AHEAD0 = -(NEED0 + 1);                         // before any pixel
    localparam integer NFRAME_STEP = NEEDN - NEED0 - IN_H * IN_W;     // - step to next frame
    localparam integer ROW_BACK = PXL0 - PXLN;                        // <= 0
    // Counter widths.
    localparam CW  = $clog2(PH + PW + EXT + STRIDE + 2);              // pixel coordinates
    localparam JW  = (NJ > 1) ? $clog2(NJ) : 1;                       // beat in a window row
    localparam KW  = (KERNEL > 1) ? $clog2(KERNEL) : 1;               // window row
    localparam FW  = (CF > 1) ? $clog2(CF) : 1;                       // beat in a pixel
    localparam PCW0 = $clog2(PW * CF + NJ * DILATION + 1);
    localparam PCW = (PCW0 > AW) ? PCW0 : AW;                         // padded column words
    localparam DW  = $clog2(ROWS + PH + PW + EXT + STRIDE + 2) + 1;   // free-row credits
    localparam EW  = $clog2((ROWS + 2 * IN_H + 2) * IN_W + 1) + 1;    // pixels ahead, signed
    // Sized constants.
    // (*_PEN: the value one step before the last, where a flag "at the last" is set.)
    localparam integer J_PEN_I  = (NJ > 1) ? NJ - 2 : 0;
    localparam integer KY_PEN_I = (NKY > 1) ? NKY - 2 : 0;
    localparam integer CF_M1  = CF - 1;
    localparam integer CTOP_PEN_I = (OUT_W > 1) ? (OUT_W - 2) * STRIDE * CF : 0;  // pcol0
    localparam integer RTOP_PEN_I = (OUT_H > 1) ? (OUT_H - 2) * STRIDE : 0;
    localparam integer XROOM0 = PX_MAX - PXL0;
    localparam integer FRAME_INC_M1 = FRAME_INC - 1;
    localparam integer YROOM0 = PY_MAX - PYL0;
    localparam integer PCOL_LO = PAD_LEFT * CF;                       // first image word
    localparam integer PCOL_HI = (PAD_LEFT + IN_W) * CF;              // past the last
    localparam integer STRIDE_CF = STRIDE * CF;
    localparam integer ROW_STEP = DILATION * ROW_WORDS;               // ky to ky + 1
    localparam integer TAP_STEP = (DILATION - 1) * CF + 1;            // kx to kx + 1
    localparam integer WIN_STEP = STRIDE * ROW_WORDS;
    localparam integer FRAME_STEP = FRAME_SLOTS * ROW_WORDS;
    localparam integer TOP_ADDR = TOP_SLOT * ROW_WORDS;
    localparam integer MEM_M1 = MEM_WORDS - 1;
    localparam [JW-1:0]  J_PEN    = J_PEN_I[JW-1:0];
    localparam [KW-1:0]  KY_PEN   = KY_PEN_I[KW-1:0];
    localparam [FW-1:0]  WC_LAST  = CF_M1[FW-1:0];
    localparam [CW-1:0]  RTOP_PEN = RTOP_PEN_I[CW-1:0];
    localparam [CW-1:0]  C_STRIDE = STRIDE[CW-1:0];
    localparam [CW-1:0]  C_XROOM0 = XROOM0[CW-1:0];
    localparam [CW-1:0]  C_YROOM0 = YROOM0[CW-1:0];
    localparam [CW-1:0]  C_PT     = PAD_TOP[CW-1:0];
    localparam [CW-1:0]  C_PL     = PAD_LEFT[CW-1:0];
    localparam [CW-1:0]  C_PY_MAX = PY_MAX[CW-1:0];
    localparam [CW-1:0]  C_PX_MAX = PX_MAX[CW-1:0];
    localparam [PCW-1:0] P_LO     = PCOL_LO[PCW-1:0];
    localparam [PCW-1:0] P_HI     = PCOL_HI[PCW-1:0];
    localparam [PCW-1:0] P_STRIDE = STRIDE_CF[PCW-1:0];
    localparam [PCW-1:0] P_TAP    = TAP_STEP[PCW-1:0];
    localparam [PCW-1:0] P_CTOP_PEN = CTOP_PEN_I[PCW-1:0];
    localparam [DW-1:0]  D_ROWS   = ROWS[DW-1:0];
    localparam [DW-1:0]  D_FRAME  = FRAME_INC[DW-1:0];
    localparam [DW-1:0]  D_ONE    = 1;
    localparam [DW-1:0]  D_FRAME_M1 = FRAME_INC_M1[DW-1:0];
    localparam [EW-1:0]  E_NFRAME_STEP = NFRAME_STEP[EW-1:0];
    localparam [EW-1:0]  E_AHEAD0 = AHEAD0[EW-1:0];
    localparam [AW:0]    A_MEM    = MEM_WORDS[AW:0];
    localparam [AW:0]    A_ROW    = ROW_STEP[AW:0];
    localparam [AW:0]    A_WIN    = WIN_STEP[AW:0];
    localparam [AW:0]    A_FRAME  = FRAME_STEP[AW:0];
    localparam [AW-1:0]  A_TOP    = TOP_ADDR[AW-1:0];
    localparam [AW-1:0]  A_LAST   = MEM_M1[AW-1:0];


    // ---------------------------------------------------------------- writer
    reg  [FW-1:0] wc;     // beat of the pixel being written
    reg  [CW-1:0] wpx;    // its column + PAD_LEFT
    wire          accept    = s_axis_tvalid && s_axis_tready;
    wire          wpix_end  = (wc == WC_LAST);
    wire          wrow_end  = wpix_end && (wpx == C_PX_MAX);

    // ---------------------------------------------------------------- reader (issue stage)
    // The window position: counters plus registered flags (last beat of a window row, last
    // window row, last window of a row, last row of windows) that the issue decision uses.
    reg  [JW-1:0]  j;      // beat within the window row: kx*CF + c/SIMD (MMV: of the window)
    reg  [FW-1:0]  jf;     // j % CF: beat within the pixel being read
    reg  [KW-1:0]  ky;     // window row
    reg  [CW-1:0]  rtop;   // oy*STRIDE: padded row of the window's top edge
    reg  [CW-1:0]  pry;    // rtop + ky*DILATION: padded row being read
    reg  [PCW-1:0] pcol0;  // ox*STRIDE*CF: padded column word of the window's left edge
    reg  [PCW-1:0] pcol;   // pcol0 + kx*DILATION*CF + jf: padded column word being read
    reg  [AW-1:0]  top_addr;  // slot address of real row rtop - PAD_TOP
    reg  [AW-1:0]  row_addr;  // slot address of real row pry - PAD_TOP
    reg  [DW-1:0]  credits;   // rows the writer may still start (see header)
    reg            j_end;      // j == NJ-1
    reg            ky_last;    // ky == NKY-1
    reg            ctop_last;  // last window of the row: ox == OUT_W-1
    reg            rtop_last;  // last row of windows: oy == OUT_H-1
    reg            win_start;  // j == 0 and ky == 0
    wire           win_end, row_end, pad;
    wire [AW-1:0]  raddr;
    // The window's last image pixel (py_last, px_last) = (min(rtop+EXT-1, PY_MAX),
    // min(ox*STRIDE+EXT-1, PX_MAX)) as the room left to the image's edge.
    reg  [CW-1:0]  xroom;  // PX_MAX - px_last
    reg  [CW-1:0]  yroom;  // PY_MAX - py_last
    // Pixels the writer has completed minus (index of the window's last pixel + 1), both
    // counted across frames: the window may start when it is >= 0 (the writer is past that
    // pixel); moving to the next window subtracts the step of that index. It stays within
    // (ROWS + 1) * IN_W (the line buffer) above and two frames (the reader ahead) below.
    reg  [EW-1:0]  ahead;

    assign win_end   = j_end && ky_last;
    assign row_end   = win_end && ctop_last;
    assign frame_end = row_end && rtop_last;
    wire win_ready = !ahead[EW-1];
    // (Comparisons with a zero padding are constant; that is intended.)
    /* verilator lint_off UNSIGNED */
    assign pad     = (pry < C_PT) || (pry > C_PY_MAX) || (pcol < P_LO) || (pcol >= P_HI);
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PCW-1:0] col  = pcol - P_LO;  // column word in the row (bits above AW are 0 unless pad)
    /* verilator lint_on UNUSEDSIGNAL */
    assign raddr   = row_addr + col[AW-1:0];
    assign issue   = en_b && (!win_start || win_ready);

    // Steps of the window's last pixel (next window in the row: min(xroom, STRIDE); next row
    // of windows: min(yroom, STRIDE) rows) and the rows freed at the end of a row of windows
    // (max(rtop+STRIDE-PAD_TOP, 0) - max(rtop-PAD_TOP, 0)), as lookups on equalities with
    // constants (LUTs only; the small values are the only ones that differ).
    /* verilator lint_off UNUSEDSIGNAL */
    function [CW-1:0] min_stride;  // min(v, STRIDE)
        input [CW-1:0] v;
        integer t;
        begin
            min_stride = C_STRIDE;
            for (t = 0; t < STRIDE; t = t + 1) begin
                if (v == t[CW-1:0]) min_stride = t[CW-1:0];
            end
        end
    endfunction
    function [EW-1:0] neg_step;  // -(pixels from the last pixel of this window to the next's)
        input [CW-1:0] v;        // xroom, or yroom at a row's end
        input          row_step;  // the window is the last of its row
        integer t, n;
        begin
            n = row_step ? -(STRIDE * IN_W + ROW_BACK) : -STRIDE;
            for (t = 0; t < STRIDE; t = t + 1) begin
                if (v == t[CW-1:0]) n = row_step ? -(t * IN_W + ROW_BACK) : -t;
            end
            neg_step = n[EW-1:0];
        end
    endfunction
    function [DW-1:0] row_free;  // rows freed at the end of the row of windows at rtop r, - m1
        input [CW-1:0] r;
        input          m1;
        integer t, n;
        begin
            n = STRIDE;
            for (t = 0; t < PAD_TOP; t = t + 1) begin
                if (r == t[CW-1:0]) n = (t + STRIDE > PAD_TOP) ? t + STRIDE - PAD_TOP : 0;
            end
            n = n - m1;
            row_free = n[DW-1:0];
        end
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */
    wire [EW-1:0] ndec_c = (ctop_last && rtop_last) ? E_NFRAME_STEP : neg_step(
                               ctop_last ? yroom : xroom, ctop_last);  // minus the step
    wire [DW-1:0] free_c = rtop_last ? D_FRAME : row_free(rtop, 1'b0);
    wire [DW-1:0] free_m1_c = rtop_last ? D_FRAME_M1 : row_free(rtop, 1'b1);
    /* verilator lint_on UNSIGNED */
    // Both only matter on a window's (a row's) last beat: with two or more beats per window
    // (per row) a copy registered every cycle is up to date by then and cuts the path.
    reg  [EW-1:0] ndec_r;
    reg  [DW-1:0] free_r;
    reg  [DW-1:0] free_m1_r;
    always @(posedge clk) begin
        ndec_r    <= ndec_c;
        free_r    <= free_c;
        free_m1_r <= free_m1_c;
    end
    wire [EW-1:0] ndec    = (NKY * NJ > 1) ? ndec_r : ndec_c;  // minus the step
    wire [DW-1:0] free    = (OUT_W * NKY * NJ > 1) ? free_r : free_c;
    wire [DW-1:0] free_m1 = (OUT_W * NKY * NJ > 1) ? free_m1_r : free_m1_c;

    // Free-row credits: real rows the first window row still to be read starts at, plus ROWS,
    // minus the writer's row. s_axis_tready is credits_next != 0, decided without the sum
    // (credits >= 1 whenever a beat is accepted).
    wire          freeing = issue && row_end;
    wire          taking  = accept && wrow_end;
    wire [DW-1:0] credit_add = freeing ? (taking ? free_m1 : free)
                             : (taking ? {DW{1'b1}} : {DW{1'b0}});
    wire          credits_next_nz = (freeing && (free != {DW{1'b0}}))
                                    || (taking ? (credits != D_ONE) : (credits != {DW{1'b0}}));
    // ahead + (a pixel's last beat accepted) - (the step, on a window's last beat) as one carry
    // chain: {a, 1} + {b, c} = 2(a + b + c) + 1 - c, bits [EW:1] are a + b + c.
    wire          pixel_done = accept && wpix_end;
    wire [EW-1:0] ahead_add  = (issue && win_end) ? ndec : {EW{1'b0}};
    /* verilator lint_off UNUSEDSIGNAL */
    wire [EW:0]   ahead_sum  = {ahead, 1'b1} + {ahead_add, pixel_done};
    /* verilator lint_on UNUSEDSIGNAL */

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
            waddr         <= {AW{1'b0}};
            j             <= {JW{1'b0}};
            jf            <= {FW{1'b0}};
            ky            <= {KW{1'b0}};
            rtop          <= {CW{1'b0}};
            pry           <= {CW{1'b0}};
            pcol0         <= {PCW{1'b0}};
            pcol          <= {PCW{1'b0}};
            top_addr      <= A_TOP;
            row_addr      <= A_TOP;
            credits       <= D_ROWS;
            s_axis_tready <= 1'b1;
            j_end         <= (NJ == 1);
            ky_last       <= (NKY == 1);
            ctop_last     <= (OUT_W == 1);
            rtop_last     <= (OUT_H == 1);
            win_start     <= 1'b1;
            xroom         <= C_XROOM0;
            yroom         <= C_YROOM0;
            ahead         <= E_AHEAD0;
        end else begin
            if (accept) begin
                waddr <= (waddr == A_LAST) ? {AW{1'b0}} : waddr + 1'b1;
                wc    <= wpix_end ? {FW{1'b0}} : wc + 1'b1;
                if (wpix_end) begin
                    wpx <= (wpx == C_PX_MAX) ? C_PL : wpx + 1'b1;
                end
            end
            credits       <= credits + credit_add;
            s_axis_tready <= credits_next_nz;
            ahead         <= ahead_sum[EW:1];
            if (issue) begin
                win_start <= win_end;
                jf <= (jf == WC_LAST || j_end) ? {FW{1'b0}} : jf + 1'b1;
                if (!j_end) begin
                    j     <= j + 1'b1;
                    pcol  <= pcol + ((jf == WC_LAST) ? P_TAP : {{(PCW-1){1'b0}}, 1'b1});
                    j_end <= (j == J_PEN);
                end else if (!win_end) begin  // next row of the window
                    j        <= {JW{1'b0}};
                    pcol     <= pcol0;
                    ky       <= ky + 1'b1;
                    pry      <= pry + DILATION[CW-1:0];
                    row_addr <= wrap_add(row_addr, A_ROW);
                    j_end    <= (NJ == 1);
                    ky_last  <= (ky == KY_PEN);
                end else if (!row_end) begin  // next window in the row
                    j         <= {JW{1'b0}};
                    ky        <= {KW{1'b0}};
                    pcol0     <= pcol0 + P_STRIDE;
                    pcol      <= pcol0 + P_STRIDE;
                    pry       <= rtop;
                    row_addr  <= top_addr;
                    j_end     <= (NJ == 1);
                    ky_last   <= (NKY == 1);
                    ctop_last <= (pcol0 == P_CTOP_PEN);
                    xroom     <= xroom - min_stride(xroom);
                end else begin  // next row of windows, or the next frame
                    j         <= {JW{1'b0}};
                    ky        <= {KW{1'b0}};
                    pcol0     <= {PCW{1'b0}};
                    pcol      <= {PCW{1'b0}};
                    rtop      <= frame_end ? {CW{1'b0}} : rtop + C_STRIDE;
                    pry       <= frame_end ? {CW{1'b0}} : rtop + C_STRIDE;
                    top_addr  <= wrap_add(top_addr, frame_end ? A_FRAME : A_WIN);
                    row_addr  <= wrap_add(top_addr, frame_end ? A_FRAME : A_WIN);
                    j_end     <= (NJ == 1);
                    ky_last   <= (NKY == 1);
                    ctop_last <= (OUT_W == 1);
                    rtop_last <= frame_end ? (OUT_H == 1) : (rtop == RTOP_PEN);
                    xroom     <= C_XROOM0;
                    yroom     <= frame_end ? C_YROOM0 : yroom - min_stride(yroom);
                end
            end
        end
    end

    // ---------------------------------------------------------------- lanes
    generate
        if (MMV > 1) begin : g_lanes
            hwbnn_sliding_window_lanes #(
                .IN_H(IN_H), .IN_W(IN_W), .KERNEL(KERNEL), .STRIDE(STRIDE),
                .DILATION(DILATION), .PAD_TOP(PAD_TOP), .PAD_LEFT(PAD_LEFT), .MMV(MMV),
                .MEM_WORDS(MEM_WORDS),
                .TOP_ADDR(TOP_ADDR), .WIN_STEP(WIN_STEP), .FRAME_STEP(FRAME_STEP),
                .AW(AW), .CW(CW), .JW(JW)
            ) u_lanes (
                .clk(clk), .rst(rst), .step(issue && win_end), .row_step(issue && row_end),
                .frame_end(frame_end), .rtop(rtop), .q(j), .raddr(lane_raddr), .pad(lane_pad)
            );
            /* verilator lint_off UNUSEDSIGNAL */
            wire unused_one = pad ^ (^raddr);  // the one-position path is not used
            /* verilator lint_on UNUSEDSIGNAL */
        end else begin : g_one
            assign lane_raddr = raddr;
            assign lane_pad   = pad;
        end
    endgenerate
endmodule

`default_nettype wire
