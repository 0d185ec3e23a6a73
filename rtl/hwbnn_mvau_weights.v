// hwbnn_mvau_weights: the weight words of hwbnn_mvau, read at addr and delivered two enabled
// cycles later (w, and sel = addr's bit 0 delayed alike), as the MVAU's operand stages need.
//
// STORAGE says where the DEPTH words of WIDTH bits live (hwbnn.plan decides it per layer):
//   0 ROM: loaded from WEIGHT_FILE ($readmemh), read synchronously, then an output register
//     (two stages); synthesis picks block RAM or logic by its own cost.
//   1 block RAM: the same ROM with rom_style "block".
//   2 LUT ROM: the same ROM with rom_style "logic": short rows cost LUTs, no block RAM.
//   3 constant (DEPTH 1 or 2): the words are the parameter WEIGHTS ({word 1, word 0}), no
//     memory: w is the word that the delayed select picks, so synthesis folds the weights into
//     the logic that reads w. hwbnn_popcount takes WEIGHTS and sel directly (its CONST_A), so
//     an XNOR lane costs no LUT of its own.
// An empty WEIGHT_FILE (STORAGE 0-2) sets every weight to -1 and prints a warning at time 0
// (for lint and synthesis trials).
`default_nettype none

module hwbnn_mvau_weights #(
    parameter DEPTH       = 4,   // words
    parameter WIDTH       = 8,   // bits per word
    parameter STORAGE     = 0,   // 0: ROM, 1: block RAM, 2: LUT ROM, 3: constant (DEPTH <= 2)
    parameter WEIGHT_FILE = "",  // STORAGE 0-2: $readmemh file of the DEPTH words
    // STORAGE 3: {word 1, word 0} (word 1 only when DEPTH is 2)
    parameter [((STORAGE == 3) ? DEPTH * WIDTH : 1)-1:0] WEIGHTS = 0,
    // Derived, do not override:
    parameter ADDR_WIDTH  = (DEPTH > 1) ? $clog2(DEPTH) : 1  // bits of addr
) (
    input  wire                  clk,
    input  wire                  en,    // advances both stages
    /* verilator lint_off UNUSEDSIGNAL */  // constant words read bit 0 only
    input  wire [ADDR_WIDTH-1:0] addr,  // word read this cycle
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [WIDTH-1:0]      w,     // word addr of two enabled cycles ago
    output reg                   sel    // addr[0] of two enabled cycles ago
);
    hwbnn_param_check #(.OK(STORAGE >= 0 && STORAGE <= 3 && (STORAGE != 3 || DEPTH <= 2)),
        .RULE("STORAGE must be 0, 1, 2, or 3 with DEPTH <= 2"),
        .NAME0("STORAGE"), .VALUE0(STORAGE), .NAME1("DEPTH"), .VALUE1(DEPTH)
    ) u_check_storage ();
    hwbnn_param_check #(.OK(ADDR_WIDTH == ((DEPTH > 1) ? $clog2(DEPTH) : 1)),
        .RULE("ADDR_WIDTH is derived, do not override it"),
        .NAME0("ADDR_WIDTH"), .VALUE0(ADDR_WIDTH)) u_check_derived ();

    reg a_sel;
    always @(posedge clk) begin
        if (en) begin
            a_sel <= addr[0];
            sel   <= a_sel;
        end
    end

    generate
        if (STORAGE == 3) begin : g_constant
            if (DEPTH == 1) begin : g_one
                assign w = WEIGHTS[WIDTH-1:0];
            end else begin : g_two
                assign w = sel ? WEIGHTS[2*WIDTH-1:WIDTH] : WEIGHTS[WIDTH-1:0];
            end
        end else begin : g_rom
            reg [WIDTH-1:0] a_w, b_w;
            if (STORAGE == 0) begin : g_auto
                reg [WIDTH-1:0] mem [0:DEPTH-1];
                if (WEIGHT_FILE != "") begin : g_file
                    initial $readmemh(WEIGHT_FILE, mem);
                end else begin : g_empty
                    integer i;
                    initial for (i = 0; i < DEPTH; i = i + 1) mem[i] = {WIDTH{1'b0}};
                end
                always @(posedge clk) begin
                    if (en) begin
                        a_w <= mem[addr];
                    end
                end
            end else if (STORAGE == 1) begin : g_block
                (* rom_style = "block" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
                if (WEIGHT_FILE != "") begin : g_file
                    initial $readmemh(WEIGHT_FILE, mem);
                end else begin : g_empty
                    integer i;
                    initial for (i = 0; i < DEPTH; i = i + 1) mem[i] = {WIDTH{1'b0}};
                end
                always @(posedge clk) begin
                    if (en) begin
                        a_w <= mem[addr];
                    end
                end
            end else begin : g_logic
                (* rom_style = "logic" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
                if (WEIGHT_FILE != "") begin : g_file
                    initial $readmemh(WEIGHT_FILE, mem);
                end else begin : g_empty
                    integer i;
                    initial for (i = 0; i < DEPTH; i = i + 1) mem[i] = {WIDTH{1'b0}};
                end
                always @(posedge clk) begin
                    if (en) begin
                        a_w <= mem[addr];
                    end
                end
            end
            if (WEIGHT_FILE == "") begin : g_warn
                initial $display("WARNING: %m: WEIGHT_FILE is empty, all weights are -1");
            end
            always @(posedge clk) begin
                if (en) begin
                    b_w <= a_w;
                end
            end
            assign w = b_w;
        end
    endgenerate
endmodule

`default_nettype wire
