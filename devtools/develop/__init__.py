"""The development stack behind ``scripts/develop``: emulators and Home Assistant.

See :mod:`devtools.develop.orchestrator` for the interactive run and ``--check``, and the
modules it names for the stacks, Home Assistant and the report.
"""
