"""Reading nextpnr's report and log: utilization, clocks, and the too-large message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwbnn.fpga.boards import BOARDS, Family
from hwbnn.fpga.nextpnr import DesignTooLarge, pnr_args, read_report, run_nextpnr
from hwbnn.fpga.tools import Tool

REPORT = {
    "fmax": {"$glbnet$clk": {"achieved": 22.97, "constraint": 25.0}},
    "utilization": {
        "TRELLIS_COMB": {"available": 83640, "used": 1206},
        "TRELLIS_FF": {"available": 83640, "used": 338},
        "DP16KD": {"available": 208, "used": 2},
        "TRELLIS_IO": {"available": 365, "used": 5},
    },
}


def test_read_report(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(REPORT))
    report = read_report(path)
    assert report.achieved_mhz == pytest.approx(22.97)
    assert not report.timing_met
    resources = report.resources(Family.ECP5)
    assert resources["lut"] == {"used": 1206, "available": 83640}
    assert resources["bram"]["used"] == 2 and "dsp" not in resources


def test_clocks_from_the_log_when_the_report_has_none(tmp_path: Path) -> None:
    log = (
        "Info: Max frequency for clock 'clk': 10.00 MHz (FAIL at 12.00 MHz)\n"
        "Info: Max frequency for clock 'clk': 47.49 MHz (PASS at 12.00 MHz)\n"
    )
    report = read_report(tmp_path / "missing.json", log)
    assert report.achieved_mhz == pytest.approx(47.49) and report.timing_met


def test_pnr_args_name_device_and_constraints() -> None:
    args, out = pnr_args(BOARDS["icebreaker"], 12, 1)
    assert out == "pnr.asc" and args[:3] == ["--up5k", "--package", "sg48"]
    assert args[args.index("--pcf") + 1] == "icebreaker.pcf"
    args, out = pnr_args(BOARDS["orangecrab-25f"], 48, 2)
    assert out == "pnr.config" and "--25k" in args and "CSFBGA285" in args
    assert args[args.index("--freq") + 1] == "48" and "--timing-allow-fail" in args
    assert args[args.index("--router") + 1] == "router2"  # ECP5 only
    assert "--router" not in pnr_args(BOARDS["icebreaker"], 12, 1)[0]


def test_too_large_is_one_line(tmp_path: Path) -> None:
    """A fake nextpnr that fails the way nextpnr does on an over-full device."""
    script = tmp_path / "fake-nextpnr"
    long_name = "cell_" + "x" * 400
    script.write_text(
        "#!/bin/sh\n"
        "cat > pnr.log <<'EOF'\n"
        "Info: Device utilisation:\n"
        "Info: \t         ICESTORM_LC:  8000/ 5280   151%\n"
        "Info: \t        ICESTORM_RAM:    12/   30    40%\n"
        f"ERROR: Unable to place cell '{long_name}', no BELs remaining to implement cell type "
        "'ICESTORM_LC'\n"
        "EOF\n"
        "exit 1\n"
    )
    script.chmod(0o755)
    with pytest.raises(DesignTooLarge) as info:
        run_nextpnr(
            Tool("nextpnr-ice40", (str(script),), "system"),
            BOARDS["icebreaker"],
            12,
            1,
            tmp_path,
            60,
        )
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    assert "design too large for iCE40UP5K (icebreaker): ICESTORM_LC 8000/5280 (151%)" in message


def test_timing_is_judged_against_the_requested_clock() -> None:
    from hwbnn.fpga.bitstream import meets_timing
    from hwbnn.fpga.nextpnr import ClockTiming, PnrReport

    # the board's LPF fixes 25 MHz, so nextpnr says PASS at 25 even when 100 was asked for
    report = PnrReport({}, [ClockTiming("clk", 60.2, 25.0)])
    assert report.timing_met
    assert meets_timing(report, 25.0)
    assert not meets_timing(report, 100.0)
    assert not meets_timing(PnrReport({}, [ClockTiming("clk", 20.0, 25.0)]), 10.0)
    assert not meets_timing(PnrReport({}, []), 1.0)


def test_ecp5_constraints_carry_the_requested_clock() -> None:
    """The LPF's FREQUENCY (which overrides nextpnr's --freq) becomes the requested target."""
    from hwbnn.fpga.bitstream import timing_constraints
    from hwbnn.resources import share_dir

    text = (share_dir("fpga") / "boards" / "ulx3s.lpf").read_text()
    out = timing_constraints(text, 112.5)
    changed = [line for line in out.splitlines() if line not in text.splitlines()]
    assert changed == ['FREQUENCY PORT "clk" 112.5 MHZ;  # place-and-route target']
    with pytest.raises(ValueError, match="exactly one FREQUENCY"):
        timing_constraints('LOCATE COMP "clk" SITE "G2";\n', 100.0)
