"""Registry dump and its validation (no network)."""

import json
from typing import Any

import pytest

from custom_components.switchboard.vendors.meross.capture import CaptureSecrets
from custom_components.switchboard.vendors.meross.registry import (
    RegistryDumpError,
    dump_registry,
    parse_registry,
)
from emulators.meross import MerossHub, MerossPlug, MerossValve

SECRETS = CaptureSecrets(user_id="7654321", key="f" * 32, token="e" * 64, email="me@example.com")


def _dump() -> dict[str, Any]:
    plug = MerossPlug(name="Plug")
    plug.domain = "mqtt-eu-3.meross.com"
    hub = MerossHub(name="Hub", valves=[MerossValve(subdevice_id="03002B0E")])
    return dump_registry(
        [plug.dev_list_item(), hub.dev_list_item()],
        {hub.uuid: [v.sub_device_item() for v in hub.valves.values()], plug.uuid: []},
        {plug.uuid: plug.abilities(), hub.uuid: None},
        SECRETS,
    )


def test_round_trip() -> None:
    dump = _dump()
    # JSON all the way (a service response), and nothing of the account in it.
    text = json.dumps(dump)
    for secret in ("7654321", "f" * 32, "e" * 64, "me@example.com"):
        assert secret not in text
    devices, subdevices, abilities = parse_registry(json.loads(text))
    assert [d.device_type for d in devices] == ["mss310", "msh300"]
    assert devices[0].domain == "mqtt-eu-3.meross.com"
    hub = devices[1].uuid
    assert [s.subdevice_id for s in subdevices[hub]] == ["03002B0E"]
    assert list(abilities) == [devices[0].uuid]


def _broken(change: Any) -> dict[str, Any]:
    dump = _dump()
    change(dump)
    return dump


@pytest.mark.parametrize(
    ("dump", "reason", "where"),
    [
        ([], "not_a_dump", "format"),
        (_broken(lambda d: d.update(version=2)), "version", "version"),
        (_broken(lambda d: d.update(devices=[])), "missing", "devices"),
        (_broken(lambda d: d.update(devices=[{}] * 501)), "too_many", "devices"),
        (_broken(lambda d: d["devices"].append("x")), "invalid", "devices[2]"),
        (_broken(lambda d: d["devices"][0].pop("uuid")), "missing", "devices[0].uuid"),
        (_broken(lambda d: d["devices"][0].update(uuid="../x")), "invalid", "devices[0].uuid"),
        (
            _broken(lambda d: d["devices"].append(dict(d["devices"][0]))),
            "duplicate",
            "devices[2].uuid",
        ),
        (_broken(lambda d: d["devices"][1].update(devName="")), "missing", "devices[1].devName"),
        (_broken(lambda d: d["devices"][0].update(domain=5)), "invalid", "devices[0].domain"),
        (_broken(lambda d: d["devices"][0].update(channels={})), "invalid", "devices[0].channels"),
        (_broken(lambda d: d["devices"][0].update(onlineStatus="x")), "invalid", "devices[0]"),
        (_broken(lambda d: d.update(subdevices=[])), "invalid", "subdevices"),
        (_broken(lambda d: d["subdevices"].update(nohub=[])), "unknown_hub", "subdevices[nohub]"),
        (
            _broken(lambda d: d["subdevices"].update({d["devices"][1]["uuid"]: {}})),
            "invalid",
            "subdevices",
        ),
        (
            _broken(lambda d: d["subdevices"].update({d["devices"][1]["uuid"]: [5]})),
            "invalid",
            "subdevices",
        ),
        (
            _broken(lambda d: d["subdevices"].update({d["devices"][1]["uuid"]: [{}]})),
            "missing",
            "subdevices",
        ),
        (_broken(lambda d: d.update(abilities={"x": 1})), "invalid", "abilities"),
    ],
)
def test_bad_dumps(dump: Any, reason: str, where: str) -> None:
    with pytest.raises(RegistryDumpError) as caught:
        parse_registry(dump)
    assert caught.value.reason == reason
    assert caught.value.where.startswith(where)
