// hwbnn_input_threshold: binarize multi-bit input elements with per-element thresholds.
//
// A frame is N unsigned INPUT_BITS-bit elements, SIMD per beat: element i sits at bits
// [(i % SIMD)*INPUT_BITS +: INPUT_BITS] of beat i / SIMD. Output beat f carries SIMD bits,
// bit s = (code of element f*SIMD+s >= T[f*SIMD+s]), so T = 0 always gives 1 (+1) and
// T = 2^INPUT_BITS always gives 0 (-1). Only ">=" exists: a decreasing input function is
// handled by negating the next layer's weight columns.
//
// Threshold memory (THRESH_FILE, $readmemh): N/SIMD words of SIMD*THRESH_WIDTH bits,
// THRESH_WIDTH = INPUT_BITS + 1, unsigned. Word f holds T[f*SIMD+s] at bits
// [s*THRESH_WIDTH +: THRESH_WIDTH]. hwbnn.codegen.memfiles.write_input_threshold_memfile
// writes it. An empty THRESH_FILE sets every threshold to 0 and prints a warning at time 0
// (for lint and synthesis trials).
//
// Framing: a frame ends after N/SIMD beats, or earlier at an input beat with tlast (which
// restarts the threshold address, so a malformed frame cannot shift later frames). The output
// beat of the last input beat of a frame carries tlast.
// Timing: one beat per cycle, one cycle latency; the threshold ROM is read synchronously
// (block RAM friendly) one beat ahead. m_axis_tvalid is registered; s_axis_tready depends
// combinationally on m_axis_tready.
// One beat per frame (N = SIMD): no register at all. The thresholds are constants, the output
// beat is the compare of the input beat (latency 0), m_axis_tvalid = s_axis_tvalid,
// s_axis_tready = m_axis_tready, tlast always set. (A registered output there needs one clock
// enable on every output bit, driven by the next unit's ready: at 784 elements that net was
// TFC-1's critical path on ECP5.)
`default_nettype none

module hwbnn_input_threshold #(
    parameter N           = 64,  // elements per frame
    parameter SIMD        = 8,   // elements per beat; divides N
    parameter INPUT_BITS  = 8,   // bits per unsigned input element, at least 1
    parameter THRESH_FILE = ""   // $readmemh file with the thresholds (layout above)
) (
    input  wire                       clk,
    input  wire                       rst,
    input  wire [SIMD*INPUT_BITS-1:0] s_axis_tdata,
    input  wire                       s_axis_tvalid,
    output wire                       s_axis_tready,
    input  wire                       s_axis_tlast,
    output wire [SIMD-1:0]            m_axis_tdata,
    output wire                       m_axis_tvalid,
    input  wire                       m_axis_tready,
    output wire                       m_axis_tlast
);
    localparam NF           = (SIMD > 0) ? N / SIMD : 1;       // beats per frame
    localparam THRESH_WIDTH = INPUT_BITS + 1;                  // bits per threshold
    localparam ADDR_WIDTH   = (NF > 1) ? $clog2(NF) : 1;       // threshold address bits
    localparam integer NF_M1 = NF - 1;                         // last beat of a frame
    localparam [ADDR_WIDTH-1:0] ADDR_LAST = NF_M1[ADDR_WIDTH-1:0];

    // Parameter checks: see hwbnn_param_check (Icarus stops at time 0, Verilator and Yosys
    // at elaboration, each naming the instance and the offending values).
    hwbnn_param_check #(.OK(N >= 1 && SIMD >= 1 && N % SIMD == 0), .RULE("SIMD must divide N"),
        .NAME0("SIMD"), .VALUE0(SIMD), .NAME1("N"), .VALUE1(N)) u_check_simd ();
    hwbnn_param_check #(.OK(INPUT_BITS >= 1), .RULE("INPUT_BITS must be at least 1"),
        .NAME0("INPUT_BITS"), .VALUE0(INPUT_BITS)) u_check_input_bits ();

    reg [SIMD*THRESH_WIDTH-1:0] tmem [0:NF-1];
    generate
        if (THRESH_FILE != "") begin : g_load
            initial $readmemh(THRESH_FILE, tmem);
        end else begin : g_no_file
            // No file: every threshold is 0 (every output bit 1). For lint and synthesis trials.
            integer i;
            initial begin
                $display("WARNING: %m: THRESH_FILE is empty, all thresholds are 0");
                for (i = 0; i < NF; i = i + 1) begin
                    tmem[i] = {(SIMD * THRESH_WIDTH){1'b0}};
                end
            end
        end
    endgenerate

    // Comparisons, unsigned: code (zero-extended) >= threshold. With one beat per frame
    // (NF = 1) every threshold is a constant after synthesis (a one-word ROM): the compare is
    // written as gates (hwbnn_compare_ge), which synthesis folds into a LUT function of the
    // code's bits; with more beats the thresholds vary and ">=" is the cheaper form.
    wire [SIMD*THRESH_WIDTH-1:0] thresh;  // thresholds of the beat at the input
    wire [SIMD-1:0]              bits;
    genvar gs;
    generate
        for (gs = 0; gs < SIMD; gs = gs + 1) begin : g_compare
            hwbnn_compare_ge #(.WIDTH(THRESH_WIDTH), .GATES((NF == 1) ? 1 : 0)) u_ge (
                .a({1'b0, s_axis_tdata[gs*INPUT_BITS +: INPUT_BITS]}),
                .b(thresh[gs*THRESH_WIDTH +: THRESH_WIDTH]), .ge(bits[gs]));
        end

        if (NF == 1) begin : g_pass  // one beat per frame: no register (see Timing above)
            assign thresh        = tmem[0];
            assign m_axis_tdata  = bits;
            assign m_axis_tvalid = s_axis_tvalid;
            assign m_axis_tlast  = 1'b1;
            assign s_axis_tready = m_axis_tready;
            wire unused_pass = clk ^ rst ^ s_axis_tlast;  // every beat ends a frame
        end else begin : g_registered
            reg  [ADDR_WIDTH-1:0]        addr;       // beat index within the frame
            reg  [SIMD*THRESH_WIDTH-1:0] thresh_q;   // thresholds of beat addr, read ahead
            reg  [SIMD-1:0]              data_q;
            reg                          valid_q;
            reg                          last_q;
            wire                         accept = s_axis_tvalid && s_axis_tready;
            wire                         frame_end = (addr == ADDR_LAST) || s_axis_tlast;
            wire [ADDR_WIDTH-1:0]        addr_next = frame_end ? {ADDR_WIDTH{1'b0}} : addr + 1'b1;
            wire [ADDR_WIDTH-1:0]        read_addr = rst ? {ADDR_WIDTH{1'b0}} : addr_next;

            assign thresh        = thresh_q;
            assign m_axis_tdata  = data_q;
            assign m_axis_tvalid = valid_q;
            assign m_axis_tlast  = last_q;
            assign s_axis_tready = !valid_q || m_axis_tready;

            always @(posedge clk) begin
                if (rst || accept) begin
                    thresh_q <= tmem[read_addr];
                end
            end

            always @(posedge clk) begin
                if (accept) begin
                    data_q <= bits;
                    last_q <= frame_end;
                end
            end

            always @(posedge clk) begin
                if (rst) begin
                    addr    <= {ADDR_WIDTH{1'b0}};
                    valid_q <= 1'b0;
                end else begin
                    if (accept) begin
                        addr    <= addr_next;
                        valid_q <= 1'b1;
                    end else if (m_axis_tready) begin
                        valid_q <= 1'b0;
                    end
                end
            end
        end
    endgenerate
endmodule

`default_nettype wire
