"""Payload -> attribute and action -> request mapping of the Meross family (no network)."""

from typing import Any

import pytest

from custom_components.switchboard.vendors.meross import device as model


@pytest.mark.parametrize(
    ("abilities", "device_type", "kind"),
    [
        ({"Appliance.Hub.SubdeviceList": {}}, "x", "hub"),
        (None, "msh300", "hub"),
        ({"Appliance.Control.Thermostat.Mode": {}}, "x", "thermostat"),
        (None, "mts200b", "thermostat"),
        ({"Appliance.Control.ToggleX": {}}, "x", "toggle"),
        (None, "mrs100", "toggle"),
        ({"Appliance.Control.Light": {}}, "msl120", "other"),
        (None, "map100", "other"),
    ],
)
def test_kind_of(abilities: dict[str, Any] | None, device_type: str, kind: str) -> None:
    assert model.kind_of(abilities, device_type) == kind


def test_togglex_accepts_dict_list_and_junk() -> None:
    assert model.togglex_values({"channel": 2, "onoff": 1}) == {"channel_2_on": True}
    assert model.togglex_values([{"onoff": 0}, "junk", {"channel": 1}]) == {"channel_0_on": False}
    assert model.togglex_values(None) == {}
    assert model.togglex_values("on") == {}


def test_electricity_without_an_item() -> None:
    assert model.electricity_values({}) == {}
    assert model.electricity_values({"electricity": {"power": 1500}}) == {"power": 1.5}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"on": False, "mode": 0}, ("off", "off")),
        ({"on": True}, (None, None)),
        ({"on": True, "mode": 9}, (None, None)),
        ({"on": True, "mode": 1, "heating": True}, ("cool", "cooling")),
        ({"on": True, "mode": 0, "heating": True}, ("heat", "heating")),
        ({"on": True, "mode": 3, "heating": False}, ("auto", "idle")),
    ],
)
def test_thermostat_hvac(values: dict[str, Any], expected: tuple[str | None, str | None]) -> None:
    assert model.thermostat_hvac(values) == expected


def test_valve_values_of_single_namespace_items() -> None:
    # Hub.Online item: "status" without an "online" dict.
    assert model.valve_values({"id": "01", "status": 2, "lastActiveTime": 1}) == {"online": False}
    # Hub.ToggleX item.
    assert model.valve_values({"id": "01", "onoff": 0, "channel": 0}) == {"on": False}
    # Hub.Mts100.Mode item.
    assert model.valve_values({"id": "01", "state": 3}) == {"mode": 3, "preset": "auto"}
    # Hub.Battery item.
    assert model.valve_values({"id": "01", "value": 55}) == {"battery": 55}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"on": False, "mode": 3}, ("off", "off")),
        ({"on": True}, (None, None)),
        ({"on": True, "mode": 3, "heating": True}, ("auto", "heating")),
        ({"on": True, "mode": 1}, ("heat", "idle")),
    ],
)
def test_valve_hvac(values: dict[str, Any], expected: tuple[str | None, str | None]) -> None:
    assert model.valve_hvac(values) == expected


def test_thermostat_requests() -> None:
    assert model.thermostat_mode_request("off").payload == {"mode": [{"channel": 0, "onoff": 0}]}
    assert model.thermostat_mode_request("auto").payload == {
        "mode": [{"channel": 0, "onoff": 1, "mode": 3}]
    }
    # Economy mode sets its own target; auto or an unknown mode switches to manual.
    assert model.thermostat_temperature_request(2, 16.5).payload == {
        "mode": [{"channel": 0, "ecoTemp": 165}]
    }
    for mode in (3, None):
        assert model.thermostat_temperature_request(mode, 21.0).payload == {
            "mode": [{"channel": 0, "mode": 4, "manualTemp": 210}]
        }


def test_valve_requests() -> None:
    custom = model.valve_requests("0A", "set_temperature", {"temperature": 19.5}, 0)
    assert [(r.namespace, r.payload) for r in custom] == [
        ("Appliance.Hub.Mts100.Temperature", {"temperature": [{"id": "0A", "custom": 195}]})
    ]
    # From another mode, the valve is switched to custom as well.
    auto = model.valve_requests("0A", "set_temperature", {"temperature": 19.5}, 3)
    assert [r.namespace for r in auto] == [
        "Appliance.Hub.Mts100.Temperature",
        "Appliance.Hub.Mts100.Mode",
    ]
    assert auto[1].payload == {"mode": [{"id": "0A", "state": 0}]}
    off = model.valve_requests("0A", "set_hvac_mode", {"hvac_mode": "off"}, 3)
    assert [(r.namespace, r.payload) for r in off] == [
        ("Appliance.Hub.ToggleX", {"togglex": [{"id": "0A", "onoff": 0, "channel": 0}]})
    ]
    heat = model.valve_requests("0A", "set_hvac_mode", {"hvac_mode": "heat"}, 3)
    assert heat[0].payload["togglex"][0]["onoff"] == 1
    assert heat[1].payload == {"mode": [{"id": "0A", "state": 0}]}


@pytest.mark.parametrize(
    ("mode", "preset", "target_key"),
    [
        (4, "manual", "manualTemp"),
        (0, "comfort", "heatTemp"),
        (1, "sleep", "coolTemp"),
        (2, "eco", "ecoTemp"),
        (3, "auto", None),
    ],
)
def test_thermostat_presets(mode: int, preset: str, target_key: str | None) -> None:
    item = {
        "mode": mode,
        "onoff": 1,
        "heatTemp": 210,
        "coolTemp": 170,
        "ecoTemp": 160,
        "manualTemp": 195,
        "targetTemp": 205,
    }
    values = model.thermostat_values(item)
    assert values["preset"] == preset
    # Every preset's own temperature is reported, whatever the current mode.
    assert (values["comfort_temperature"], values["sleep_temperature"]) == (21.0, 17.0)
    assert (values["eco_temperature"], values["manual_temperature"]) == (16.0, 19.5)
    # Economy is a preset of heating, not plain "heat" without a preset.
    assert model.thermostat_hvac(values)[0] == (
        "auto" if mode == 3 else "cool" if mode == 1 else "heat"
    )
    assert model.thermostat_preset_request(preset).payload == {
        "mode": [{"channel": 0, "onoff": 1, "mode": mode}]
    }
    if target_key is not None:
        # Setting the temperature in a preset changes that preset's own target.
        request = model.thermostat_temperature_request(mode, 18.0)
        assert request.payload == {"mode": [{"channel": 0, target_key: 180}]}


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(StopIteration):
        model.thermostat_preset_request("boost")
    with pytest.raises(StopIteration):
        model.valve_preset_requests("0A", "sleep")


@pytest.mark.parametrize(
    ("state", "preset", "key"),
    [
        (0, "manual", "custom"),
        (1, "comfort", "comfort"),
        (2, "eco", "economy"),
        (3, "auto", None),
        (4, "away", "away"),
    ],
)
def test_valve_presets(state: int, preset: str, key: str | None) -> None:
    item = {
        "id": "0A",
        "mode": {"state": state},
        "temperature": {
            "custom": 200,
            "comfort": 210,
            "economy": 180,
            "away": 150,
            "currentSet": 210,
            "room": 190,
        },
    }
    values = model.valve_values(item)
    assert values["preset"] == preset
    assert values["eco_temperature"] == 18.0
    assert values["away_temperature"] == 15.0
    assert values["manual_temperature"] == 20.0
    requests = model.valve_preset_requests("0A", preset)
    assert [(r.namespace, r.payload) for r in requests] == [
        ("Appliance.Hub.ToggleX", {"togglex": [{"id": "0A", "onoff": 1, "channel": 0}]}),
        ("Appliance.Hub.Mts100.Mode", {"mode": [{"id": "0A", "state": state}]}),
    ]
    temperature = model.valve_requests("0A", "set_temperature", {"temperature": 17}, state)
    assert temperature[0].payload == {"temperature": [{"id": "0A", key or "custom": 170}]}
    # Only from the schedule does a temperature switch the valve to its hand-set mode.
    assert len(temperature) == (1 if key else 2)
