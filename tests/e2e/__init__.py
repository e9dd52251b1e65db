"""The browser test: a person's path through Home Assistant's frontend."""
