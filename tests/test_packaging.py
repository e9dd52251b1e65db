"""What hassfest and the HACS validator check upstream, checked here.

Manifest keys and pins, hacs.json keys, services.yaml against the registered services, and
translations against the keys the code uses (translation keys, config-flow steps, errors and
abort reasons, service fields, icons).
"""

import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
import yaml

from custom_components.switchboard.const import DOMAIN

ROOT = Path(__file__).resolve().parents[1]
COMPONENT = ROOT / "custom_components" / DOMAIN
SOURCES = sorted(COMPONENT.rglob("*.py"))
EN: dict[str, Any] = json.loads((COMPONENT / "translations" / "en.json").read_text())
SERVICES: dict[str, Any] = yaml.safe_load((COMPONENT / "services.yaml").read_text())
ICONS: dict[str, Any] = json.loads((COMPONENT / "icons.json").read_text())


def _literals(pattern: str) -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        found.update(re.findall(pattern, path.read_text()))
    return found


def test_manifest() -> None:
    """Keys as hassfest wants them: domain, name, then sorted; pinned requirements."""
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == DOMAIN
    assert manifest["config_flow"] is True
    assert manifest["documentation"].startswith("https://")
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["iot_class"] in {
        "assumed_state",
        "cloud_polling",
        "cloud_push",
        "local_polling",
        "local_push",
        "calculated",
    }
    for requirement in manifest["requirements"]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*", requirement)
    # Every runtime requirement is installed for the tests too.
    tests = (ROOT / "requirements_test.txt").read_text().splitlines()
    for requirement in manifest["requirements"]:
        assert requirement in tests


def test_hacs_json() -> None:
    """Only keys HACS knows."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    known = {
        "name",
        "content_in_root",
        "zip_release",
        "filename",
        "hide_default_branch",
        "country",
        "homeassistant",
        "persistent_directory",
        "render_readme",
        "hacs",
    }
    assert set(hacs) <= known
    assert hacs["name"] == "Switchboard"
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", hacs["homeassistant"])


def test_brand_icon() -> None:
    """brand/icon.png is a PNG."""
    assert (COMPONENT / "brand" / "icon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_services_match_services_yaml(hass: HomeAssistant) -> None:
    """Every registered service is described in services.yaml, translated, and has an icon."""
    assert await async_setup_component(hass, DOMAIN, {})
    registered = set(hass.services.async_services_for_domain(DOMAIN))
    assert registered == set(SERVICES)
    for name, description in SERVICES.items():
        translated = EN["services"][name]
        assert translated["name"]
        assert translated["description"]
        for field in (description or {}).get("fields", {}):
            assert translated["fields"][field]["name"], (name, field)
            assert translated["fields"][field]["description"], (name, field)
        assert name in ICONS["services"], name


def _all_keys(node: Any, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            keys.add(key)
            keys |= _all_keys(value, prefix)
    return keys


def test_translation_keys_used_in_code_exist() -> None:
    """Every translation_key literal is in ``entity`` or ``exceptions`` (or a selector)."""
    entity_keys = {key for platform in EN["entity"].values() for key in platform}
    exceptions = set(EN["exceptions"])
    selectors = set(EN.get("selector", {}))
    used = _literals(r'translation_key\s*=\s*"([a-z0-9_]+)"')
    missing = {key for key in used if key not in entity_keys | exceptions | selectors}
    assert not missing


def test_exception_placeholders_are_provided() -> None:
    """An exception message's placeholders appear as translation_placeholders keys somewhere."""
    provided = _literals(r'"([a-z_]+)":') | _literals(r"\b([a-z_]+)=")
    for key, value in EN["exceptions"].items():
        for placeholder in re.findall(r"{(\w+)}", value["message"]):
            assert placeholder in provided, (key, placeholder)


def test_config_flow_strings_exist() -> None:
    """Steps, errors and abort reasons the flows use are translated."""
    steps = set(EN["config"]["step"]) | set(EN["options"]["step"])
    for step in _literals(r'step_id\s*=\s*"([a-z0-9_]+)"'):
        assert step in steps, step
    errors = set(EN["config"]["error"]) | set(EN["options"].get("error", {}))
    for error in _literals(r'errors\[[^\]]+\]\s*=\s*"([a-z0-9_]+)"'):
        assert error in errors, error
    aborts = set(EN["config"]["abort"])
    for reason in _literals(r'reason\s*=\s*"([a-z0-9_]+)"'):
        assert reason in aborts, reason
    # Every family is a menu option of the first step.
    from custom_components.switchboard.families import FAMILIES

    assert set(EN["config"]["step"]["user"]["menu_options"]) == set(FAMILIES)


@pytest.mark.parametrize("platform", sorted(EN["entity"]))
def test_entity_icons_refer_to_translated_entities(platform: str) -> None:
    """icons.json only names entity translation keys that exist."""
    for key in ICONS.get("entity", {}).get(platform, {}):
        assert key in EN["entity"][platform], (platform, key)
