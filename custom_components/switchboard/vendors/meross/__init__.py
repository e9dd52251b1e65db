"""Meross plugs, strips and thermostats (cloud HTTP login, MQTT push over TLS)."""
