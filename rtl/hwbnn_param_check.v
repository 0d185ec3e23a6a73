// hwbnn_param_check: stops elaboration when a module's parameters break a rule, printing the
// instance and the offending values.
//
// Every rtl/ module checks its parameters with one instance per rule, e.g.
//   hwbnn_param_check #(
//       .OK(PE >= 1 && MH % PE == 0), .RULE("PE must divide MH"),
//       .NAME0("PE"), .VALUE0(PE), .NAME1("MH"), .VALUE1(MH)
//   ) u_check_pe ();
// A checker module rather than a `define macro: it needs no include path in any tool
// invocation, and hwbnn.resources.rtl_files finds it like every other instantiated module.
//
// When OK is 0 the message is "RULE (NAME0=VALUE0, NAME1=VALUE1, ...)", naming the first
// COUNT values (the NAMEi given, 1 to 4):
// - Icarus 11 has no elaboration-time $error: $fatal stops the simulation at time 0, with the
//   instance (%m, and Icarus' "Scope:" line) before the message;
// - Verilator stops at elaboration with %Warning-USERERROR and "In instance '<path>'" (it does
//   not expand %m in elaboration-time messages);
// - Yosys elaborates modules, not instances: it prints "ERROR: hwbnn_param_check: RULE (...)"
//   from an elaboration-time $display (its $error prints only a literal string), then stops
//   with $error; the lines before name the module being derived.
// When OK is nonzero the module is empty (no logic, no ports).
`default_nettype none

module hwbnn_param_check #(
    parameter OK     = 1,   // nonzero: the parameters are legal; 0: stop
    parameter RULE   = "",  // the rule, e.g. "PE must divide MH"
    parameter NAME0  = "",  // name of the first value printed (required)
    parameter VALUE0 = 0,   // its value
    parameter NAME1  = "",  // name of the second value ("": print one value)
    parameter VALUE1 = 0,   // its value
    parameter NAME2  = "",  // name of the third value ("": print two values)
    parameter VALUE2 = 0,   // its value
    parameter NAME3  = "",  // name of the fourth value ("": print three values)
    parameter VALUE3 = 0    // its value
) ();
    // Values printed: the NAMEi given before the first empty one.
    localparam COUNT = (NAME1 == "") ? 1 : (NAME2 == "") ? 2 : (NAME3 == "") ? 3 : 4;

    generate
        if (OK == 0 && COUNT == 1) begin : g_fail1
`ifdef __ICARUS__
            initial $fatal(1, "%m: %0s (%0s=%0d)", RULE, NAME0, VALUE0);
`elsif YOSYS
            initial $display("ERROR: hwbnn_param_check: %0s (%0s=%0d)", RULE, NAME0, VALUE0);
            $error("illegal parameters (see the ERROR line above)");
`else
            $error("%0s (%0s=%0d)", RULE, NAME0, VALUE0);
`endif
        end
        if (OK == 0 && COUNT == 2) begin : g_fail2
`ifdef __ICARUS__
            initial $fatal(1, "%m: %0s (%0s=%0d, %0s=%0d)", RULE, NAME0, VALUE0, NAME1, VALUE1);
`elsif YOSYS
            initial $display("ERROR: hwbnn_param_check: %0s (%0s=%0d, %0s=%0d)",
                             RULE, NAME0, VALUE0, NAME1, VALUE1);
            $error("illegal parameters (see the ERROR line above)");
`else
            $error("%0s (%0s=%0d, %0s=%0d)", RULE, NAME0, VALUE0, NAME1, VALUE1);
`endif
        end
        if (OK == 0 && COUNT == 3) begin : g_fail3
`ifdef __ICARUS__
            initial $fatal(1, "%m: %0s (%0s=%0d, %0s=%0d, %0s=%0d)",
                           RULE, NAME0, VALUE0, NAME1, VALUE1, NAME2, VALUE2);
`elsif YOSYS
            initial $display("ERROR: hwbnn_param_check: %0s (%0s=%0d, %0s=%0d, %0s=%0d)",
                             RULE, NAME0, VALUE0, NAME1, VALUE1, NAME2, VALUE2);
            $error("illegal parameters (see the ERROR line above)");
`else
            $error("%0s (%0s=%0d, %0s=%0d, %0s=%0d)",
                   RULE, NAME0, VALUE0, NAME1, VALUE1, NAME2, VALUE2);
`endif
        end
        if (OK == 0 && COUNT == 4) begin : g_fail4
`ifdef __ICARUS__
            initial $fatal(1, "%m: %0s (%0s=%0d, %0s=%0d, %0s=%0d, %0s=%0d)",
                           RULE, NAME0, VALUE0, NAME1, VALUE1, NAME2, VALUE2, NAME3, VALUE3);
`elsif YOSYS
            initial $display("ERROR: hwbnn_param_check: %0s (%0s=%0d, %0s=%0d, %0s=%0d, %0s=%0d)",
                             RULE, NAME0, VALUE0, NAME1, VALUE1, NAME2, VALUE2, NAME3, VALUE3);
            $error("illegal parameters (see the ERROR line above)");
`else
            $error("%0s (%0s=%0d, %0s=%0d, %0s=%0d, %0s=%0d)",
                   RULE, NAME0, VALUE0, NAME1, VALUE1, NAME2, VALUE2, NAME3, VALUE3);
`endif
        end
    endgenerate
endmodule

`default_nettype wire
