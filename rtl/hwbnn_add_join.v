// hwbnn_add_join: elementwise sum of two AXI4-Streams of integers and/or bipolar bits.
//
// Beat layout: SIMD elements per beat on each port; element s of a beat sits at bits
// [s*A_BITS +: A_BITS] of s0_axis_tdata, [s*B_BITS +: B_BITS] of s1_axis_tdata and
// [s*OUT_BITS +: OUT_BITS] of m_axis_tdata. Output element s = a_s + b_s in OUT_BITS two's
// complement, where an input with *_BIPOLAR = 1 (then its *_BITS must be 1) counts bit 1 as +1
// and bit 0 as -1, and any other input is a two's complement integer of *_BITS bits.
// OUT_BITS must hold every sum of two input values: OUT_BITS >= max(EA, EB) + 1 with EA = 2
// for a bipolar input and A_BITS otherwise (likewise EB), the localparam MIN_OUT_BITS.
// A k-input add-join is a chain of k-1 units.
//
// Handshake: a beat is consumed from both inputs in the same cycle (each input's tready
// waits for the other input's tvalid); the output beat carries s0's tlast, s1_axis_tlast is
// not used (both inputs carry the same frames).
// Timing: one beat per cycle when neither input nor output stalls; one cycle latency.
// m_axis_tdata, m_axis_tvalid and m_axis_tlast are registered; s0_axis_tready and
// s1_axis_tready depend combinationally on m_axis_tready and on the other input's tvalid.
// Synchronous active-high reset empties the output register.
`default_nettype none

module hwbnn_add_join #(
    parameter SIMD      = 4,  // elements per beat
    parameter A_BITS    = 8,  // bits per element of s0
    parameter A_BIPOLAR = 0,  // 1: s0 elements are bipolar bits (A_BITS = 1)
    parameter B_BITS    = 1,  // bits per element of s1
    parameter B_BIPOLAR = 1,  // 1: s1 elements are bipolar bits (B_BITS = 1)
    parameter OUT_BITS  = 9   // bits per output element, at least MIN_OUT_BITS
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire [SIMD*A_BITS-1:0]   s0_axis_tdata,
    input  wire                     s0_axis_tvalid,
    output wire                     s0_axis_tready,
    input  wire                     s0_axis_tlast,
    input  wire [SIMD*B_BITS-1:0]   s1_axis_tdata,
    input  wire                     s1_axis_tvalid,
    output wire                     s1_axis_tready,
    /* verilator lint_off UNUSEDSIGNAL */  // the frames are s0's
    input  wire                     s1_axis_tlast,
    /* verilator lint_on UNUSEDSIGNAL */
    output reg  [SIMD*OUT_BITS-1:0] m_axis_tdata,
    output reg                      m_axis_tvalid,
    input  wire                     m_axis_tready,
    output reg                      m_axis_tlast
);
    localparam EA = (A_BIPOLAR != 0) ? 2 : A_BITS;  // two's complement bits of an s0 value
    localparam EB = (B_BIPOLAR != 0) ? 2 : B_BITS;  // two's complement bits of an s1 value
    localparam MIN_OUT_BITS = ((EA > EB) ? EA : EB) + 1;
    // Sign-extension bits (kept >= 1 so that illegal widths reach the check below).
    localparam A_PAD = (OUT_BITS > A_BITS) ? OUT_BITS - A_BITS : 1;
    localparam B_PAD = (OUT_BITS > B_BITS) ? OUT_BITS - B_BITS : 1;

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(SIMD >= 1), .RULE("SIMD must be at least 1"),
        .NAME0("SIMD"), .VALUE0(SIMD)) u_check_simd ();
    hwbnn_param_check #(.OK(A_BITS >= 1 && (A_BIPOLAR == 0 || (A_BIPOLAR == 1 && A_BITS == 1))),
        .RULE("A_BITS must be at least 1, A_BIPOLAR 0 or 1 (then A_BITS = 1)"),
        .NAME0("A_BITS"), .VALUE0(A_BITS), .NAME1("A_BIPOLAR"), .VALUE1(A_BIPOLAR)
    ) u_check_a ();
    hwbnn_param_check #(.OK(B_BITS >= 1 && (B_BIPOLAR == 0 || (B_BIPOLAR == 1 && B_BITS == 1))),
        .RULE("B_BITS must be at least 1, B_BIPOLAR 0 or 1 (then B_BITS = 1)"),
        .NAME0("B_BITS"), .VALUE0(B_BITS), .NAME1("B_BIPOLAR"), .VALUE1(B_BIPOLAR)
    ) u_check_b ();
    hwbnn_param_check #(.OK(OUT_BITS >= MIN_OUT_BITS),
        .RULE("OUT_BITS must hold every sum: at least max(EA, EB) + 1, E = 2 for bipolar bits"),
        .NAME0("OUT_BITS"), .VALUE0(OUT_BITS), .NAME1("A_BITS"), .VALUE1(A_BITS),
        .NAME2("B_BITS"), .VALUE2(B_BITS)
    ) u_check_out_bits ();

    wire out_free = !m_axis_tvalid || m_axis_tready;
    assign s0_axis_tready = out_free && s1_axis_tvalid;
    assign s1_axis_tready = out_free && s0_axis_tvalid;
    wire accept = s0_axis_tvalid && s1_axis_tvalid && out_free;

    // Operands sign-extended to OUT_BITS (OUT_BITS > A_BITS, B_BITS once the checks pass);
    // a bipolar bit b becomes +1 (b = 1) or -1 (b = 0): all ones but the lowest bit are ~b.
    reg [OUT_BITS-1:0]      a_ext;
    reg [OUT_BITS-1:0]      b_ext;
    reg [SIMD*OUT_BITS-1:0] sums;
    integer s;
    always @* begin
        for (s = 0; s < SIMD; s = s + 1) begin
            if (A_BIPOLAR != 0) begin
                a_ext = {{(OUT_BITS - 1){~s0_axis_tdata[s*A_BITS]}}, 1'b1};
            end else begin
                a_ext = {{A_PAD{s0_axis_tdata[s*A_BITS + A_BITS - 1]}},
                         s0_axis_tdata[s*A_BITS +: A_BITS]};
            end
            if (B_BIPOLAR != 0) begin
                b_ext = {{(OUT_BITS - 1){~s1_axis_tdata[s*B_BITS]}}, 1'b1};
            end else begin
                b_ext = {{B_PAD{s1_axis_tdata[s*B_BITS + B_BITS - 1]}},
                         s1_axis_tdata[s*B_BITS +: B_BITS]};
            end
            sums[s*OUT_BITS +: OUT_BITS] = a_ext + b_ext;
        end
    end

    always @(posedge clk) begin
        if (accept) begin
            m_axis_tdata <= sums;
            m_axis_tlast <= s0_axis_tlast;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            m_axis_tvalid <= 1'b0;
        end else if (accept) begin
            m_axis_tvalid <= 1'b1;
        end else if (m_axis_tready) begin
            m_axis_tvalid <= 1'b0;
        end
    end
endmodule

`default_nettype wire
