// hwbnn_sliding_window_lanes: the read addresses of MMV window positions per beat, for
// hwbnn_sliding_window at SIMD = MMV*CHANNELS (one pixel per line buffer word).
//
// Beat q of a window (q = 0 .. KERNEL*KERNEL/MMV - 1) carries the positions q*MMV + i,
// i = 0 .. MMV-1, in (ky, kx) order: lane i reads (ky, kx) = divmod(q*MMV + i, KERNEL), i.e.
// line buffer word rowbase[ky] + colx[kx] (window row ky is padded row rtop + ky*DILATION,
// column kx padded column ox*STRIDE + kx*DILATION), padding where rowpad[ky] or colpad[kx]. The
// per-row and per-column values are registers that follow the window position of
// hwbnn_sliding_window_ctrl (reset: the first window of a frame; step: the next window in the
// row; row_step: the next row of windows, or with frame_end the next frame's first), so a
// lane's address is two small multiplexers on q and one adder, and its pad flag two
// multiplexers and an OR (combinational, read in the cycle the beat is issued).
`default_nettype none

module hwbnn_sliding_window_lanes #(
    parameter IN_H       = 8,   // input image rows
    parameter IN_W       = 8,   // input image columns (line buffer words per row)
    parameter KERNEL     = 3,   // window rows and columns
    parameter STRIDE     = 1,   // step between windows
    parameter DILATION   = 1,   // step between a window's taps
    parameter PAD_TOP    = 0,   // padding rows above the image
    parameter PAD_LEFT   = 0,   // padding columns left of the image
    parameter MMV        = 3,   // window positions per beat; divides KERNEL*KERNEL
    parameter MEM_WORDS  = 48,  // line buffer words (ROWS*IN_W)
    parameter TOP_ADDR   = 0,   // word of the first frame's padded row 0 (row -PAD_TOP)
    parameter WIN_STEP   = 8,   // words from a row of windows' top row to the next's
    parameter FRAME_STEP = 0,   // words from the last row of windows' top to the next frame's
    parameter AW         = 6,   // address bits
    parameter CW         = 5,   // coordinate bits (padded rows and columns + STRIDE + extent)
    parameter JW         = 2    // bits of q
) (
    input  wire              clk,
    input  wire              rst,
    input  wire              step,       // a window's last beat issued
    input  wire              row_step,   // a row of windows' last beat issued
    input  wire              frame_end,  // with row_step: the frame's last
    input  wire [CW-1:0]     rtop,       // padded row of the current row of windows' top
    input  wire [JW-1:0]     q,          // beat of the window being issued
    output reg  [MMV*AW-1:0] raddr,      // lane i at [i*AW +: AW]
    output reg  [MMV-1:0]    pad         // lane i at bit i
);
    localparam NB = KERNEL * KERNEL / MMV;  // beats per window
    localparam integer PY_MAX = PAD_TOP + IN_H - 1;   // last image row (padded)
    localparam integer PX_MAX = PAD_LEFT + IN_W - 1;  // last image column (padded)
    localparam [AW:0] A_MEM = MEM_WORDS[AW:0];
    localparam [CW-1:0] C_STRIDE = STRIDE[CW-1:0];

    // Per window row ky: word of its first pixel, padding row; per window column kx: padded
    // column, its word in the row (pc - PAD_LEFT mod 2^AW), padding column.
    reg  [KERNEL*AW-1:0] rowbase;
    reg  [KERNEL-1:0]    rowpad;
    reg  [KERNEL*CW-1:0] pc;
    reg  [KERNEL*AW-1:0] colx;
    reg  [KERNEL-1:0]    colpad;

    /* verilator lint_off UNUSEDSIGNAL */  // (integer arguments: only their low bits matter)
    function [AW-1:0] wrap_add;  // (a + step) mod MEM_WORDS for a < MEM_WORDS, step < it
        input [AW-1:0] a;
        input integer  inc;
        reg   [AW:0]   sum;
        begin
            sum = {1'b0, a} + inc[AW:0];
            if (sum >= A_MEM) begin
                sum = sum - A_MEM;
            end
            wrap_add = sum[AW-1:0];
        end
    endfunction
    /* verilator lint_off UNSIGNED */  // (comparisons with a zero padding are constant)
    function outside;  // a padded row (column) v is padding: v < lo or v > hi
        input [CW-1:0] v;
        input integer  lo;
        input integer  hi;
        begin
            outside = (v < lo[CW-1:0]) || (v > hi[CW-1:0]);
        end
    endfunction
    /* verilator lint_on UNSIGNED */
    function [CW-1:0] tap;  // the padded offset of window row (column) k: k*DILATION
        input integer k;
        integer v;
        begin
            v = k * DILATION;
            tap = v[CW-1:0];
        end
    endfunction
    function [AW-1:0] tap_word;  // the same as a line buffer word offset
        input integer k;
        integer v;
        begin
            v = k * DILATION;
            tap_word = v[AW-1:0];
        end
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */

    integer k;
    always @(posedge clk) begin
        for (k = 0; k < KERNEL; k = k + 1) begin
            if (rst) begin
                rowbase[k*AW +: AW] <= wrap_add({AW{1'b0}},
                                                (TOP_ADDR + k * DILATION * IN_W) % MEM_WORDS);
                rowpad[k]           <= outside(tap(k), PAD_TOP, PY_MAX);
            end else if (row_step) begin
                rowbase[k*AW +: AW] <= wrap_add(rowbase[k*AW +: AW],
                                                frame_end ? FRAME_STEP : WIN_STEP);
                rowpad[k] <= frame_end ? outside(tap(k), PAD_TOP, PY_MAX)
                                       : outside(rtop + C_STRIDE + tap(k), PAD_TOP, PY_MAX);
            end
            if (rst || row_step) begin
                pc[k*CW +: CW]   <= tap(k);
                colx[k*AW +: AW] <= tap_word(k) - PAD_LEFT[AW-1:0];
                colpad[k]        <= outside(tap(k), PAD_LEFT, PX_MAX);
            end else if (step) begin
                pc[k*CW +: CW]   <= pc[k*CW +: CW] + C_STRIDE;
                colx[k*AW +: AW] <= colx[k*AW +: AW] + STRIDE[AW-1:0];
                colpad[k]        <= outside(pc[k*CW +: CW] + C_STRIDE, PAD_LEFT, PX_MAX);
            end
        end
    end

    // Lane i at beat q: position q*MMV + i (constant tables on q).
    integer i, t, p;
    reg [AW-1:0] rb, cx;
    always @(*) begin
        raddr = {MMV*AW{1'b0}};
        pad   = {MMV{1'b0}};
        for (i = 0; i < MMV; i = i + 1) begin
            rb = rowbase[(i / KERNEL)*AW +: AW];
            cx = colx[(i % KERNEL)*AW +: AW];
            pad[i] = rowpad[i / KERNEL] || colpad[i % KERNEL];
            for (t = 1; t < NB; t = t + 1) begin
                p = t * MMV + i;
                if (q == t[JW-1:0]) begin
                    rb = rowbase[(p / KERNEL)*AW +: AW];
                    cx = colx[(p % KERNEL)*AW +: AW];
                    pad[i] = rowpad[p / KERNEL] || colpad[p % KERNEL];
                end
            end
            raddr[i*AW +: AW] = rb + cx;
        end
    end
endmodule

`default_nettype wire
