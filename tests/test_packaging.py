"""What hassfest and the HACS validator check upstream, checked here.

Manifest keys and pins, hacs.json keys, services.yaml against the registered services, and
translations against the keys the code uses (translation keys, config-flow steps, errors and
abort reasons, service fields, icons).
"""

import ast
import json
from pathlib import Path
import re
from typing import Any

import homeassistant.components
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


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string of a translation tree with its dotted path."""
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _strings(value, f"{path}.{key}")]
    return [(path.lstrip("."), node)] if isinstance(node, str) else []


def test_translation_strings_have_no_markup() -> None:
    """No string holds ``<...>``: the frontend parses it as markup (issue 12, item 1).

    ``<base>/<area>`` rendered as "Translation error: UNCLOSED_TAG" in every entry's options.
    """
    for file in sorted((COMPONENT / "translations").glob("*.json")):
        strings = _strings(json.loads(file.read_text()))
        assert strings
        markup = [(path, text) for path, text in strings if re.search(r"<[^<>]*>", text)]
        assert not markup, f"{file.name}: {markup}"


def test_translation_keys_used_in_code_exist() -> None:
    """Every translation_key literal is in ``entity``, ``exceptions``, ``issues`` or a selector."""
    entity_keys = {key for platform in EN["entity"].values() for key in platform}
    exceptions = set(EN["exceptions"])
    selectors = set(EN.get("selector", {}))
    issues = set(EN.get("issues", {}))
    used = _literals(r'translation_key\s*=\s*"([a-z0-9_]+)"')
    missing = {key for key in used if key not in entity_keys | exceptions | selectors | issues}
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
    # Every family, and the SEPL platform connector, is a menu option of the first step.
    from custom_components.switchboard.export.sepl.const import EXPORTER_SEPL
    from custom_components.switchboard.families import FAMILIES

    assert set(EN["config"]["step"]["user"]["menu_options"]) == {*FAMILIES, EXPORTER_SEPL}


@pytest.mark.parametrize("platform", sorted(EN["entity"]))
def test_entity_icons_refer_to_translated_entities(platform: str) -> None:
    """icons.json only names entity translation keys that exist."""
    for key in ICONS.get("entity", {}).get(platform, {}):
        assert key in EN["entity"][platform], (platform, key)


# -- quality_scale.yaml ------------------------------------------------------------------------

QUALITY_SCALE: dict[str, Any] = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text())[
    "rules"
]
CORE_COMPONENTS = Path(homeassistant.components.__file__).parent
README = (ROOT / "README.md").read_text()
HA_ERRORS = {
    "HomeAssistantError",
    "ServiceValidationError",
    "ConfigEntryNotReady",
    "ConfigEntryAuthFailed",
    "ConfigEntryError",
    "UpdateFailed",
    "ServiceNotSupported",
}


def _status(rule: str) -> str:
    value = QUALITY_SCALE[rule]
    return str(value if isinstance(value, str) else value["status"])


def _done(rule: str) -> bool:
    return _status(rule) == "done"


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    """Every call of a function or class called ``name`` (plain or attribute) in the code."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if called == name:
                    found.append((path, node))
    return found


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def test_quality_scale_lists_every_rule() -> None:
    """Every rule of the scale (the set every core integration on disk lists) is assessed;
    `exempt` and `todo` say why."""
    core = yaml.safe_load((CORE_COMPONENTS / "midea" / "quality_scale.yaml").read_text())
    assert set(QUALITY_SCALE) == set(core["rules"])
    for rule, value in QUALITY_SCALE.items():
        assert _status(rule) in {"done", "exempt", "todo"}, rule
        if _status(rule) != "done":
            assert isinstance(value, dict), rule
            assert len(value.get("comment", "")) > 20, rule


def test_quality_scale_exception_translations() -> None:
    """Every Home Assistant error raised carries a translation domain and a translated key."""
    if not _done("exception-translations"):
        pytest.skip("exception-translations is not claimed")
    checked = 0
    for name in HA_ERRORS:
        for path, call in _calls(name):
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            assert _keyword(call, "translation_domain") is not None, where
            key = _keyword(call, "translation_key")
            assert key is not None, where
            if isinstance(key, ast.Constant):
                assert key.value in EN["exceptions"], where
            checked += 1
    assert checked


def _translation_keys(path: Path, call: ast.Call) -> list[tuple[str, ast.expr | None]]:
    """The ``translation_key`` arguments that reach ``call``: the call's own, or, when it
    passes on a parameter of the function around it (a helper such as repairs.py's
    ``_async_raise``), the argument every caller of that function gives it."""
    key = _keyword(call, "translation_key")
    where = f"{path.relative_to(ROOT)}:{call.lineno}"
    if not isinstance(key, ast.Name):
        return [(where, key)]
    tree = ast.parse(path.read_text())
    helper = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.lineno <= call.lineno <= (node.end_lineno or node.lineno)
        and key.id in [arg.arg for arg in node.args.args]
    )
    position = [arg.arg for arg in helper.args.args].index(key.id)
    keys = []
    for caller_path, caller in _calls(helper.name):
        given = _keyword(caller, key.id)
        if given is None and len(caller.args) > position:
            given = caller.args[position]
        keys.append((f"{caller_path.relative_to(ROOT)}:{caller.lineno}", given))
    assert keys, where
    return keys


def test_quality_scale_repair_issues_translated() -> None:
    """Every repair issue created has a translated title and description, whether it is
    created directly or through a helper that passes its ``translation_key`` on."""
    calls = _calls("async_create_issue") + _calls("create_issue")
    if _done("repair-issues"):
        assert calls
    for path, call in calls:
        for where, key in _translation_keys(path, call):
            assert isinstance(key, ast.Constant), where
            issue = EN["issues"][key.value]
            assert issue["title"]
            assert issue.get("description") or issue.get("fix_flow"), key.value


def test_quality_scale_config_flows() -> None:
    """Each family's flow has the `unknown` path (logged, translated), a unique id, a
    reconfigure step; the family with credentials has reauthentication."""
    from custom_components.switchboard.families import FAMILIES

    assert EN["config"]["error"]["unknown"]
    for family in FAMILIES:
        source = (COMPONENT / "vendors" / family / "config_flow.py").read_text()
        if _done("config-flow-test-coverage"):
            assert re.search(r'errors\[[^\]]+\]\s*=\s*"unknown"', source), family
            assert "_LOGGER.exception" in source, family
        if _done("unique-config-entry"):
            assert "async_set_unique_id" in source, family
        if _done("reconfiguration-flow"):
            assert f"async_step_{family}_reconfigure" in source, family
    if _done("reauthentication-flow"):
        assert _literals(r"async def async_step_(\w+)_reauth\(")


def test_quality_scale_platforms() -> None:
    """PARALLEL_UPDATES in every platform; the base entity uses has_entity_name; no icon is
    hard-coded (icons come from icons.json)."""
    from custom_components.switchboard.descriptions import PLATFORMS
    from custom_components.switchboard.entity import SwitchboardEntity

    for platform in PLATFORMS:
        source = (COMPONENT / f"{platform.value}.py").read_text()
        assert re.search(r"^PARALLEL_UPDATES = \d+$", source, re.MULTILINE), platform
    if _done("has-entity-name"):
        assert re.search(
            r"^    _attr_has_entity_name = True$",
            (COMPONENT / "entity.py").read_text(),
            re.MULTILINE,
        )
        assert all(
            issubclass(cls, SwitchboardEntity) for cls in _platform_entity_classes(PLATFORMS)
        )
    if _done("icon-translations"):
        assert not _literals(r"\b(_attr_icon|icon)\s*=\s*\"mdi:")


def _platform_entity_classes(platforms: Any) -> list[type]:
    """The entity classes the platform modules define."""
    import importlib

    from homeassistant.helpers.entity import Entity

    classes = []
    for platform in platforms:
        module = importlib.import_module(f"custom_components.switchboard.{platform.value}")
        classes += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Entity)
            and value.__module__ == module.__name__
        ]
    assert classes
    return classes


def _registry_entries() -> list[dict[str, str | None]]:
    """Name fields of every entity registry entry in the entity snapshots."""
    entries = []
    for path in sorted(ROOT.glob("tests/*/snapshots/test_snapshots.ambr")):
        for block in re.findall(
            r"EntityRegistryEntrySnapshot\(\{(.*?)\n  \}\)", path.read_text(), re.S
        ):
            fields: dict[str, str | None] = {}
            for field in ("original_name", "translation_key", "original_device_class", "unique_id"):
                match = re.search(rf"\n    '{field}': (?:'([^']*)'|None|<[^>]*'([^']*)'>)", block)
                fields[field] = (match.group(1) or match.group(2)) if match else None
            entries.append(fields)
    return entries


def test_quality_scale_entity_translations() -> None:
    """In the entity snapshots, a name is translated, or comes from the device class, or is the
    device's main feature (no name), or is an INDI label sent by the server."""
    if not _done("entity-translations"):
        pytest.skip("entity-translations is not claimed")
    entries = _registry_entries()
    assert entries
    for entry in entries:
        if entry["translation_key"] or entry["original_name"] is None:
            continue
        name = str(entry["original_name"]).lower().replace(" ", "_")
        if name == entry["original_device_class"]:
            continue
        # INDI: "<host>:<port>/<device>_<VECTOR>[.<MEMBER>]", named from the server's labels.
        assert re.fullmatch(r"[^/]+/.+_[A-Z0-9_]+(\.[A-Z0-9_]+)?", str(entry["unique_id"])), entry


def test_quality_scale_packaging_claims() -> None:
    """The remaining claims that can be read from files."""
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    init = (COMPONENT / "__init__.py").read_text()
    if _done("brands"):
        assert (COMPONENT / "brand" / "icon.png").is_file()
    if _done("diagnostics"):
        assert (
            "async def async_get_config_entry_diagnostics"
            in (COMPONENT / "diagnostics.py").read_text()
        )
    if _done("integration-owner"):
        assert manifest["codeowners"]
    if _done("runtime-data"):
        assert "entry.runtime_data" in init
        assert not _literals(r"hass\.data\[DOMAIN\]")
    if _done("config-entry-unloading"):
        assert "async def async_unload_entry" in init
    if _done("stale-devices") or _status("stale-devices") == "todo":
        assert "async def async_remove_config_entry_device" in init
    if _done("stale-devices"):
        # Automatic removal: each family reading an account's whole list calls the helper.
        helper = "async_remove_stale_devices("
        assert "registry.async_remove_device(" in (COMPONENT / "entity.py").read_text()
        for family in ("meross/family.py", "midea/cloud.py"):
            assert helper in (COMPONENT / "vendors" / family).read_text(), family
    if _done("strict-typing"):
        assert re.search(r"^strict = true$", (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    if _done("inject-websession"):
        assert not _literals(r"aiohttp\.ClientSession\(|\bClientSession\(\)")
    if _done("test-coverage"):
        assert "--cov-fail-under=95" in (ROOT / "scripts" / "test").read_text()
    if _done("dependency-transparency"):
        assert all("==" in requirement for requirement in manifest["requirements"])


@pytest.mark.parametrize(
    ("rule", "heading"),
    [
        ("docs-high-level-description", "# Switchboard"),
        ("docs-supported-devices", "## Supported devices"),
        ("docs-installation-instructions", "## Installation"),
        ("docs-installation-parameters", "## Configuration"),
        ("docs-configuration-parameters", "### Options (every entry)"),
        ("docs-supported-functions", "## Entities"),
        ("docs-actions", "## Services"),
        ("docs-data-update", "## How data is updated"),
        ("docs-examples", "## Automation examples"),
        ("docs-use-cases", "## Use cases"),
        ("docs-known-limitations", "## Known limitations"),
        ("docs-troubleshooting", "## Troubleshooting"),
        ("docs-removal-instructions", "## Removal"),
    ],
)
def test_quality_scale_docs(rule: str, heading: str) -> None:
    """Each documentation rule claimed has its section in the README."""
    if not _done(rule):
        pytest.skip(f"{rule} is not claimed")
    assert re.search(rf"^{re.escape(heading)}$", README, re.MULTILINE), heading
    if rule == "docs-actions":
        for service in SERVICES:
            assert f"`switchboard.{service}`" in README or f"`{service}`" in README, service


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(COMPONENT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The integration's modules ``path`` imports (relative or absolute, at any level)."""
    package = (
        _module_name(path).split(".")
        if path.name == "__init__.py"
        else (_module_name(path).split(".")[:-1])
    )
    package = [part for part in package if part]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module or "").split(".")] if node.module else base
            elif node.module and node.module.startswith(f"custom_components.{DOMAIN}"):
                target = node.module.split(".")[2:]
            else:
                continue
            target = [part for part in target if part]
            found.add(".".join(target))
            found.update(".".join([*target, alias.name]) for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(f"custom_components.{DOMAIN}."):
                    found.add(".".join(alias.name.split(".")[2:]))
    return found


def test_no_import_cycles() -> None:
    """No module of the integration imports another in a cycle, not even under TYPE_CHECKING."""
    modules = {_module_name(path): path for path in SOURCES}
    graph = {
        name: {target for target in _imports(path) if target in modules and target != name}
        for name, path in modules.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles
