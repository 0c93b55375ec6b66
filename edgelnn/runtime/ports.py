"""One bound input or output of a TFLite model, shared by the LiteRT and TFLite Micro runners.

A runner binds each signature tensor once (its interpreter index, dtype, shape and, for an integer tensor,
scale and zero point) and per call only converts arrays: float32 values are quantized into the tensor's
integer dtype (``round(v / scale) + zero_point``, saturated to the dtype's range: int8 or int16) and integer
outputs dequantized back, so callers always see float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgelnn.artifact import TensorSpec

DYNAMIC = "batch"  # TensorSpec marker of a dynamic (-1) dimension


@dataclass(frozen=True)
class QuantizedPort:
    """One model tensor: where the interpreter has it, its dtype and shape, and its quantization.

    ``index``: the interpreter's tensor index (LiteRT) or the input/output position (TFLite Micro).
    ``shape``: the model's shape, -1 for a dynamic dimension. ``scale``/``zero_point``: None for a float
    tensor; set for a quantized integer one.
    """

    name: str
    index: int
    dtype: np.dtype
    shape: tuple[int, ...]
    scale: float | None = None
    zero_point: int | None = None

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    def encode(self, value: np.ndarray) -> np.ndarray:
        """Float array -> the tensor's dtype (quantize integer tensors, saturating at the dtype's range)."""
        if self.scale is None:
            if value.dtype == self.dtype and value.flags.c_contiguous:
                return value
            return np.ascontiguousarray(value, dtype=self.dtype)
        info = np.iinfo(self.dtype)
        q = np.rint(np.asarray(value, np.float32) / np.float32(self.scale)) + np.float32(self.zero_point)
        return np.clip(q, info.min, info.max).astype(self.dtype)

    def decode(self, value: np.ndarray) -> np.ndarray:
        """The tensor's values as float32 (dequantize integer tensors)."""
        if self.scale is None:
            return value if value.dtype == np.float32 else value.astype(np.float32)
        return (value.astype(np.float32) - np.float32(self.zero_point)) * np.float32(self.scale)

    def spec(self) -> TensorSpec:
        """The port as a manifest TensorSpec (a -1 dimension written as "batch")."""
        shape: list[int | str] = [DYNAMIC if d < 0 else int(d) for d in self.shape]
        return TensorSpec(name=self.name, shape=shape, dtype=np.dtype(self.dtype).name, scale=self.scale,
                          zero_point=self.zero_point)
