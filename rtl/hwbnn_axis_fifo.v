// hwbnn_axis_fifo: AXI4-Stream FIFO carrying tdata and tlast.
//
// A memory of DEPTH words (synchronous read, so it maps to block or distributed RAM; the next
// power of 2 words are allocated) followed by an output register: the FIFO holds up to
// DEPTH + 1 beats. Any DEPTH >= 2 works, so a graph's branch FIFOs get exactly the depth
// hwbnn.plan.fifos derives. Throughput is one beat per cycle
// in and out at the same time; a beat written into an empty FIFO appears on m_axis two
// cycles later. s_axis_tready and m_axis_tvalid are registered (neither depends on the other
// side combinationally). Synchronous active-high reset empties the FIFO.
`default_nettype none

module hwbnn_axis_fifo #(
    parameter DATA_WIDTH = 8,  // bits of tdata
    parameter DEPTH      = 16  // words of the memory, at least 2
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [DATA_WIDTH-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    input  wire                  s_axis_tlast,
    output reg  [DATA_WIDTH-1:0] m_axis_tdata,
    output reg                   m_axis_tvalid,
    input  wire                  m_axis_tready,
    output reg                   m_axis_tlast
);
    localparam ADDR_WIDTH = (DEPTH > 1) ? $clog2(DEPTH) : 1;  // memory address bits
    localparam WORDS      = 1 << ADDR_WIDTH;                  // allocated words
    localparam WORD_WIDTH = DATA_WIDTH + 1;                   // tlast stored above tdata

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(DATA_WIDTH >= 1), .RULE("DATA_WIDTH must be at least 1"),
        .NAME0("DATA_WIDTH"), .VALUE0(DATA_WIDTH)) u_check_data_width ();
    hwbnn_param_check #(.OK(DEPTH >= 2),
        .RULE("DEPTH must be at least 2"),
        .NAME0("DEPTH"), .VALUE0(DEPTH)) u_check_depth ();

    reg [WORD_WIDTH-1:0] mem [0:WORDS-1];
    reg [ADDR_WIDTH:0]   wr_ptr;  // one extra bit: the difference counts 0..WORDS words
    reg [ADDR_WIDTH:0]   rd_ptr;

    wire [ADDR_WIDTH:0] used = wr_ptr - rd_ptr;                    // words held
    wire [31:0]         used_32 = {{(31 - ADDR_WIDTH){1'b0}}, used};  // as wide as DEPTH
    wire mem_empty = (wr_ptr == rd_ptr);
    wire mem_full  = (used_32 == DEPTH);

    assign s_axis_tready = !mem_full;

    wire push = s_axis_tvalid && !mem_full;
    // Move the oldest word into the output register when that register is free or is
    // being read in this cycle.
    wire pop  = !mem_empty && (!m_axis_tvalid || m_axis_tready);

    always @(posedge clk) begin
        if (push) begin
            mem[wr_ptr[ADDR_WIDTH-1:0]] <= {s_axis_tlast, s_axis_tdata};
        end
    end

    always @(posedge clk) begin
        if (pop) begin
            {m_axis_tlast, m_axis_tdata} <= mem[rd_ptr[ADDR_WIDTH-1:0]];
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            wr_ptr        <= {(ADDR_WIDTH + 1){1'b0}};
            rd_ptr        <= {(ADDR_WIDTH + 1){1'b0}};
            m_axis_tvalid <= 1'b0;
        end else begin
            if (push) begin
                wr_ptr <= wr_ptr + 1'b1;
            end
            if (pop) begin
                rd_ptr        <= rd_ptr + 1'b1;
                m_axis_tvalid <= 1'b1;
            end else if (m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire
