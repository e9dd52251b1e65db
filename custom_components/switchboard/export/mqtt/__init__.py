"""The MQTT bridge: every Switchboard device on the user's broker (``bridge.py``)."""
