"""Turn Meross payloads into Switchboard attributes, and actions into Meross requests.

No Home Assistant imports: HVAC modes are the plain strings Home Assistant uses (``"heat"``,
``"cool"``, ``"auto"``, ``"off"``), presets Home Assistant's preset names where one fits
(``"comfort"``, ``"eco"``, ``"sleep"``, ``"away"``) and ``"manual"`` / ``"auto"`` otherwise.
Units follow docs/protocols/meross.md §5: power in mW, voltage in tenths of a volt
(2301 -> 230.1 V), current in mA, energy in Wh, temperatures in tenths of °C.
"""

from dataclasses import dataclass
import datetime
from typing import Any, Literal

from .protocol import Namespace

type Kind = Literal["toggle", "thermostat", "hub", "other"]

HVAC_OFF = "off"
HVAC_HEAT = "heat"
HVAC_COOL = "cool"
HVAC_AUTO = "auto"

# MTS200 Thermostat.Mode "mode": 0 heat/comfort, 1 cool, 2 economy, 3 auto/schedule, 4 manual.
MTS200_HVAC = {0: HVAC_HEAT, 1: HVAC_COOL, 2: HVAC_HEAT, 3: HVAC_AUTO, 4: HVAC_HEAT}
MTS200_MODE_FOR_HVAC = {HVAC_HEAT: 0, HVAC_COOL: 1, HVAC_AUTO: 3}
MTS200_TARGET_KEY = {0: "heatTemp", 1: "coolTemp", 2: "ecoTemp", 4: "manualTemp"}
MTS200_MANUAL = 4
# MTS100 Hub.Mts100.Mode "state": 0 custom, 1 comfort, 2 economy, 3 auto, 4 away.
MTS100_CUSTOM = 0
MTS100_AUTO = 3

PRESET_MANUAL = "manual"
PRESET_COMFORT = "comfort"
PRESET_SLEEP = "sleep"
PRESET_ECO = "eco"
PRESET_AUTO = "auto"
PRESET_AWAY = "away"

MTS200_PRESETS: dict[int, str] = {
    4: PRESET_MANUAL,
    0: PRESET_COMFORT,
    1: PRESET_SLEEP,
    2: PRESET_ECO,
    3: PRESET_AUTO,
}
"""Thermostat.Mode ``mode`` -> preset. Mode 1 (the fact sheet's "cool", the app's moon
symbol; meross_lan's "sleep") keeps its own ``coolTemp``; 3 follows the device's schedule."""
MTS200_PRESET_TEMPERATURE: dict[str, str] = {
    "manualTemp": "manual_temperature",
    "heatTemp": "comfort_temperature",
    "coolTemp": "sleep_temperature",
    "ecoTemp": "eco_temperature",
}
"""Thermostat.Mode temperature keys -> the preset's temperature attribute (°C)."""
MTS100_PRESETS: dict[int, str] = {
    MTS100_CUSTOM: PRESET_MANUAL,
    1: PRESET_COMFORT,
    2: PRESET_ECO,
    MTS100_AUTO: PRESET_AUTO,
    4: PRESET_AWAY,
}
"""Hub.Mts100.Mode ``state`` -> preset (custom is the hand-set temperature)."""
MTS100_PRESET_TEMPERATURE: dict[str, str] = {
    "custom": "manual_temperature",
    "comfort": "comfort_temperature",
    "economy": "eco_temperature",
    "away": "away_temperature",
}
"""Hub.Mts100.Temperature keys -> the preset's temperature attribute (°C)."""
MTS100_TEMPERATURE_KEY: dict[int, str] = {0: "custom", 1: "comfort", 2: "economy", 4: "away"}
"""Hub.Mts100.Mode ``state`` -> the Hub.Mts100.Temperature key holding its target."""


def watts(milliwatts: Any) -> float:
    """Convert the device's mW to W."""
    return round(float(milliwatts) / 1000, 3)


def volts(decivolts: Any) -> float:
    """Convert the device's tenths of a volt to V."""
    return round(float(decivolts) / 10, 1)


def amperes(milliamperes: Any) -> float:
    """Convert the device's mA to A."""
    return round(float(milliamperes) / 1000, 3)


def celsius(tenths: Any) -> float:
    """Convert tenths of °C to °C."""
    return round(float(tenths) / 10, 1)


def tenths(value: float) -> int:
    """Convert °C to tenths of °C."""
    return round(value * 10)


def subdevice_id(hub_uuid: str, sub_id: str) -> str:
    """Switchboard device id of a hub's sub-device."""
    return f"{hub_uuid}-{sub_id.lower()}"


def kind_of(abilities: dict[str, Any] | None, device_type: str) -> Kind:
    """Classify a device by its abilities (or its type when abilities are unknown yet)."""
    names = set(abilities or {})
    if Namespace.HUB_SUBDEVICE_LIST in names or device_type.startswith("msh"):
        return "hub"
    if Namespace.THERMOSTAT_MODE in names or device_type.startswith("mts2"):
        return "thermostat"
    if Namespace.CONTROL_TOGGLEX in names or device_type.startswith(("mss", "mrs")):
        return "toggle"
    return "other"


def _items(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def togglex_values(payload: Any) -> dict[str, Any]:
    """``channel_<n>_on`` from a ToggleX list/dict (digest, PUSH or GET reply)."""
    return {
        f"channel_{int(item.get('channel', 0))}_on": bool(item.get("onoff"))
        for item in _items(payload)
        if "onoff" in item
    }


def electricity_values(payload: dict[str, Any]) -> dict[str, Any]:
    """Power, voltage and current from an Electricity payload."""
    item = payload.get("electricity")
    if not isinstance(item, dict):
        return {}
    values: dict[str, Any] = {}
    if "power" in item:
        values["power"] = watts(item["power"])
    if "voltage" in item:
        values["voltage"] = volts(item["voltage"])
    if "current" in item:
        values["current"] = amperes(item["current"])
    return values


def consumption_days(payload: dict[str, Any]) -> dict[str, float]:
    """Return kWh per date (``YYYY-MM-DD``) from a ConsumptionX payload (Wh per day)."""
    days: dict[str, float] = {}
    for item in _items(payload.get("consumptionx", payload.get("consumption"))):
        if "date" in item and "value" in item:
            days[str(item["date"])] = float(item["value"]) / 1000
    return days


def thermostat_values(item: dict[str, Any]) -> dict[str, Any]:
    """MTS200 attributes from one Thermostat.Mode item."""
    values: dict[str, Any] = {}
    if "mode" in item:
        values["mode"] = int(item["mode"])
    if "onoff" in item:
        values["on"] = bool(item["onoff"])
    for key, attribute in (
        ("currentTemp", "current_temperature"),
        ("targetTemp", "target_temperature"),
        ("min", "min_temperature"),
        ("max", "max_temperature"),
    ):
        if key in item:
            values[attribute] = celsius(item[key])
    if "state" in item:
        values["heating"] = bool(item["state"])
    for key, attribute in MTS200_PRESET_TEMPERATURE.items():
        if key in item:
            values[attribute] = celsius(item[key])
    if isinstance(values.get("mode"), int):
        values["preset"] = MTS200_PRESETS.get(values["mode"])
    return values


def thermostat_hvac(values: dict[str, Any]) -> tuple[str | None, str | None]:
    """HVAC mode and action from merged MTS200 attributes."""
    if values.get("on") is False:
        return HVAC_OFF, "off"
    mode = values.get("mode")
    hvac = MTS200_HVAC.get(mode) if isinstance(mode, int) else None
    if hvac is None:
        return None, None
    if values.get("heating"):
        return hvac, "cooling" if hvac == HVAC_COOL else "heating"
    return hvac, "idle"


def valve_values(item: dict[str, Any]) -> dict[str, Any]:
    """MTS100 attributes from a Hub.Mts100.All item or a Mode/Temperature/ToggleX/... item."""
    values: dict[str, Any] = {}
    online = item.get("online")
    if isinstance(online, dict) and "status" in online:
        values["online"] = int(online["status"]) == 1
    elif "status" in item and "online" not in item:
        values["online"] = int(item["status"]) == 1
    toggle = item.get("togglex")
    if isinstance(toggle, dict) and "onoff" in toggle:
        values["on"] = bool(toggle["onoff"])
    elif "onoff" in item:
        values["on"] = bool(item["onoff"])
    mode = item.get("mode")
    if isinstance(mode, dict) and "state" in mode:
        values["mode"] = int(mode["state"])
    elif "state" in item and "onoff" not in item and "status" not in item:
        values["mode"] = int(item["state"])
    temperature = item.get("temperature") if isinstance(item.get("temperature"), dict) else item
    assert isinstance(temperature, dict)
    for key, attribute in (
        ("room", "current_temperature"),
        ("currentSet", "target_temperature"),
        ("min", "min_temperature"),
        ("max", "max_temperature"),
    ):
        if key in temperature:
            values[attribute] = celsius(temperature[key])
    if "heating" in temperature:
        values["heating"] = bool(temperature["heating"])
    for key, attribute in MTS100_PRESET_TEMPERATURE.items():
        if key in temperature:
            values[attribute] = celsius(temperature[key])
    if isinstance(values.get("mode"), int):
        values["preset"] = MTS100_PRESETS.get(values["mode"])
    if "value" in item and "id" in item:
        values["battery"] = int(item["value"])
    return values


def valve_hvac(values: dict[str, Any]) -> tuple[str | None, str | None]:
    """HVAC mode and action of an MTS100."""
    if values.get("on") is False:
        return HVAC_OFF, "off"
    mode = values.get("mode")
    if not isinstance(mode, int):
        return None, None
    hvac = HVAC_AUTO if mode == MTS100_AUTO else HVAC_HEAT
    return hvac, "heating" if values.get("heating") else "idle"


@dataclass(frozen=True, slots=True)
class Request:
    """One Meross request a Switchboard action turns into."""

    method: str
    namespace: str
    payload: dict[str, Any]


def toggle_request(channel: int, on: bool) -> Request:
    """SET ToggleX for one channel."""
    return Request(
        "SET", Namespace.CONTROL_TOGGLEX, {"togglex": {"channel": channel, "onoff": int(on)}}
    )


def thermostat_mode_request(hvac_mode: str) -> Request:
    """SET Thermostat.Mode for an HVAC mode."""
    item: dict[str, Any] = {"channel": 0}
    if hvac_mode == HVAC_OFF:
        item["onoff"] = 0
    else:
        item["onoff"] = 1
        item["mode"] = MTS200_MODE_FOR_HVAC[hvac_mode]
    return Request("SET", Namespace.THERMOSTAT_MODE, {"mode": [item]})


def thermostat_temperature_request(mode: int | None, celsius_value: float) -> Request:
    """SET the target of the current mode (auto/unknown switches to manual)."""
    item: dict[str, Any] = {"channel": 0}
    key = MTS200_TARGET_KEY.get(mode) if mode is not None else None
    if key is None:
        item["mode"] = MTS200_MANUAL
        key = MTS200_TARGET_KEY[MTS200_MANUAL]
    item[key] = tenths(celsius_value)
    return Request("SET", Namespace.THERMOSTAT_MODE, {"mode": [item]})


def thermostat_preset_request(preset: str) -> Request:
    """SET Thermostat.Mode to the mode of ``preset`` (switching the thermostat on).

    Raises KeyError for a preset the MTS200 does not have.
    """
    mode = next(mode for mode, name in MTS200_PRESETS.items() if name == preset)
    return Request(
        "SET", Namespace.THERMOSTAT_MODE, {"mode": [{"channel": 0, "onoff": 1, "mode": mode}]}
    )


def valve_preset_requests(sub_id: str, preset: str) -> list[Request]:
    """Switch an MTS100 on and to the mode of ``preset`` (KeyError for an unknown preset)."""
    state = next(state for state, name in MTS100_PRESETS.items() if name == preset)
    return [
        Request(
            "SET",
            Namespace.HUB_TOGGLEX,
            {"togglex": [{"id": sub_id, "onoff": 1, "channel": 0}]},
        ),
        Request("SET", Namespace.HUB_MTS100_MODE, {"mode": [{"id": sub_id, "state": state}]}),
    ]


def valve_requests(sub_id: str, action: str, args: dict[str, Any], mode: Any) -> list[Request]:
    """Requests for an MTS100 action."""
    if action == "set_temperature":
        # The target of the current preset; from auto (schedule) or an unknown mode, the
        # hand-set (custom) temperature, and the valve is switched to custom as well.
        key = MTS100_TEMPERATURE_KEY.get(mode) if isinstance(mode, int) else None
        requests = [
            Request(
                "SET",
                Namespace.HUB_MTS100_TEMPERATURE,
                {"temperature": [{"id": sub_id, key or "custom": tenths(args["temperature"])}]},
            )
        ]
        if key is None:
            requests.append(
                Request(
                    "SET",
                    Namespace.HUB_MTS100_MODE,
                    {"mode": [{"id": sub_id, "state": MTS100_CUSTOM}]},
                )
            )
        return requests
    hvac = args["hvac_mode"]
    toggle = Request(
        "SET",
        Namespace.HUB_TOGGLEX,
        {"togglex": [{"id": sub_id, "onoff": 0 if hvac == HVAC_OFF else 1, "channel": 0}]},
    )
    if hvac == HVAC_OFF:
        return [toggle]
    state = MTS100_AUTO if hvac == HVAC_AUTO else MTS100_CUSTOM
    return [
        toggle,
        Request("SET", Namespace.HUB_MTS100_MODE, {"mode": [{"id": sub_id, "state": state}]}),
    ]


def today() -> str:
    """Today's date as the device names it (local date)."""
    return datetime.date.today().isoformat()
