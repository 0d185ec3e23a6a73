// hwbnn_window_pool_ctrl: the control and the partial results of the window pools
// (hwbnn_window_or, hwbnn_window_majority; see there for the stream formats and checks).
//
// A window arrives as POSITIONS = KERNEL*KERNEL/MMV beat groups (MMV = SIMD/CHANNELS window
// positions per beat when SIMD > CHANNELS, else 1), each of CF = CHANNELS/SIMD_OUT beats,
// one per channel group. The pool folds each beat into the partial result of its channel
// group (LANE_BITS bits per channel: value, from head unless first) and turns the folded
// partial into SIMD_OUT output bits (result). This module
//   - counts the groups and positions: group is the channel group of the current beat,
//     first says it is at a window's first position (the pool starts the partial afresh);
//   - keeps the CF partial words in a shift register (CHANNELS*LANE_BITS flip-flops): head is
//     the oldest word, the current group's; each accepted beat drops it and pushes value;
//   - at a window's last position sends result out, with the tlast of that input beat.
// Timing: one input beat per cycle, an output beat one cycle after the input beat that
// completes it. m_axis_tdata, m_axis_tvalid and m_axis_tlast are registers; s_axis_tready
// depends combinationally on m_axis_tready (at the last position of a window only), as in
// hwbnn_axis_width_converter.
`default_nettype none

module hwbnn_window_pool_ctrl #(
    parameter CHANNELS  = 4,  // channels per pixel
    parameter KERNEL    = 2,  // window rows and columns
    parameter SIMD      = 2,  // channels per input beat; divides CHANNELS, or MMV*CHANNELS
    parameter LANE_BITS = 1   // bits of a channel's partial result (1: an OR, more: a count)
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                s_axis_tvalid,
    output wire                s_axis_tready,
    input  wire                s_axis_tlast,
    output reg  [SIMD_OUT-1:0] m_axis_tdata,
    output reg                 m_axis_tvalid,
    input  wire                m_axis_tready,
    output reg                 m_axis_tlast,
    output reg  [FW-1:0]       group,   // channel group of the current beat
    output wire                first,   // the current beat is at a window's first position
    output wire [GW-1:0]       head,    // partial results of the current group
    input  wire [GW-1:0]       value,   // head with the current beat folded in
    input  wire [SIMD_OUT-1:0] result   // the output beat of value (at the last position)
);
    localparam SIMD_OUT  = (SIMD > CHANNELS) ? CHANNELS : SIMD;     // channels per output beat
    localparam MMV       = (SIMD > CHANNELS && CHANNELS > 0) ? SIMD / CHANNELS : 1;
    localparam CF        = (SIMD_OUT > 0) ? CHANNELS / SIMD_OUT : 1;  // beats per position
    localparam POSITIONS = KERNEL * KERNEL / MMV;                   // beats of CF per window
    localparam GW = SIMD_OUT * LANE_BITS;                           // a group's partials
    localparam FW = (CF > 1) ? $clog2(CF) : 1;                      // group counter bits
    localparam PW = (POSITIONS > 1) ? $clog2(POSITIONS) : 1;        // position counter bits
    localparam integer CF_M1  = CF - 1;
    localparam integer POS_M1 = POSITIONS - 1;
    localparam [FW-1:0] F_LAST = CF_M1[FW-1:0];
    localparam [PW-1:0] P_LAST = POS_M1[PW-1:0];

    reg  [PW-1:0] pos;  // window position of the current beat
    wire          emit   = (pos == P_LAST);
    wire          accept = s_axis_tvalid && s_axis_tready;

    assign first = (pos == {PW{1'b0}});
    assign s_axis_tready = !emit || !m_axis_tvalid || m_axis_tready;

    generate
        if (CF > 1) begin : g_shift
            reg [CF*GW-1:0] partial;  // CF words, the oldest in the low bits
            assign head = partial[GW-1:0];
            always @(posedge clk) begin
                if (accept) begin
                    partial <= {value, partial[CF*GW-1:GW]};
                end
            end
        end else begin : g_single
            reg [GW-1:0] partial;
            assign head = partial;
            always @(posedge clk) begin
                if (accept) begin
                    partial <= value;
                end
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (accept && emit) begin
            m_axis_tdata <= result;
            m_axis_tlast <= s_axis_tlast;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            group         <= {FW{1'b0}};
            pos           <= {PW{1'b0}};
            m_axis_tvalid <= 1'b0;
        end else begin
            if (m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
            end
            if (accept) begin
                if (emit) begin
                    m_axis_tvalid <= 1'b1;
                end
                if (group == F_LAST) begin
                    group <= {FW{1'b0}};
                    pos   <= emit ? {PW{1'b0}} : pos + 1'b1;
                end else begin
                    group <= group + 1'b1;
                end
            end
        end
    end
endmodule

`default_nettype wire
