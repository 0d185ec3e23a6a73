// hwbnn_uart_bytes_to_beats: pack a byte stream into BEAT_WIDTH-bit stream beats.
//
// Every BYTES = ceil(BEAT_WIDTH/8) input bytes make one output beat, little-endian: byte k of
// a beat lands at bits [8*k +: 8]; the bits of the last byte above BEAT_WIDTH are dropped (a
// host sends them as 0). Every FRAME_BEATS-th output beat carries tlast, counting from reset.
//
// Both sides are AXI4-Stream with backpressure. The bytes of the next beat are collected
// while the previous beat waits in the output register; only its last byte waits for the
// output register to be empty (and not being loaded). A taken byte is registered (byte_q)
// with two registered strobes, shift (a byte of the beat: into the shift register low) and
// load (the last byte: low and byte_q into the output register), so the wide registers'
// clock enables come from flip-flops, copied once per GROUP_BYTES bytes (kept: yosys would
// merge them). A beat of a fully parallel net is a whole frame (TFC: 784 8-bit pixels, 6,272
// bits), and one enable net to all of them was the board's critical path (12.7 ns of
// routing; a copy per 32 bytes still 10.5 ns). More than 5 copies (beats over 80 bytes) are
// fed by a first level of strobe copies, one per 5, with the byte registered once more beside
// them (the strobes of a 784-byte beat from one LUT were 11.5 ns). s_axis_tready depends on
// this module's registers only: copies of m_axis_tvalid and of the first load strobe kept for
// it alone (the output register sits by the accelerator's input, the byte side by the UART;
// one register for both put two crossings of the die between the accelerator and the UART
// receiver, TFC-1 on ECP5). The beat leaves two cycles after its last byte was taken (three
// with the first level); UART bytes come ~1,000 cycles apart.
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
    localparam GROUP_BYTES    = 16;  // bytes per copy of the shift and load strobes
    localparam COPIES         = (BYTES + GROUP_BYTES - 1) / GROUP_BYTES;
    localparam MID_GROUP      = 5;   // strobe copies per first-level copy
    localparam MIDS           = (COPIES > MID_GROUP) ? (COPIES + MID_GROUP - 1) / MID_GROUP : 0;
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

    reg  [BYTE_CNT_WIDTH-1:0] byte_count;  // bytes of the current beat taken so far
    reg  [BEAT_CNT_WIDTH-1:0] beat_count;  // beats of the current frame taken so far
    wire                      last_byte = (byte_count == BYTE_LAST);
    wire                      accept    = s_axis_tvalid && s_axis_tready;
    reg  [7:0]                byte_q;      // the byte taken last cycle
    reg                       tlast_q;     // its beat ends a frame
    wire [7:0]                byte_s;      // the byte of this cycle's strobes
    wire                      tlast_s;     // its beat ends a frame
    wire                      load_mid;    // a load strobe at the first level (MIDS > 0)
    /* verilator lint_off UNUSEDSIGNAL */  // one-byte beats have no low
    wire [COPIES-1:0]         shift;       // copies: byte_s enters low this cycle
    /* verilator lint_on UNUSEDSIGNAL */
    wire [COPIES-1:0]         load;        // copies: {byte_s, low} is loaded this cycle
    /* verilator lint_off UNUSEDSIGNAL */
    wire [8*BYTES-1:0]        word;        // the beat completed by byte_s; the bits above
                                           // BEAT_WIDTH are padding
    /* verilator lint_on UNUSEDSIGNAL */

    wire                      ctl_load_next;  // load[0] next cycle
    reg                       ctl_load;       // load[0] again, for s_axis_tready
    reg                       ctl_full;       // m_axis_tvalid again, for s_axis_tready

    assign s_axis_tready = !last_byte || (!ctl_full && !ctl_load && !load_mid);

    // kept on the process (a keep on the reg keeps only its net: yosys merged this register
    // into an equal strobe copy placed by the output register)
    (* keep *)
    always @(posedge clk) begin
        ctl_load <= ctl_load_next;
    end

    always @(posedge clk) begin
        if (accept) begin
            byte_q  <= s_axis_tdata;
            tlast_q <= (beat_count == BEAT_LAST);
        end
    end

    genvar gc;
    generate
        // the first level of strobe copies (all of them without a second level)
        localparam FIRST = (MIDS > 0) ? MIDS : COPIES;
        wire [FIRST-1:0] first_shift, first_load;
        for (gc = 0; gc < FIRST; gc = gc + 1) begin : g_first
            reg r_shift, r_load;
            (* keep *)
            always @(posedge clk) begin
                r_shift <= !rst && accept && !last_byte;
                r_load  <= !rst && accept && last_byte;
            end
            assign first_shift[gc] = r_shift;
            assign first_load[gc]  = r_load;
        end
        if (MIDS == 0) begin : g_one_level
            assign shift    = first_shift;
            assign load     = first_load;
            assign byte_s   = byte_q;
            assign tlast_s  = tlast_q;
            assign load_mid = 1'b0;
            assign ctl_load_next = !rst && accept && last_byte;
        end else begin : g_two_levels
            for (gc = 0; gc < COPIES; gc = gc + 1) begin : g_strobe
                reg r_shift, r_load;
                (* keep *)
                always @(posedge clk) begin
                    r_shift <= !rst && first_shift[gc / MID_GROUP];
                    r_load  <= !rst && first_load[gc / MID_GROUP];
                end
                assign shift[gc] = r_shift;
                assign load[gc]  = r_load;
            end
            reg [7:0] byte_q2;
            reg       tlast_q2;
            always @(posedge clk) begin
                byte_q2  <= byte_q;
                tlast_q2 <= tlast_q;
            end
            assign byte_s   = byte_q2;
            assign tlast_s  = tlast_q2;
            assign load_mid = first_load[0];
            assign ctl_load_next = !rst && first_load[0];
        end

        if (BYTES == 1) begin : g_one_byte
            assign word = byte_s;
        end else begin : g_bytes
            // bytes 0 .. BYTES-2 of the beat being collected: each byte enters at the top
            // and moves down one byte per byte taken, so byte 0 ends at the bottom; byte k
            // follows the strobe copy of its group
            reg [8*BYTES-9:0] low;
            for (gc = 0; gc < BYTES - 1; gc = gc + 1) begin : g_low
                always @(posedge clk) begin
                    if (shift[gc / GROUP_BYTES]) begin
                        low[8*gc +: 8] <= word[8*(gc+1) +: 8];
                    end
                end
            end
            assign word = {byte_s, low};
        end

        for (gc = 0; gc < BYTES; gc = gc + 1) begin : g_out
            localparam LO = 8 * gc;
            localparam HI = (8 * gc + 8 < BEAT_WIDTH) ? 8 * gc + 8 : BEAT_WIDTH;
            always @(posedge clk) begin
                if (load[gc / GROUP_BYTES]) begin
                    m_axis_tdata[HI-1:LO] <= word[HI-1:LO];
                end
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            byte_count    <= {BYTE_CNT_WIDTH{1'b0}};
            beat_count    <= {BEAT_CNT_WIDTH{1'b0}};
            m_axis_tvalid <= 1'b0;
            ctl_full      <= 1'b0;
        end else begin
            if (ctl_full && m_axis_tready) begin
                ctl_full <= 1'b0;
            end
            if (ctl_load) begin
                ctl_full <= 1'b1;
            end
            if (m_axis_tvalid && m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
            end
            if (load[0]) begin  // the output was empty: s_axis_tready took the last byte
                m_axis_tvalid <= 1'b1;
            end
            if (accept) begin
                if (last_byte) begin
                    byte_count <= {BYTE_CNT_WIDTH{1'b0}};
                    beat_count <= (beat_count == BEAT_LAST) ? {BEAT_CNT_WIDTH{1'b0}}
                                                            : beat_count + 1'b1;
                end else begin
                    byte_count <= byte_count + 1'b1;
                end
            end
        end
    end

    always @(posedge clk) begin
        if (load[0]) begin
            m_axis_tlast <= tlast_s;
        end
    end
endmodule

`default_nettype wire
