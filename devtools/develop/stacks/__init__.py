"""The stacks of the development run, one module per family; :data:`STACKS` lists them.

See :mod:`devtools.develop.stack` for what a stack is and how to add one.
"""

from collections.abc import Callable

from devtools.develop.stack import Stack
from devtools.develop.stacks.indi import IndiStack
from devtools.develop.stacks.maxsmart import MaxSmartStack
from devtools.develop.stacks.meross import MerossStack
from devtools.develop.stacks.midea import MideaStack
from devtools.develop.stacks.mqtt import MqttStack
from devtools.develop.stacks.sepl import SeplStack

STACKS: list[Callable[[], Stack]] = [
    MaxSmartStack,
    MerossStack,
    IndiStack,
    SeplStack,
    MideaStack,
    MqttStack,
]
"""The registry: one factory per family (see the module docstring); started in this order."""
