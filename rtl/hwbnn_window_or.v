// hwbnn_window_or: OR of each window of a binary sliding-window stream (max pooling on bits).
//
// Input: the stream of hwbnn_sliding_window with ELEM_BITS = 1: per output pixel one window
// of KERNEL*KERNEL positions in (ky, kx) order, each position CF = CHANNELS/SIMD beats of SIMD
// channels (channel c at bit c % SIMD of beat c / SIMD). Output: per window CF beats,
//   bit s of beat f = OR over the KERNEL*KERNEL positions of channel f*SIMD + s,
// the max of +-1 values with -1 = 0 and +1 = 1 (hwbnn.reference.or_pool). Windows are
// counted (KERNEL*KERNEL*CF beats each); an output beat carries the tlast of the input beat
// that completes it, so the frame end passes through.
// The partial ORs of the CF channel groups wait in hwbnn_window_pool_ctrl's shift register
// (CHANNELS flip-flops): each input beat ORs itself into its group's word (or starts it, at
// the first position of a window), which is sent out at the last position. With SIMD =
// MMV*CHANNELS (MMV dividing KERNEL*KERNEL: hwbnn_sliding_window's MMV positions per beat) an
// input beat carries MMV whole positions (position i at bits [i*CHANNELS +: CHANNELS]), ORed
// together before the same steps (KERNEL*KERNEL/MMV beats per window), and an output beat is
// one window's CHANNELS bits. Timing and handshake: hwbnn_window_pool_ctrl (an output beat
// one cycle after the input beat that completes it; registered m_axis).
`default_nettype none

module hwbnn_window_or #(
    parameter CHANNELS = 4,  // channels per pixel
    parameter KERNEL   = 2,  // window rows and columns (KERNEL*KERNEL positions are ORed)
    parameter SIMD     = 2   // channels per input beat; divides CHANNELS, or MMV*CHANNELS
) (
    input  wire                clk,
    input  wire                rst,
    input  wire [SIMD-1:0]     s_axis_tdata,
    input  wire                s_axis_tvalid,
    output wire                s_axis_tready,
    input  wire                s_axis_tlast,
    output wire [SIMD_OUT-1:0] m_axis_tdata,
    output wire                m_axis_tvalid,
    input  wire                m_axis_tready,
    output wire                m_axis_tlast
);
    localparam SIMD_OUT  = (SIMD > CHANNELS) ? CHANNELS : SIMD;     // channels per output beat
    localparam MMV       = (SIMD > CHANNELS && CHANNELS > 0) ? SIMD / CHANNELS : 1;

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(SIMD >= 1 && CHANNELS >= 1 && (CHANNELS % SIMD == 0
                            || (SIMD % CHANNELS == 0 && (KERNEL * KERNEL) % MMV == 0))),
        .RULE("SIMD must divide CHANNELS or be MMV*CHANNELS with MMV dividing KERNEL*KERNEL"),
        .NAME0("SIMD"), .VALUE0(SIMD), .NAME1("CHANNELS"), .VALUE1(CHANNELS),
        .NAME2("KERNEL"), .VALUE2(KERNEL)) u_check_simd ();
    hwbnn_param_check #(.OK(KERNEL >= 1), .RULE("KERNEL must be at least 1"),
        .NAME0("KERNEL"), .VALUE0(KERNEL)) u_check_kernel ();

    wire                first;  // the beat is at a window's first position
    wire [SIMD_OUT-1:0] head;   // partial OR of the beat's channel group
    reg  [SIMD_OUT-1:0] beat;   // OR of the beat's MMV positions
    wire [SIMD_OUT-1:0] value = first ? beat : (beat | head);
    integer i;
    always @(*) begin
        beat = {SIMD_OUT{1'b0}};
        for (i = 0; i < MMV; i = i + 1) begin
            beat = beat | s_axis_tdata[i*SIMD_OUT +: SIMD_OUT];
        end
    end

    /* verilator lint_off PINCONNECTEMPTY */  // the ORs need not know the channel group
    hwbnn_window_pool_ctrl #(
        .CHANNELS(CHANNELS), .KERNEL(KERNEL), .SIMD(SIMD), .LANE_BITS(1)
    ) u_ctrl (
        .clk(clk), .rst(rst), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .s_axis_tlast(s_axis_tlast), .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready), .m_axis_tlast(m_axis_tlast), .group(),
        .first(first), .head(head), .value(value), .result(value)
    );
    /* verilator lint_on PINCONNECTEMPTY */
endmodule

`default_nettype wire
