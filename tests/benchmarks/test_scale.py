"""``benchmarks/scale.py --quick`` runs end to end (so the script cannot rot).

It starts emulated MaxSmart strips, a Meross cloud with plugs, an INDI driver, two mosquitto
brokers and Home Assistant in its own process, all on loopback with free ports. The figures
are not asserted (no timing assertions in tests; the goals are the script's exit status and
are judged in docs/benchmarks.md); the test checks that every figure was measured, and that
the Home Assistant floor reproduced the Switchboard run's state writes and MQTT publishes.
"""

from pathlib import Path
import re
import subprocess
import sys

import pytest

from emulators.mosquitto import mosquitto_available

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(480)]


@pytest.mark.skipif(not mosquitto_available(), reason="mosquitto is not installed")
def test_scale_quick_measures_every_figure() -> None:
    """The quick run prints a complete table and both command latency rows, no failures."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=460,
        check=False,
    )
    output = result.stdout
    assert result.returncode in (0, 1), result.stderr[-3000:]
    rows = dict(
        re.findall(
            r"^(entities|loop lag p99 \(ms\)|RSS \(MiB\))\s+(\S+)",
            output,
            re.M,
        )
    )
    assert "2 Midea appliances" in output
    assert int(rows["entities"]) > 200  # 10 strips, 5 plugs, 2 Midea appliances, INDI
    assert float(rows["loop lag p99 (ms)"]) >= 0
    assert float(rows["RSS (MiB)"]) > 0
    available = re.search(r"^start -> all entities available \(s\)\s+(\S+)", output, re.M)
    assert available is not None
    assert available.group(1) != "-"
    for device in ("strip", "meross"):
        latency = re.search(
            rf"^command -> state p95, {device} \(ms\)\s+(\S+)\s*(.*)$", output, re.M
        )
        assert latency is not None, output
        assert latency.group(1) != "-"
        assert "failed" not in latency.group(2)
    # The floor reproduced the Switchboard run's load, measured in its own window: as many
    # state writes and MQTT publishes per second (within 10 %), topics and payloads of the
    # same average length, and a CPU figure; both "above the floor" rows are there.
    for metric in ("state writes/s", "MQTT publishes/s"):
        found = re.search(rf"^{metric}\s+(\S+)\s+(?:\S+\s+)?(\S+)$", output, re.M)
        assert found is not None, output
        switchboard, floor = float(found.group(1)), float(found.group(2))
        assert switchboard > 0, output
        assert abs(floor - switchboard) <= 0.1 * switchboard, output
    sizes = re.search(r"^MQTT topic/payload \(chars\)\s+(\d+)/(\d+)\s+(\d+)/(\d+)$", output, re.M)
    assert sizes is not None, output
    assert abs(int(sizes.group(1)) - int(sizes.group(3))) <= 1, output
    assert abs(int(sizes.group(2)) - int(sizes.group(4))) <= 1, output
    # Where in the strips' 5 s cycle the writes fall, in both runs: the same within 5 points (the
    # floor replays the Switchboard run's batches at their moments).
    busiest = re.search(
        r"^writes in the busiest 0\.5 s of 5 s \(%\)\s+(\S+)\s+(\S+)$", output, re.M
    )
    assert busiest is not None, output
    switchboard, floor = float(busiest.group(1)), float(busiest.group(2))
    assert 10 <= switchboard <= 100, output
    assert abs(floor - switchboard) <= 5, output
    cpu = re.search(r"^HA process CPU \(% of one core\)(?:\s+\S+){3}\s+(\S+)$", output, re.M)
    assert cpu is not None, output
    assert float(cpu.group(1)) > 0, output
    for row in ("CPU (%)", "lag p99 (ms)"):
        above = re.search(
            rf"^Switchboard above the floor, {re.escape(row)}\s+([+-]\d+\.\d)$", output, re.M
        )
        assert above is not None, output
    goals = re.findall(r"^goal: .*: (met|MISSED)$", output, re.M)
    assert len(goals) == 5
    assert (result.returncode == 0) == all(goal == "met" for goal in goals)
