// Testbench wrapper (not generated): LANES copies of flow_requant side by side, so that one
// simulation step checks LANES input codes. Lane i reads in_codes[i*IN_W +: IN_W].
`default_nettype none

module requant_vec #(
    parameter integer LANES = 256,     // number of requantizers side by side
    parameter integer IN_W = 16,       // see flow_requant
    parameter integer IN_SIGNED = 1,   // see flow_requant
    parameter integer SHIFT = 4,       // see flow_requant
    parameter integer OUT_W = 8,       // see flow_requant
    parameter integer OUT_SIGNED = 1,  // see flow_requant
    parameter integer RND = 0,         // see flow_requant
    parameter integer SAT = 0          // see flow_requant
) (
    input  wire [LANES*IN_W-1:0]  in_codes,   // LANES input codes
    output wire [LANES*OUT_W-1:0] out_codes   // LANES output codes
);
    genvar i;
    generate
        for (i = 0; i < LANES; i = i + 1) begin : g_lane
            flow_requant #(
                .IN_W(IN_W), .IN_SIGNED(IN_SIGNED), .SHIFT(SHIFT), .OUT_W(OUT_W),
                .OUT_SIGNED(OUT_SIGNED), .RND(RND), .SAT(SAT)
            ) u_rq (
                .in_code(in_codes[i*IN_W +: IN_W]),
                .out_code(out_codes[i*OUT_W +: OUT_W])
            );
        end
    endgenerate
endmodule

`default_nettype wire
