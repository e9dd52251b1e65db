"""Exporters: Switchboard's devices and Home Assistant's entities on other systems.

``sepl/`` is the SEPL platform connector (``docs/sepl.md``).
"""
