// hwbnn_uart_rx: UART receiver, 8 data bits, no parity, 1 stop bit (8N1), LSB first.
//
// The line idles high. A falling edge starts a frame; the receiver samples the start bit in
// its middle (a glitch shorter than half a bit is ignored), then each data bit and the stop
// bit one bit time (CLKS_PER_BIT clock cycles, CLK_HZ/BAUD rounded) apart. The rx input
// passes a two-flop synchronizer first.
//
// Output stream (AXI4-Stream without tlast): a received byte is offered on m_axis_tdata with
// m_axis_tvalid held until m_axis_tready takes it. A UART cannot be stalled: a byte completed
// while the previous one is still held is dropped and overrun pulses for one cycle.
//
// Errors: a stop bit that reads 0 pulses frame_error (the byte is dropped). A framing error
// with all data bits 0 is a line break (rx held low for at least a frame); the receiver then
// waits for the line to return high and pulses line_break in that cycle, so a host can reset
// the design behind it with a break (pyserial send_break) and start sending right after.
`default_nettype none

module hwbnn_uart_rx #(
    parameter CLK_HZ = 25000000,  // clock frequency in Hz
    parameter BAUD   = 115200     // bits per second; CLK_HZ/BAUD must be at least 4
) (
    input  wire       clk,
    input  wire       rst,            // synchronous, active high
    input  wire       rx,             // serial input (idle high)
    output reg  [7:0] m_axis_tdata,   // received byte
    output reg        m_axis_tvalid,
    input  wire       m_axis_tready,
    output reg        overrun,        // one-cycle pulse: a byte was dropped (not taken in time)
    output reg        frame_error,    // one-cycle pulse: stop bit was 0 (byte dropped)
    output reg        line_break      // one-cycle pulse: a break ended (line high again)
);
    localparam CLKS_PER_BIT = (CLK_HZ + BAUD / 2) / BAUD;  // clock cycles per bit, rounded
    localparam HALF_BIT     = CLKS_PER_BIT / 2;            // cycles to the middle of a bit
    localparam CNT_WIDTH    = $clog2(CLKS_PER_BIT + 1);    // bit-timer bits
    localparam integer BIT_M1  = CLKS_PER_BIT - 1;
    localparam integer HALF_M1 = HALF_BIT - 1;
    localparam [CNT_WIDTH-1:0] BIT_LAST  = BIT_M1[CNT_WIDTH-1:0];
    localparam [CNT_WIDTH-1:0] HALF_LAST = HALF_M1[CNT_WIDTH-1:0];

    localparam [2:0] S_IDLE  = 3'd0;  // waiting for a start bit
    localparam [2:0] S_START = 3'd1;  // timing to the middle of the start bit
    localparam [2:0] S_DATA  = 3'd2;  // sampling the 8 data bits
    localparam [2:0] S_STOP  = 3'd3;  // sampling the stop bit
    localparam [2:0] S_BREAK = 3'd4;  // framing error: waiting for the line to go high

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(CLK_HZ >= 1 && BAUD >= 1 && CLKS_PER_BIT >= 4),
        .RULE("CLK_HZ/BAUD must be at least 4"), .NAME0("CLK_HZ"), .VALUE0(CLK_HZ),
        .NAME1("BAUD"), .VALUE1(BAUD)) u_check_baud ();

    reg [1:0]           sync;      // two-flop synchronizer, sync[1] is the clean rx
    reg [2:0]           state;
    reg [CNT_WIDTH-1:0] timer;     // cycles left in the current bit (counts down)
    reg [2:0]           bit_index; // data bit being sampled
    reg [7:0]           shift;     // data bits, LSB first
    wire                rx_s = sync[1];

    always @(posedge clk) begin
        if (rst) begin
            sync <= 2'b11;
        end else begin
            sync <= {sync[0], rx};
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            state         <= S_IDLE;
            timer         <= {CNT_WIDTH{1'b0}};
            bit_index     <= 3'd0;
            shift         <= 8'd0;
            m_axis_tdata  <= 8'd0;
            m_axis_tvalid <= 1'b0;
            overrun       <= 1'b0;
            frame_error   <= 1'b0;
            line_break    <= 1'b0;
        end else begin
            overrun     <= 1'b0;
            frame_error <= 1'b0;
            line_break  <= 1'b0;
            if (m_axis_tvalid && m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
            end
            case (state)
                S_IDLE: begin
                    if (!rx_s) begin
                        state <= S_START;
                        timer <= HALF_LAST;
                    end
                end
                S_START: begin
                    if (timer != {CNT_WIDTH{1'b0}}) begin
                        timer <= timer - 1'b1;
                    end else if (rx_s) begin
                        state <= S_IDLE;  // a glitch, not a start bit
                    end else begin
                        state     <= S_DATA;
                        timer     <= BIT_LAST;
                        bit_index <= 3'd0;
                    end
                end
                S_DATA: begin
                    if (timer != {CNT_WIDTH{1'b0}}) begin
                        timer <= timer - 1'b1;
                    end else begin
                        shift <= {rx_s, shift[7:1]};
                        timer <= BIT_LAST;
                        if (bit_index == 3'd7) begin
                            state <= S_STOP;
                        end
                        bit_index <= bit_index + 1'b1;
                    end
                end
                S_STOP: begin
                    if (timer != {CNT_WIDTH{1'b0}}) begin
                        timer <= timer - 1'b1;
                    end else if (rx_s) begin
                        state <= S_IDLE;
                        if (m_axis_tvalid && !m_axis_tready) begin
                            overrun <= 1'b1;  // the held byte stays, this one is lost
                        end else begin
                            m_axis_tdata  <= shift;
                            m_axis_tvalid <= 1'b1;
                        end
                    end else begin
                        state       <= S_BREAK;
                        frame_error <= 1'b1;
                    end
                end
                default: begin  // S_BREAK
                    if (rx_s) begin
                        state      <= S_IDLE;
                        line_break <= (shift == 8'd0);
                    end
                end
            endcase
        end
    end
endmodule

`default_nettype wire
