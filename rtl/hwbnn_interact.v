// hwbnn_interact: the CI-BCNN channel interaction (Wang et al., CVPR 2019) of a convolution's
// integer accumulators, between the matrix-vector unit and the threshold unit.
//
// Per pixel, with Y the CHANNELS accumulators (IN_BITS two's complement) and the DAG of
// signed edges i -> j given by SIGNS, LEVEL, DEADZONE m and MAGNITUDE c:
//   t(Y) = +1 if Y >= m, -1 if Y <= -m, else 0
//   Y^(0) = Y;  for k = 1..LEVELS:  Y^(k)_j = Y^(k-1)_j + c * sum_i s_ij * t(Y^(k-1)_i)
//               for the channels j with LEVEL[j] == k (the others pass unchanged)
//   out_j = Y^(LEVELS)_j, or -Y^(LEVELS)_j where NEGATE[j]   (OUT_BITS two's complement)
// Every edge must go from a lower to a higher level (so a source is final before it is read:
// hwbnn.ir.interaction.Interaction, whose levels the generator passes), which is checked.
//
// Beat layout: SIMD elements per beat in and out, element s at [s*IN_BITS +: IN_BITS]
// (in) and [s*OUT_BITS +: OUT_BITS] (out); the CHANNELS/SIMD beats of a pixel carry channels
// b*SIMD + s in order, as hwbnn_mvau emits its PE accumulators per beat. A beat with tlast ends
// the pixel (so a malformed frame cannot shift later frames); the last output beat of that
// pixel carries tlast.
//
// Structure: a collector shifts in the CHANNELS/SIMD beats of one pixel; LEVELS pipeline
// registers of CHANNELS*OUT_BITS bits each apply one level (2 comparators per source channel,
// one adder per interacted channel of its in-degree terms +-c or 0); a serializer emits
// the pixel SIMD elements per beat. Throughput: one beat per cycle in and out, i.e. one pixel
// per CHANNELS/SIMD cycles, the rate at which the MVAU writes it. Latency: the first output
// beat of a pixel can be taken LEVELS + 2 cycles after its last input beat (collector, LEVELS
// level registers, serializer; m_axis_* come from registers). Cost:
// CHANNELS*(IN_BITS + (LEVELS + 1)*OUT_BITS) flip-flops plus control; per level 2 comparators
// per source channel and one OUT_BITS adder per interacted channel.
//
// Handshake: full AXI4-Stream backpressure; the pipeline advances where the next register is
// free or advancing (s_axis_tready depends combinationally on m_axis_tready through it).
`default_nettype none

module hwbnn_interact #(
    parameter CHANNELS  = 4,   // channels per pixel C; at most 255
    parameter SIMD      = 2,   // elements per beat in and out; divides CHANNELS
    parameter IN_BITS   = 8,   // bits per two's complement input accumulator
    parameter OUT_BITS  = 10,  // bits per two's complement output (>= IN_BITS, at most 31)
    parameter LEVELS    = 1,   // deepest level D of the graph (pipeline stages), 1 to 255
    parameter DEADZONE  = 1,   // m >= 1: t(Y) = +1 for Y >= m, -1 for Y <= -m
    parameter MAGNITUDE = 1,   // c >= 1: an edge adds +-c * t(source)
    // level of channel j at [8*j +: 8], in 0..LEVELS (0: no incoming edge)
    parameter [8*CHANNELS-1:0] LEVEL = {8*CHANNELS{1'b0}},
    // edge i -> j at [2*(j*CHANNELS + i) +: 2]: 2'b01 sign +1, 2'b11 sign -1, 2'b00 no edge
    parameter [2*CHANNELS*CHANNELS-1:0] SIGNS = {2*CHANNELS*CHANNELS{1'b0}},
    // bit j: channel j's output is negated (a decreasing BatchNorm; the threshold uses >=)
    parameter [CHANNELS-1:0] NEGATE = {CHANNELS{1'b0}}
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire [SIMD*IN_BITS-1:0]  s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    input  wire                     s_axis_tlast,
    output wire [SIMD*OUT_BITS-1:0] m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,
    output wire                     m_axis_tlast
);
    localparam NB    = (SIMD > 0) ? CHANNELS / SIMD : 1;  // beats per pixel
    localparam CNT_W = $clog2(NB + 1);                   // beat counter bits
    localparam IW    = CHANNELS * IN_BITS;               // a pixel of inputs
    localparam CW    = CHANNELS * OUT_BITS;              // a pixel of (interacted) outputs
    localparam integer NB_M1 = NB - 1;
    localparam integer NB_I  = NB;
    localparam [CNT_W-1:0] LAST_BEAT = NB_M1[CNT_W-1:0];
    localparam [CNT_W-1:0] ONE_BEAT  = 1;
    localparam [CNT_W-1:0] NB_BEATS  = NB_I[CNT_W-1:0];

    // 1 when every level is in 0..LEVELS, every edge code is legal and every edge goes from a
    // lower to a higher level.
    function integer graph_ok;
        input integer unused;
        integer i, j;
        begin
            graph_ok = 1 + unused;  // called with 0
            for (j = 0; j < CHANNELS; j = j + 1) begin
                if ({24'd0, LEVEL[8*j +: 8]} > LEVELS) graph_ok = 0;
                for (i = 0; i < CHANNELS; i = i + 1) begin
                    if (SIGNS[2*(j*CHANNELS + i) +: 2] == 2'b10) graph_ok = 0;
                    if (SIGNS[2*(j*CHANNELS + i) +: 2] != 2'b00
                            && LEVEL[8*i +: 8] >= LEVEL[8*j +: 8]) graph_ok = 0;
                end
            end
        end
    endfunction

    hwbnn_param_check #(.OK(CHANNELS >= 1 && CHANNELS <= 255 && SIMD >= 1
                            && CHANNELS % SIMD == 0),
        .RULE("SIMD must divide CHANNELS (at most 255)"),
        .NAME0("SIMD"), .VALUE0(SIMD), .NAME1("CHANNELS"), .VALUE1(CHANNELS)) u_check_simd ();
    hwbnn_param_check #(.OK(IN_BITS >= 1 && OUT_BITS >= IN_BITS && OUT_BITS <= 31),
        .RULE("OUT_BITS must be at least IN_BITS (at least 1) and at most 31"),
        .NAME0("IN_BITS"), .VALUE0(IN_BITS), .NAME1("OUT_BITS"), .VALUE1(OUT_BITS)
    ) u_check_bits ();
    hwbnn_param_check #(.OK(LEVELS >= 1 && LEVELS <= 255 && DEADZONE >= 1 && MAGNITUDE >= 1),
        .RULE("LEVELS must be 1 to 255, DEADZONE and MAGNITUDE at least 1"),
        .NAME0("LEVELS"), .VALUE0(LEVELS), .NAME1("DEADZONE"), .VALUE1(DEADZONE),
        .NAME2("MAGNITUDE"), .VALUE2(MAGNITUDE)) u_check_levels ();
    hwbnn_param_check #(.OK(graph_ok(0)),
        .RULE("LEVEL entries must be at most LEVELS, SIGNS codes 00/01/11, edges lower to higher LEVEL"),
        .NAME0("CHANNELS"), .VALUE0(CHANNELS), .NAME1("LEVELS"), .VALUE1(LEVELS)
    ) u_check_graph ();

    // The inputs of a pixel sign-extended to OUT_BITS (through 32 bits).
    function [CW-1:0] widen;
        input [IW-1:0] y;
        integer j;
        /* verilator lint_off UNUSEDSIGNAL */  // only the low OUT_BITS bits are kept
        reg [31:0] wide;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            for (j = 0; j < CHANNELS; j = j + 1) begin
                wide = {{(32 - IN_BITS){y[j*IN_BITS + IN_BITS - 1]}}, y[j*IN_BITS +: IN_BITS]};
                widen[j*OUT_BITS +: OUT_BITS] = wide[OUT_BITS-1:0];
            end
        end
    endfunction

    // Element i of a pixel y as a 32-bit integer.
    function integer element;
        input [CW-1:0] y;
        input integer  i;
        begin
            element = {{(32 - OUT_BITS){y[i*OUT_BITS + OUT_BITS - 1]}}, y[i*OUT_BITS +: OUT_BITS]};
        end
    endfunction

    // Level k of the rule on a pixel y.
    function [CW-1:0] level_step;
        input [CW-1:0] y;
        input integer  k;
        integer i, j, sum, t;
        /* verilator lint_off UNUSEDSIGNAL */  // only the low OUT_BITS bits are kept
        reg [31:0] value;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            level_step = y;
            for (j = 0; j < CHANNELS; j = j + 1) begin
                if ({24'd0, LEVEL[8*j +: 8]} == k) begin
                    // +-c per edge whose source is beyond the deadzone: constants, no multiplier
                    sum = 0;
                    for (i = 0; i < CHANNELS; i = i + 1) begin
                        if (SIGNS[2*(j*CHANNELS + i) +: 2] != 2'b00) begin
                            t = (element(y, i) >= DEADZONE) ? MAGNITUDE
                              : (element(y, i) <= -DEADZONE) ? -MAGNITUDE : 0;
                            sum = (SIGNS[2*(j*CHANNELS + i) + 1]) ? sum - t : sum + t;
                        end
                    end
                    value = element(y, j) + sum;
                    level_step[j*OUT_BITS +: OUT_BITS] = value[OUT_BITS-1:0];
                end
            end
        end
    endfunction

    // NEGATE applied to a pixel.
    function [CW-1:0] negated;
        input [CW-1:0] y;
        integer j;
        begin
            for (j = 0; j < CHANNELS; j = j + 1) begin
                negated[j*OUT_BITS +: OUT_BITS] = NEGATE[j] ? -y[j*OUT_BITS +: OUT_BITS]
                                                            : y[j*OUT_BITS +: OUT_BITS];
            end
        end
    endfunction

    // Collector: the beats of one pixel shifted in from the top (channel 0 ends at the bottom).
    reg  [IW-1:0]    col;
    reg  [CNT_W-1:0] cnt;
    reg  [LEVELS:0]  valid;      // valid[0]: the collector holds a pixel; valid[k]: level k
    reg  [LEVELS:0]  last;       // the pixel ended its frame
    reg  [LEVELS*CW-1:0] stage;  // level k's register at [(k-1)*CW +: CW]
    reg  [CW-1:0]    obuf;       // the pixel being emitted, SIMD elements at the bottom
    reg  [CNT_W-1:0] ocnt;       // beats of obuf left to emit
    reg              olast;
    reg  [LEVELS+1:1] move;      // move[k]: register k-1 hands its pixel to k (LEVELS+1: out)

    wire out_free = (ocnt == {CNT_W{1'b0}}) || (ocnt == ONE_BEAT && m_axis_tready);
    integer k, r, q;  // loop indices of the three always blocks (one driver each)
    always @* begin
        move[LEVELS+1] = valid[LEVELS] && out_free;
        for (k = LEVELS; k >= 1; k = k - 1) begin
            move[k] = valid[k-1] && (!valid[k] || move[k+1]);
        end
    end

    assign s_axis_tready = !valid[0] || move[1];
    wire accept   = s_axis_tvalid && s_axis_tready;
    wire complete = accept && (cnt == LAST_BEAT || s_axis_tlast);

    wire [LEVELS*CW-1:0] next;  // every level applied to the register before it
    genvar g;
    generate
        for (g = 1; g <= LEVELS; g = g + 1) begin : g_level
            if (g == 1) begin : g_first
                assign next[0 +: CW] = level_step(widen(col), 1);
            end else begin : g_next
                assign next[(g-1)*CW +: CW] = level_step(stage[(g-2)*CW +: CW], g);
            end
        end
        if (NB > 1) begin : g_shift
            always @(posedge clk) begin
                if (accept) col <= {s_axis_tdata, col[IW-1:SIMD*IN_BITS]};
            end
        end else begin : g_whole
            always @(posedge clk) begin
                if (accept) col <= s_axis_tdata;
            end
        end
    endgenerate

    always @(posedge clk) begin
        for (r = 1; r <= LEVELS; r = r + 1) begin
            if (move[r]) begin
                stage[(r-1)*CW +: CW] <= next[(r-1)*CW +: CW];
                last[r] <= last[r-1];
            end
        end
        if (move[LEVELS+1]) begin
            obuf  <= negated(stage[(LEVELS-1)*CW +: CW]);
            olast <= last[LEVELS];
        end else if (m_axis_tvalid && m_axis_tready) begin
            obuf <= obuf >> (SIMD * OUT_BITS);
        end
        if (complete) last[0] <= s_axis_tlast;
    end

    always @(posedge clk) begin
        if (rst) begin
            cnt   <= {CNT_W{1'b0}};
            valid <= {(LEVELS+1){1'b0}};
            ocnt  <= {CNT_W{1'b0}};
        end else begin
            if (complete) cnt <= {CNT_W{1'b0}};
            else if (accept) cnt <= cnt + 1'b1;
            valid[0] <= complete || (valid[0] && !move[1]);
            for (q = 1; q <= LEVELS; q = q + 1) begin
                valid[q] <= move[q] || (valid[q] && !move[q+1]);
            end
            if (move[LEVELS+1]) ocnt <= NB_BEATS;
            else if (m_axis_tvalid && m_axis_tready) ocnt <= ocnt - 1'b1;
        end
    end

    assign m_axis_tvalid = (ocnt != {CNT_W{1'b0}});
    assign m_axis_tdata  = obuf[SIMD*OUT_BITS-1:0];
    assign m_axis_tlast  = olast && (ocnt == ONE_BEAT);
endmodule

`default_nettype wire
