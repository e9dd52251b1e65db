"""``benchmarks/soak.py --quick`` passes: 2 minutes of random faults and commands.

Three MaxSmart strips, two Meross plugs, an INDI server, the Midea dehumidifier and air
conditioner (account entry), the SEPL platform connector, the MQTT bridge on every family entry
and Home Assistant in its own process, on loopback with free ports. The soak's criteria are not
timings: no command lost, memory bounded, no leaked task or socket, no error log entry that an
injected fault does not explain. The test requires the run's exit status 0 and reads the summary
to check that the run really issued commands on each path (Home Assistant services, the bridge's
command topic, SEPL platform commands) and injected faults.
"""

from pathlib import Path
import re
import subprocess
import sys

import pytest

from emulators.mosquitto import mosquitto_available

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(600)]


@pytest.mark.skipif(not mosquitto_available(), reason="mosquitto is not installed")
def test_soak_quick_meets_every_criterion() -> None:
    """The quick soak exits 0, issued commands, injected faults and met all six criteria."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output + result.stderr[-3000:]
    counts = re.search(
        r"^commands issued (\d+), confirmed (\d+), failed with an error (\d+), lost (\d+)$",
        output,
        re.M,
    )
    assert counts is not None, output
    issued, confirmed, failed, lost = map(int, counts.groups())
    assert issued > 20
    assert lost == 0
    assert confirmed + failed == issued
    paths = dict(re.findall(r"^  via (\w+): issued (\d+),", output, re.M))
    assert sorted(paths) == ["bridge", "sepl", "services"], output
    assert all(int(n) > 0 for n in paths.values()), paths
    faults = re.search(r"^faults injected: (.+)$", output, re.M)
    assert faults is not None
    assert sum(int(n) for n in re.findall(r" (\d+)(?:,|$)", faults.group(1))) >= 5
    assert re.findall(r"^criterion: .*: (met|FAILED)$", output, re.M) == ["met"] * 6
