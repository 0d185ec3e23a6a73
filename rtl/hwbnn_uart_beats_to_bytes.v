// hwbnn_uart_beats_to_bytes: send each BEAT_WIDTH-bit stream beat as BYTES bytes.
//
// A beat goes out as BYTES = ceil(BEAT_WIDTH/8) bytes, little-endian: byte k carries bits
// [8*k +: 8], the bits of the last byte above BEAT_WIDTH are 0. The input has no tlast: a
// host knows how many bytes a frame has.
//
// Both sides are AXI4-Stream with backpressure. A beat is taken into a shift register when
// it is empty or while its last byte is being taken, so back-to-back beats leave no gap.
`default_nettype none

module hwbnn_uart_beats_to_bytes #(
    parameter BEAT_WIDTH = 12,  // bits per input beat
    // Derived, do not override (checked):
    parameter BYTES      = (BEAT_WIDTH + 7) / 8  // output bytes per input beat
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [BEAT_WIDTH-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    output wire [7:0]            m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready
);
    localparam CNT_WIDTH = $clog2(BYTES + 1);  // bytes-left counter bits
    localparam [CNT_WIDTH-1:0] ONE       = 1;
    localparam integer BYTES_INT = BYTES;
    localparam [CNT_WIDTH-1:0] ALL_BYTES = BYTES_INT[CNT_WIDTH-1:0];

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(BEAT_WIDTH >= 1), .RULE("BEAT_WIDTH must be at least 1"),
        .NAME0("BEAT_WIDTH"), .VALUE0(BEAT_WIDTH)) u_check_width ();
    hwbnn_param_check #(.OK(BYTES == (BEAT_WIDTH + 7) / 8),
        .RULE("BYTES is derived, do not override it"), .NAME0("BYTES"), .VALUE0(BYTES),
        .NAME1("BEAT_WIDTH"), .VALUE1(BEAT_WIDTH)) u_check_derived ();

    reg  [8*BYTES-1:0] shift;  // bytes not yet sent, the next one at the bottom
    reg  [CNT_WIDTH-1:0] left; // bytes of the current beat not yet sent
    wire                 take_byte = m_axis_tvalid && m_axis_tready;
    wire                 take_beat = s_axis_tvalid && s_axis_tready;
    wire [8*BYTES-1:0]   padded    = {{(8 * BYTES - BEAT_WIDTH){1'b0}}, s_axis_tdata};
    wire [8*BYTES-1:0]   next      = shift >> 8;

    assign m_axis_tvalid = (left != {CNT_WIDTH{1'b0}});
    assign m_axis_tdata  = shift[7:0];
    assign s_axis_tready = !m_axis_tvalid || (m_axis_tready && left == ONE);

    always @(posedge clk) begin
        if (rst) begin
            left <= {CNT_WIDTH{1'b0}};
        end else if (take_beat) begin
            left <= ALL_BYTES;
        end else if (take_byte) begin
            left <= left - 1'b1;
        end
    end

    always @(posedge clk) begin
        if (take_beat) begin
            shift <= padded;
        end else if (take_byte) begin
            shift <= next;
        end
    end
endmodule

`default_nettype wire
