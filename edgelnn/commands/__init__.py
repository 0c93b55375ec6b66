"""CLI commands, one module each; each only parses arguments, calls the library and formats the result."""

from edgelnn.commands.bench import bench
from edgelnn.commands.bundle import bundle
from edgelnn.commands.compare import compare
from edgelnn.commands.control import control
from edgelnn.commands.demo import demo
from edgelnn.commands.export import export
from edgelnn.commands.models import models
from edgelnn.commands.targets import targets
from edgelnn.commands.tasks import tasks
from edgelnn.commands.train import evaluate, train

COMMANDS = [models, tasks, train, evaluate, export, targets, bench, bundle, compare, control, demo]
