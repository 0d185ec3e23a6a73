// hwbnn_uart_bytes_to_beats: pack a byte stream into BEAT_WIDTH-bit stream beats.
//
// Every BYTES = ceil(BEAT_WIDTH/8) input bytes make one output beat, little-endian: byte k of
// a beat lands at bits [8*k +: 8]; the bits of the last byte above BEAT_WIDTH are dropped (a
// host sends them as 0). Every FRAME_BEATS-th output beat carries tlast, counting from reset.
//
// Both sides are AXI4-Stream with backpressure. The bytes of the next beat are collected
// while the previous beat waits in the output register; only its last byte waits for the
// output register to be empty (the cycle after the sink took the beat). s_axis_tready and the
// clock enables of the wide registers depend on this module's registers and s_axis_tvalid
// only, never on m_axis_tready: on a board the sink is the accelerator, and a path from its
// ready through the enables of a 784-bit beat limited the clock (TFC at 1 cycle/frame). The
// output register loads the completed word every cycle it is empty; the cycle the last byte
// is taken it loads the beat and holds it until the sink takes it. A byte arrives every
// ~1,000 cycles from a UART, so the extra cycle per beat costs nothing.
`default_nettype none

module hwbnn_uart_bytes_to_beats #(
    parameter BEAT_WIDTH  = 12,  // bits per output beat
    parameter FRAME_BEATS = 4,   // output beats per frame (tlast on the last)
    // Derived, do not override (checked):
    parameter BYTES       = (BEAT_WIDTH + 7) / 8  // input bytes per output beat
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [7:0]            s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    output reg  [BEAT_WIDTH-1:0] m_axis_tdata,
    output reg                   m_axis_tvalid,
    input  wire                  m_axis_tready,
    output reg                   m_axis_tlast
);
    localparam BYTE_CNT_WIDTH = (BYTES > 1) ? $clog2(BYTES) : 1;
    localparam BEAT_CNT_WIDTH = (FRAME_BEATS > 1) ? $clog2(FRAME_BEATS) : 1;
    localparam integer BYTES_M1 = BYTES - 1;
    localparam integer FRAME_M1 = FRAME_BEATS - 1;
    localparam [BYTE_CNT_WIDTH-1:0] BYTE_LAST = BYTES_M1[BYTE_CNT_WIDTH-1:0];
    localparam [BEAT_CNT_WIDTH-1:0] BEAT_LAST = FRAME_M1[BEAT_CNT_WIDTH-1:0];

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(BEAT_WIDTH >= 1), .RULE("BEAT_WIDTH must be at least 1"),
        .NAME0("BEAT_WIDTH"), .VALUE0(BEAT_WIDTH)) u_check_width ();
    hwbnn_param_check #(.OK(FRAME_BEATS >= 1), .RULE("FRAME_BEATS must be at least 1"),
        .NAME0("FRAME_BEATS"), .VALUE0(FRAME_BEATS)) u_check_frame ();
    hwbnn_param_check #(.OK(BYTES == (BEAT_WIDTH + 7) / 8),
        .RULE("BYTES is derived, do not override it"), .NAME0("BYTES"), .VALUE0(BYTES),
        .NAME1("BEAT_WIDTH"), .VALUE1(BEAT_WIDTH)) u_check_derived ();

    reg  [BYTE_CNT_WIDTH-1:0] byte_count;  // bytes of the current beat received so far
    reg  [BEAT_CNT_WIDTH-1:0] beat_count;  // beats of the current frame sent so far
    wire                      last_byte = (byte_count == BYTE_LAST);
    wire                      accept    = s_axis_tvalid && s_axis_tready;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [8*BYTES-1:0]        word;        // the beat completed by the byte on s_axis; the
                                           // bits above BEAT_WIDTH are padding
    /* verilator lint_on UNUSEDSIGNAL */

    assign s_axis_tready = !last_byte || !m_axis_tvalid;

    generate
        if (BYTES == 1) begin : g_one_byte
            assign word = s_axis_tdata;
        end else begin : g_bytes
            // bytes 0 .. BYTES-2 of the beat being collected: each byte enters at the top
            // and moves down one byte per byte received, so byte 0 ends at the bottom
            reg [8*BYTES-9:0] low;
            always @(posedge clk) begin
                if (s_axis_tvalid && !last_byte) begin  // accept && !last_byte
                    low <= word[8*BYTES-1:8];
                end
            end
            assign word = {s_axis_tdata, low};
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            byte_count    <= {BYTE_CNT_WIDTH{1'b0}};
            beat_count    <= {BEAT_CNT_WIDTH{1'b0}};
            m_axis_tvalid <= 1'b0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
            end
            if (accept) begin
                if (last_byte) begin
                    byte_count    <= {BYTE_CNT_WIDTH{1'b0}};
                    m_axis_tvalid <= 1'b1;
                    beat_count    <= (beat_count == BEAT_LAST) ? {BEAT_CNT_WIDTH{1'b0}}
                                                               : beat_count + 1'b1;
                end else begin
                    byte_count <= byte_count + 1'b1;
                end
            end
        end
    end

    always @(posedge clk) begin
        if (!m_axis_tvalid) begin  // frozen from the cycle after the last byte was taken
            m_axis_tdata <= word[BEAT_WIDTH-1:0];
            m_axis_tlast <= (beat_count == BEAT_LAST);
        end
    end
endmodule

`default_nettype wire
