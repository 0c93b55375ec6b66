"""Specific error types, so callers (and the CLI) can tell one failure from another."""


class EdgelnnError(Exception):
    """Base class of every error edgelnn raises on purpose."""


class CheckpointError(EdgelnnError, ValueError):
    """A checkpoint file is missing, truncated, or does not match the model it describes."""


class ConversionError(EdgelnnError, ValueError):
    """A foreign model (e.g. from ncps) cannot be converted."""


class ExportError(EdgelnnError):
    """An export stage failed; nothing is written for a failed export."""


class ShapeError(ExportError, ValueError):
    """An exported artifact's inputs or outputs do not have the expected shapes (e.g. batch fixed at 1)."""


class ToleranceError(ExportError):
    """An artifact failed a verification bound (base of ParityError and MetricDropError)."""


class ParityError(ToleranceError):
    """A float artifact's outputs or state differ from PyTorch by more than atol + rtol * max|pytorch|."""


class MetricDropError(ToleranceError):
    """An int8 artifact's task metric dropped by more than --max-int8-drop."""


class RuntimeMissingError(ExportError):
    """The runtime or converter package a format needs is not installed."""


class ArtifactIntegrityError(EdgelnnError):
    """An artifact file's sha256 differs from the one its manifest records (tampered or replaced)."""


class ArtifactLoadError(EdgelnnError):
    """An artifact file is missing, truncated or otherwise cannot be opened by its runtime."""


class ArtifactNotFoundError(EdgelnnError, LookupError):
    """An export directory holds no artifact for the requested backend and precision."""


class RuntimeInputError(EdgelnnError, ValueError):
    """Input given to a loaded model is unusable: wrong shape or dtype, NaN/Inf, or dt <= 0."""


class McuToolsMissingError(EdgelnnError):
    """A package the Cortex-M measurement needs (ziglang, unicorn, pyelftools) is not installed."""


class UnsupportedCoreError(EdgelnnError, ValueError):
    """A Cortex-M core (or a target profile's core) that the firmware bench cannot build for."""


class EmulationFaultError(EdgelnnError):
    """The emulated firmware faulted: bad memory access, undefined instruction, hard fault or stack overflow."""


class InstructionBudgetError(EdgelnnError):
    """An emulated call ran past its instruction budget (a runaway loop), and was stopped."""


class TaskOptionError(EdgelnnError, ValueError):
    """A task loader option is unknown, of the wrong type, or out of range (the message names the option)."""


class OptionConflictError(EdgelnnError, ValueError):
    """Two settings contradict each other, e.g. ``--model cfc`` with a checkpoint that holds an LTC."""


class TrainStateError(CheckpointError):
    """A run's train_state.pt is truncated, corrupted or not a train state file (it is never executed)."""


class ManifestError(EdgelnnError, ValueError):
    """An export directory's manifest.json cannot be read as JSON (the message names the file)."""


class DataMismatchError(EdgelnnError, ValueError):
    """A data file does not fit a run's model (features, outputs, classes or task kind differ)."""


class OutputPathError(EdgelnnError, ValueError):
    """An output file cannot be written where it was asked for (checked before any work starts)."""


class InUseError(EdgelnnError):
    """A file or directory is locked by another process that is writing it; ``pid`` names that process."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid

    def __reduce__(self):  # keep ``pid`` when the error travels between processes (DDP ranks)
        return (type(self), (str(self), self.pid))


class OutputInUseError(InUseError):
    """Another export is writing the same output directory."""


class RunInUseError(InUseError):
    """Another training is writing the same run directory."""


class CheckpointMismatchError(CheckpointError):
    """A run's checkpoint holds another model than its config.json describes (e.g. two trainings wrote it)."""


class RunNotFoundError(EdgelnnError, FileNotFoundError):
    """No complete training run of the requested model exists (export it after training one)."""


class InputRangeWarning(UserWarning):
    """A loaded model was given an input outside the range its export declared valid (int8 clips there)."""


class UnsupportedModelError(EdgelnnError, ValueError):
    """A model option the C code generator does not support (e.g. a GELU backbone, an int8 precision)."""


class CompilerNotFoundError(RuntimeMissingError):
    """No C compiler for the host "c" backend: neither cc/gcc on PATH nor the ziglang package."""


class CompileError(EdgelnnError):
    """The C compiler rejected generated code; the message carries the compiler's first lines."""


class SymbolNotFoundError(EdgelnnError, LookupError):
    """A function or data object named by the caller is not in the firmware ELF."""


class PlantError(EdgelnnError, ValueError):
    """A control plant cannot be built: its simulator is missing, its model cannot load, or bad physics."""


class UnknownPlantError(PlantError, LookupError):
    """No registered control plant has that name (the message lists the valid ones)."""


class UnknownConditionError(EdgelnnError, ValueError):
    """A closed-loop test condition that the plant does not have (the message lists the valid ones)."""


class PolicyShapeError(EdgelnnError, ValueError):
    """An exported policy's input or output size does not fit the plant (the message gives both shapes)."""


class EmulatorSetupError(EdgelnnError, ValueError):
    """A Cortex-M emulator setting or call is unusable (stack size, instruction budget, argument count)."""


class GoldenTestError(EdgelnnError):
    """A build of generated C did not reproduce the export's golden vectors within their tolerance."""
