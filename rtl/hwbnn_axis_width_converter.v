// hwbnn_axis_width_converter: AXI4-Stream data width converter, IN_WIDTH -> OUT_WIDTH.
//
// One width must divide the other; equal widths give a plain passthrough (wires only).
// Elements are LSB first:
//   widening  (OUT_WIDTH = N*IN_WIDTH): input beat k of a group of N lands in output bits
//             [k*IN_WIDTH +: IN_WIDTH], so the first beat fills the low bits;
//   narrowing (IN_WIDTH = N*OUT_WIDTH): an input beat leaves as N output beats, low bits first.
// tlast: an output beat is last iff it contains (widening) or ends (narrowing) the last input
// beat of a frame. A frame's bit count must therefore be a multiple of both widths; when
// widening, a tlast in the middle of a group of N is carried to the group's output beat.
// Throughput: one input and N output beats per N cycles when narrowing, N input beats and one
// output beat per N cycles when widening, i.e. full rate on the narrow side. m_axis_tvalid,
// m_axis_tdata and m_axis_tlast come from registers only; s_axis_tready depends
// combinationally on m_axis_tready (not on s_axis_tvalid). Equal widths: plain wires.
`default_nettype none

module hwbnn_axis_width_converter #(
    parameter IN_WIDTH  = 8,  // bits of s_axis_tdata
    parameter OUT_WIDTH = 32  // bits of m_axis_tdata; one of the widths divides the other
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire [IN_WIDTH-1:0]  s_axis_tdata,
    input  wire                 s_axis_tvalid,
    output wire                 s_axis_tready,
    input  wire                 s_axis_tlast,
    output wire [OUT_WIDTH-1:0] m_axis_tdata,
    output wire                 m_axis_tvalid,
    input  wire                 m_axis_tready,
    output wire                 m_axis_tlast
);
    localparam WIDE   = (IN_WIDTH > OUT_WIDTH) ? IN_WIDTH : OUT_WIDTH;  // wider side
    localparam NARROW = (IN_WIDTH > OUT_WIDTH) ? OUT_WIDTH : IN_WIDTH;  // narrower side
    localparam RATIO  = (NARROW > 0) ? WIDE / NARROW : 1;               // narrow beats per wide
    localparam CNT_WIDTH = (RATIO > 1) ? $clog2(RATIO) : 1;             // beat counter bits
    localparam integer RATIO_M1 = RATIO - 1;                            // last beat of a group
    localparam [CNT_WIDTH-1:0] CNT_LAST = RATIO_M1[CNT_WIDTH-1:0];      // ... as counter value

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(NARROW >= 1 && WIDE % NARROW == 0),
        .RULE("one of IN_WIDTH, OUT_WIDTH must divide the other"),
        .NAME0("IN_WIDTH"), .VALUE0(IN_WIDTH),
        .NAME1("OUT_WIDTH"), .VALUE1(OUT_WIDTH)) u_check_widths ();

    generate
        if (IN_WIDTH == OUT_WIDTH) begin : g_passthrough
            assign m_axis_tdata  = s_axis_tdata;
            assign m_axis_tvalid = s_axis_tvalid;
            assign m_axis_tlast  = s_axis_tlast;
            assign s_axis_tready = m_axis_tready;
            wire unused_clk_rst = clk ^ rst;
        end else if (OUT_WIDTH > IN_WIDTH) begin : g_widen
            // The N-1 beats received so far sit in shreg, the newest at the top; the Nth beat
            // and shreg together are the output word.
            reg [OUT_WIDTH-IN_WIDTH-1:0] shreg;
            reg [CNT_WIDTH-1:0]          cnt;
            reg                          last_seen;  // a beat of this group had tlast
            reg [OUT_WIDTH-1:0]          out_data;
            reg                          out_valid;
            reg                          out_last;

            wire [OUT_WIDTH-1:0] word   = {s_axis_tdata, shreg};
            wire                 accept = s_axis_tvalid && s_axis_tready;

            assign s_axis_tready = !out_valid || m_axis_tready;
            assign m_axis_tdata  = out_data;
            assign m_axis_tvalid = out_valid;
            assign m_axis_tlast  = out_last;

            always @(posedge clk) begin
                if (accept) begin
                    shreg <= word[OUT_WIDTH-1:IN_WIDTH];
                    if (cnt == CNT_LAST) begin
                        out_data <= word;
                        out_last <= last_seen || s_axis_tlast;
                    end
                end
            end

            always @(posedge clk) begin
                if (rst) begin
                    cnt       <= {CNT_WIDTH{1'b0}};
                    last_seen <= 1'b0;
                    out_valid <= 1'b0;
                end else begin
                    if (m_axis_tready) begin
                        out_valid <= 1'b0;
                    end
                    if (accept) begin
                        if (cnt == CNT_LAST) begin
                            cnt       <= {CNT_WIDTH{1'b0}};
                            last_seen <= 1'b0;
                            out_valid <= 1'b1;
                        end else begin
                            cnt       <= cnt + 1'b1;
                            last_seen <= last_seen || s_axis_tlast;
                        end
                    end
                end
            end
        end else begin : g_narrow
            // The input word is shifted down by OUT_WIDTH after each output beat.
            reg [IN_WIDTH-1:0]  shreg;
            reg [CNT_WIDTH-1:0] cnt;
            reg                 valid;
            reg                 last;

            wire accept = s_axis_tvalid && s_axis_tready;

            assign s_axis_tready = !valid || (m_axis_tready && cnt == CNT_LAST);
            assign m_axis_tdata  = shreg[OUT_WIDTH-1:0];
            assign m_axis_tvalid = valid;
            assign m_axis_tlast  = last && (cnt == CNT_LAST);

            always @(posedge clk) begin
                if (accept) begin
                    shreg <= s_axis_tdata;
                    last  <= s_axis_tlast;
                end else if (valid && m_axis_tready) begin
                    shreg <= {{OUT_WIDTH{1'b0}}, shreg[IN_WIDTH-1:OUT_WIDTH]};
                end
            end

            always @(posedge clk) begin
                if (rst) begin
                    cnt   <= {CNT_WIDTH{1'b0}};
                    valid <= 1'b0;
                end else if (accept) begin
                    cnt   <= {CNT_WIDTH{1'b0}};
                    valid <= 1'b1;
                end else if (valid && m_axis_tready) begin
                    if (cnt == CNT_LAST) begin
                        valid <= 1'b0;
                    end else begin
                        cnt <= cnt + 1'b1;
                    end
                end
            end
        end
    endgenerate
endmodule

`default_nettype wire
