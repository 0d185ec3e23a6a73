// hwbnn_fork: copy one AXI4-Stream to OUTPUTS consumers, each with its own backpressure.
//
// Every input beat (tdata, tlast) is delivered exactly once on each output, in order; no beat
// is duplicated or lost. Output i is m_axis_tdata[i*WIDTH +: WIDTH], m_axis_tvalid[i],
// m_axis_tready[i], m_axis_tlast[i]. An output that has taken the current beat drops its
// tvalid while the others still hold it; the beat leaves the fork (and the next input beat
// may enter) only once every output has taken it, so a consumer that never becomes ready
// stalls the input (s_axis_tready low) without losing anything.
//
// Timing: one beat per cycle when no output stalls; one cycle latency (a beat accepted at a
// rising edge is offered on every output from that edge on). One beat register shared by
// the outputs plus one tvalid flag per output: m_axis_tdata, m_axis_tlast and m_axis_tvalid
// come from registers only. s_axis_tready depends combinationally on m_axis_tready (it is
// high when every output is empty or being read in this cycle), as in hwbnn_input_threshold.
// Synchronous active-high reset empties the register.
`default_nettype none

module hwbnn_fork #(
    parameter WIDTH   = 8,  // bits of tdata
    parameter OUTPUTS = 2   // consumers, at least 2
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire [WIDTH-1:0]         s_axis_tdata,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    input  wire                     s_axis_tlast,
    output wire [OUTPUTS*WIDTH-1:0] m_axis_tdata,
    output reg  [OUTPUTS-1:0]       m_axis_tvalid,
    input  wire [OUTPUTS-1:0]       m_axis_tready,
    output wire [OUTPUTS-1:0]       m_axis_tlast
);
    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(WIDTH >= 1), .RULE("WIDTH must be at least 1"),
        .NAME0("WIDTH"), .VALUE0(WIDTH)) u_check_width ();
    hwbnn_param_check #(.OK(OUTPUTS >= 2), .RULE("OUTPUTS must be at least 2"),
        .NAME0("OUTPUTS"), .VALUE0(OUTPUTS)) u_check_outputs ();

    reg [WIDTH-1:0] data;  // the beat offered on every output
    reg             last;

    // Output i is free for a new beat when it holds none or hands its beat over now.
    wire [OUTPUTS-1:0] free = ~m_axis_tvalid | m_axis_tready;
    assign s_axis_tready = &free;
    wire accept = s_axis_tvalid && s_axis_tready;

    assign m_axis_tdata = {OUTPUTS{data}};
    assign m_axis_tlast = {OUTPUTS{last}};

    always @(posedge clk) begin
        if (accept) begin
            data <= s_axis_tdata;
            last <= s_axis_tlast;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            m_axis_tvalid <= {OUTPUTS{1'b0}};
        end else if (accept) begin
            m_axis_tvalid <= {OUTPUTS{1'b1}};
        end else begin
            m_axis_tvalid <= m_axis_tvalid & ~m_axis_tready;
        end
    end
endmodule

`default_nettype wire
