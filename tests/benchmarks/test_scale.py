"""``benchmarks/scale.py --quick`` runs end to end (so the script cannot rot).

It starts emulated MaxSmart strips, a Meross cloud with plugs, an INDI driver, two mosquitto
brokers and Home Assistant in its own process, all on loopback with free ports. The figures
are not asserted (no timing assertions in tests; the goals are the script's exit status and
are judged in docs/benchmarks.md); the test checks that every figure was measured.
"""

from pathlib import Path
import re
import subprocess
import sys

import pytest

from emulators.mosquitto import mosquitto_available

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(300)]


@pytest.mark.skipif(not mosquitto_available(), reason="mosquitto is not installed")
def test_scale_quick_measures_every_figure() -> None:
    """The quick run prints a complete table and both command latency rows, no failures."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
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
    goals = re.findall(r"^goal: .*: (met|MISSED)$", output, re.M)
    assert len(goals) == 5
    assert (result.returncode == 0) == all(goal == "met" for goal in goals)
