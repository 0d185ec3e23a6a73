// hwbnn_window_majority: majority of each window of a binary sliding-window stream (the sign
// of an average pool of +-1 values padded with -1: hwbnn.ir.majority.MajorityPool).
//
// Input: the stream of hwbnn_sliding_window with ELEM_BITS = 1 and PAD_CODE = 0: per output
// pixel one window of KERNEL*KERNEL positions in (ky, kx) order, each position CF =
// CHANNELS/SIMD beats of SIMD channels (channel c at bit c % SIMD of beat c / SIMD); padding
// positions are 0 bits. Output: per window CF beats,
//   bit s of beat f = (count of 1s over the KERNEL*KERNEL positions of channel c) >= T_c,
//   c = f*SIMD + s,  T_c = THRESHOLDS[8*c +: 8]
// (hwbnn.reference.images.majority_pool). Windows are counted (KERNEL*KERNEL*CF beats each);
// an output beat carries the tlast of the input beat that completes it, so the frame end
// passes through.
// The partial counts (CW = clog2(KERNEL*KERNEL + 1) bits per channel) of the CF channel groups
// wait in hwbnn_window_pool_ctrl's shift register (CHANNELS*CW flip-flops), as
// hwbnn_window_or keeps its partial ORs: each input beat adds its bits to its group's word
// (or starts it, at the first position of a window); at the last position the counts are
// compared with the group's thresholds and the bits sent out. With SIMD = MMV*CHANNELS (MMV
// dividing KERNEL*KERNEL: hwbnn_sliding_window's MMV positions per beat) an input beat
// carries MMV whole positions (position i at bits [i*CHANNELS +: CHANNELS]), whose bits per
// channel are counted before the same steps (KERNEL*KERNEL/MMV beats per window), and an
// output beat is one window's CHANNELS bits. Timing and handshake: hwbnn_window_pool_ctrl (an
// output beat one cycle after the input beat that completes it; registered m_axis), as in
// hwbnn_window_or.
`default_nettype none

module hwbnn_window_majority #(
    parameter CHANNELS = 4,  // channels per pixel
    parameter KERNEL   = 3,  // window rows and columns (KERNEL*KERNEL positions counted), <= 15
    parameter SIMD     = 2,  // channels per input beat; divides CHANNELS, or MMV*CHANNELS
    // threshold T_c of channel c at [8*c +: 8], in 0..KERNEL*KERNEL+1 (0: always 1, the
    // largest: always 0); a count reaching it gives bit 1
    parameter [8*CHANNELS-1:0] THRESHOLDS = {8*CHANNELS{1'b0}}
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
    localparam CF        = (SIMD_OUT > 0) ? CHANNELS / SIMD_OUT : 1;  // beats per position
    localparam CW = $clog2(KERNEL * KERNEL + 1);                    // bits of a count
    localparam GW = SIMD_OUT * CW;                                  // a group's counts
    localparam FW = (CF > 1) ? $clog2(CF) : 1;                      // group counter bits

    // 1 when every threshold is at most KERNEL*KERNEL + 1.
    function integer thresholds_ok;
        input integer unused;
        integer c;
        begin
            thresholds_ok = 1 + unused;  // called with 0
            for (c = 0; c < CHANNELS; c = c + 1) begin
                if ({24'd0, THRESHOLDS[8*c +: 8]} > KERNEL * KERNEL + 1) thresholds_ok = 0;
            end
        end
    endfunction

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(SIMD >= 1 && CHANNELS >= 1 && (CHANNELS % SIMD == 0
                            || (SIMD % CHANNELS == 0 && (KERNEL * KERNEL) % MMV == 0))),
        .RULE("SIMD must divide CHANNELS or be MMV*CHANNELS with MMV dividing KERNEL*KERNEL"),
        .NAME0("SIMD"), .VALUE0(SIMD), .NAME1("CHANNELS"), .VALUE1(CHANNELS),
        .NAME2("KERNEL"), .VALUE2(KERNEL)) u_check_simd ();
    hwbnn_param_check #(.OK(KERNEL >= 1 && KERNEL <= 15),
        .RULE("KERNEL must be 1 to 15 (8-bit thresholds up to KERNEL*KERNEL+1)"),
        .NAME0("KERNEL"), .VALUE0(KERNEL)) u_check_kernel ();
    hwbnn_param_check #(.OK(thresholds_ok(0)),
        .RULE("every THRESHOLDS entry must be at most KERNEL*KERNEL+1"),
        .NAME0("KERNEL"), .VALUE0(KERNEL), .NAME1("CHANNELS"), .VALUE1(CHANNELS)
    ) u_check_thresholds ();

    wire [FW-1:0] f;     // channel group of the current beat
    wire          first;  // the beat is at a window's first position
    wire [GW-1:0] head;   // partial counts of channel group f
    reg  [GW-1:0] beat;   // per channel, the 1s among the beat's MMV positions
    reg  [GW-1:0] value;  // per channel, the count including this beat
    reg  [SIMD_OUT-1:0] decide;  // per channel, value >= threshold
    integer i, s;
    always @(*) begin
        beat = {GW{1'b0}};
        for (s = 0; s < SIMD_OUT; s = s + 1) begin
            for (i = 0; i < MMV; i = i + 1) begin
                beat[s*CW +: CW] = beat[s*CW +: CW] + {{(CW-1){1'b0}}, s_axis_tdata[i*SIMD_OUT + s]};
            end
        end
    end
    always @(*) begin
        for (s = 0; s < SIMD_OUT; s = s + 1) begin
            value[s*CW +: CW] = first ? beat[s*CW +: CW] : beat[s*CW +: CW] + head[s*CW +: CW];
            decide[s] = {{(9-CW){1'b0}}, value[s*CW +: CW]}
                        >= {1'b0, THRESHOLDS[8*(f*SIMD_OUT + s) +: 8]};
        end
    end

    hwbnn_window_pool_ctrl #(
        .CHANNELS(CHANNELS), .KERNEL(KERNEL), .SIMD(SIMD), .LANE_BITS(CW)
    ) u_ctrl (
        .clk(clk), .rst(rst), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .s_axis_tlast(s_axis_tlast), .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready), .m_axis_tlast(m_axis_tlast), .group(f),
        .first(first), .head(head), .value(value), .result(decide)
    );
endmodule

`default_nettype wire
