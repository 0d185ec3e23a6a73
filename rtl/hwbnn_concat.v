// hwbnn_concat: channel concatenation of two AXI4-Streams with the same pixels.
//
// A frame is PIXELS pixels; pixel p of s0 has C0 channels, of s1 C1 channels, SIMD elements
// of ELEM_BITS bits per beat on every port (element s at bits [s*ELEM_BITS +: ELEM_BITS],
// passed through unchanged, so any element kind works). Per pixel the output carries the
// C0/SIMD beats of s0, then the C1/SIMD beats of s1: output pixel p has channels
// 0..C0-1 from s0 and C0..C0+C1-1 from s1. tlast is set on the frame's last output beat
// (the last s1 beat of pixel PIXELS-1), counted by beats: s0_axis_tlast and s1_axis_tlast
// are not used. A k-input concat is a chain of k-1 units.
//
// Handshake: only the input whose turn it is sees tready; the other waits (its source must
// buffer, or the graph's FIFOs do). Timing: one beat per cycle when the input in turn and
// the output do not stall; one cycle latency. m_axis_tdata, m_axis_tvalid and m_axis_tlast
// are registered; s0_axis_tready and s1_axis_tready depend combinationally on
// m_axis_tready. Synchronous active-high reset empties the output register and restarts
// the frame at pixel 0, input s0.
`default_nettype none

module hwbnn_concat #(
    parameter SIMD      = 4,  // elements per beat; divides C0 and C1
    parameter ELEM_BITS = 1,  // bits per element
    parameter C0        = 8,  // channels per pixel of s0
    parameter C1        = 8,  // channels per pixel of s1
    parameter PIXELS    = 1   // pixels per frame
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [SIMD*ELEM_BITS-1:0] s0_axis_tdata,
    input  wire                      s0_axis_tvalid,
    output wire                      s0_axis_tready,
    /* verilator lint_off UNUSEDSIGNAL */  // frames are counted (see above)
    input  wire                      s0_axis_tlast,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [SIMD*ELEM_BITS-1:0] s1_axis_tdata,
    input  wire                      s1_axis_tvalid,
    output wire                      s1_axis_tready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                      s1_axis_tlast,
    /* verilator lint_on UNUSEDSIGNAL */
    output reg  [SIMD*ELEM_BITS-1:0] m_axis_tdata,
    output reg                       m_axis_tvalid,
    input  wire                      m_axis_tready,
    output reg                       m_axis_tlast
);
    localparam B0 = (SIMD > 0) ? C0 / SIMD : 1;                    // s0 beats per pixel
    localparam B1 = (SIMD > 0) ? C1 / SIMD : 1;                    // s1 beats per pixel
    localparam BMAX = (B0 > B1) ? B0 : B1;
    localparam BEAT_WIDTH = (BMAX > 1) ? $clog2(BMAX) : 1;         // beat counter bits
    localparam PIX_WIDTH  = (PIXELS > 1) ? $clog2(PIXELS) : 1;     // pixel counter bits
    localparam integer B0_M1 = B0 - 1;
    localparam integer B1_M1 = B1 - 1;
    localparam integer PIX_M1 = PIXELS - 1;
    localparam [BEAT_WIDTH-1:0] B0_LAST  = B0_M1[BEAT_WIDTH-1:0];
    localparam [BEAT_WIDTH-1:0] B1_LAST  = B1_M1[BEAT_WIDTH-1:0];
    localparam [PIX_WIDTH-1:0]  PIX_LAST = PIX_M1[PIX_WIDTH-1:0];

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(SIMD >= 1 && C0 >= 1 && C1 >= 1 && C0 % SIMD == 0 && C1 % SIMD == 0),
        .RULE("SIMD must divide C0 and C1"),
        .NAME0("SIMD"), .VALUE0(SIMD), .NAME1("C0"), .VALUE1(C0), .NAME2("C1"), .VALUE2(C1)
    ) u_check_simd ();
    hwbnn_param_check #(.OK(ELEM_BITS >= 1), .RULE("ELEM_BITS must be at least 1"),
        .NAME0("ELEM_BITS"), .VALUE0(ELEM_BITS)) u_check_elem_bits ();
    hwbnn_param_check #(.OK(PIXELS >= 1), .RULE("PIXELS must be at least 1"),
        .NAME0("PIXELS"), .VALUE0(PIXELS)) u_check_pixels ();

    reg                  part;   // 0: s0's beats of the pixel, 1: s1's
    reg [BEAT_WIDTH-1:0] beat;   // beat within the part
    reg [PIX_WIDTH-1:0]  pixel;  // pixel within the frame

    wire out_free = !m_axis_tvalid || m_axis_tready;
    assign s0_axis_tready = out_free && !part;
    assign s1_axis_tready = out_free && part;
    wire accept    = out_free && (part ? s1_axis_tvalid : s0_axis_tvalid);
    wire part_end  = (beat == (part ? B1_LAST : B0_LAST));
    wire pixel_end = part && part_end;
    wire frame_end = pixel_end && (pixel == PIX_LAST);

    always @(posedge clk) begin
        if (accept) begin
            m_axis_tdata <= part ? s1_axis_tdata : s0_axis_tdata;
            m_axis_tlast <= frame_end;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            part          <= 1'b0;
            beat          <= {BEAT_WIDTH{1'b0}};
            pixel         <= {PIX_WIDTH{1'b0}};
            m_axis_tvalid <= 1'b0;
        end else begin
            if (accept) begin
                m_axis_tvalid <= 1'b1;
                if (part_end) begin
                    beat <= {BEAT_WIDTH{1'b0}};
                    part <= !part;
                end else begin
                    beat <= beat + 1'b1;
                end
                if (pixel_end) begin
                    pixel <= frame_end ? {PIX_WIDTH{1'b0}} : pixel + 1'b1;
                end
            end else if (m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire
