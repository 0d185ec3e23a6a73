// hwbnn_uart_tx: UART transmitter, 8 data bits, no parity, 1 stop bit (8N1), LSB first.
//
// Input stream (AXI4-Stream without tlast): s_axis_tready is high while the transmitter is
// idle; a byte taken there goes out as a start bit (0), the 8 data bits LSB first and a stop
// bit (1), each CLKS_PER_BIT clock cycles (CLK_HZ/BAUD rounded) long. One byte therefore takes
// 10 * CLKS_PER_BIT cycles; the next byte is taken in the last cycle of the stop bit, so
// back-to-back bytes leave no gap.
// tx idles high and is driven from a register (no glitches).
`default_nettype none

module hwbnn_uart_tx #(
    parameter CLK_HZ = 25000000,  // clock frequency in Hz
    parameter BAUD   = 115200     // bits per second; CLK_HZ/BAUD must be at least 4
) (
    input  wire       clk,
    input  wire       rst,           // synchronous, active high
    input  wire [7:0] s_axis_tdata,  // byte to send
    input  wire       s_axis_tvalid,
    output wire       s_axis_tready,
    output reg        tx             // serial output (idle high)
);
    localparam CLKS_PER_BIT = (CLK_HZ + BAUD / 2) / BAUD;  // clock cycles per bit, rounded
    localparam CNT_WIDTH    = $clog2(CLKS_PER_BIT + 1);    // bit-timer bits
    localparam integer BIT_M1 = CLKS_PER_BIT - 1;
    localparam [CNT_WIDTH-1:0] BIT_LAST = BIT_M1[CNT_WIDTH-1:0];

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(CLK_HZ >= 1 && BAUD >= 1 && CLKS_PER_BIT >= 4),
        .RULE("CLK_HZ/BAUD must be at least 4"), .NAME0("CLK_HZ"), .VALUE0(CLK_HZ),
        .NAME1("BAUD"), .VALUE1(BAUD)) u_check_baud ();

    reg                 busy;
    reg [CNT_WIDTH-1:0] timer;  // cycles left in the current bit (counts down)
    reg [3:0]           bits;   // bits left to send after the current one
    reg [8:0]           shift;  // {stop, data[7:1]} .. shifted out LSB first after the start bit

    wire                last_cycle = (timer == {CNT_WIDTH{1'b0}}) && (bits == 4'd0);  // of stop

    assign s_axis_tready = !busy || last_cycle;

    always @(posedge clk) begin
        if (rst) begin
            busy  <= 1'b0;
            timer <= {CNT_WIDTH{1'b0}};
            bits  <= 4'd0;
            shift <= 9'h1ff;
            tx    <= 1'b1;
        end else if (s_axis_tvalid && s_axis_tready) begin
            busy  <= 1'b1;
            tx    <= 1'b0;  // start bit
            shift <= {1'b1, s_axis_tdata};
            bits  <= 4'd9;
            timer <= BIT_LAST;
        end else if (!busy) begin
            tx <= 1'b1;
        end else if (timer != {CNT_WIDTH{1'b0}}) begin
            timer <= timer - 1'b1;
        end else if (bits != 4'd0) begin
            tx    <= shift[0];
            shift <= {1'b1, shift[8:1]};
            bits  <= bits - 1'b1;
            timer <= BIT_LAST;
        end else begin
            busy <= 1'b0;  // the stop bit has been on the line for a whole bit
            tx   <= 1'b1;
        end
    end
endmodule

`default_nettype wire
