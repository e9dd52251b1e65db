"""SEPL platform connector: Home Assistant entities as devices of a SEPL gateway.

``client.py`` speaks the connector-client protocol (no Home Assistant imports);
``catalogue.py`` holds the device types the entities are exported as.
"""
