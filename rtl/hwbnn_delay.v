// hwbnn_delay: a value delayed by STAGES enabled registers (a wire for STAGES = 0).
//
//   out = in of STAGES cycles with en high ago; with RESET = 1 a cycle with rst high clears
//   every stage (rst wins over en), with RESET = 0 the stages ignore rst (no reset logic).
// hwbnn_adder_tree and hwbnn_popcount delay their tag (RESET 1) and, in the fast simulation
// model, their sum (RESET 0) through it.
`default_nettype none

module hwbnn_delay #(
    parameter WIDTH  = 1,  // bits of the value, at least 1
    parameter STAGES = 1,  // registers, at least 0
    parameter RESET  = 0   // 1: rst clears the registers; 0: no reset
) (
    /* verilator lint_off UNUSEDSIGNAL */  // clk, rst and en are unused without registers
    input  wire             clk,
    input  wire             rst,  // synchronous, active high (RESET = 1)
    input  wire             en,   // clock enable of the registers
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [WIDTH-1:0] in,
    output wire [WIDTH-1:0] out
);
    hwbnn_param_check #(.OK(WIDTH >= 1 && STAGES >= 0 && (RESET == 0 || RESET == 1)),
        .RULE("WIDTH must be at least 1, STAGES at least 0, RESET 0 or 1"),
        .NAME0("WIDTH"), .VALUE0(WIDTH), .NAME1("STAGES"), .VALUE1(STAGES),
        .NAME2("RESET"), .VALUE2(RESET)
    ) u_check ();

    generate
        if (STAGES == 0) begin : g_wire
            assign out = in;
        end else begin : g_regs
            reg [WIDTH-1:0] pipe [0:STAGES-1];  // pipe[k]: after register k
            integer k;
            always @(posedge clk) begin
                for (k = 0; k < STAGES; k = k + 1) begin
                    if (RESET != 0 && rst) begin
                        pipe[k] <= {WIDTH{1'b0}};
                    end else if (en) begin
                        pipe[k] <= (k == 0) ? in : pipe[(k > 0) ? k - 1 : 0];
                    end
                end
            end
            assign out = pipe[STAGES-1];
        end
    endgenerate
endmodule

`default_nettype wire
