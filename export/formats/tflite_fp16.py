"""Store a .tflite model's float32 constants as float16, each behind a DEQUANTIZE op.

ai-edge-quantizer's float16 weight-only algorithm (FLOAT_CASTING) only rewrites the weights of
FULLY_CONNECTED / convolution / embedding ops. LTC has none of those (its parameters feed elementwise
MUL/ADD/DIV/LOGISTIC ops) and CfC/LRC also have float32 biases and elementwise constants, so this pass moves
every float32 constant with at least ``min_elements`` values to float16, the way TensorFlow's float16
converter option does: a float16 constant tensor plus a DEQUANTIZE op that produces the original float32
tensor, so every consumer and the float32 model I/O stay as they are.

Each converted constant costs ~100-150 bytes of flatbuffer bookkeeping (a tensor, an op, a buffer) and saves
2 bytes per value, so by default only constants of at least 64 values are converted (measured on an 8-unit
LTC: converting every vector grows the file from 16.4 KB to 17.1 KB, the >= 64 rule shrinks it to 16.1 KB;
a 32-unit LTC goes from 44.5 KB to 35.3 KB).
"""

from __future__ import annotations

import numpy as np


def _schema():
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    return schema, flatbuffer_utils


def _dequantize_opcode(model, schema, flatbuffer_utils) -> int:
    """Index of the DEQUANTIZE operator code, added if the model has none."""
    code = schema.BuiltinOperator.DEQUANTIZE
    for i, opcode in enumerate(model.operatorCodes):
        if flatbuffer_utils.get_builtin_code_from_operator_code(opcode) == code:
            return i
    opcode = schema.OperatorCodeT()
    opcode.builtinCode = code
    opcode.deprecatedBuiltinCode = code
    opcode.version = 3  # DEQUANTIZE version that takes float16 input
    model.operatorCodes.append(opcode)
    return len(model.operatorCodes) - 1


def _is_quantized(tensor) -> bool:
    quant = tensor.quantization
    return quant is not None and quant.scale is not None and len(quant.scale) > 0


def constants_to_fp16(content: bytes, min_elements: int = 64) -> tuple[bytes, int]:
    """(model with float32 constants stored as float16, number of constants converted)."""
    schema, flatbuffer_utils = _schema()
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    dequantize = None
    converted = 0
    half_buffers: dict[int, int] = {}  # float32 buffer -> its float16 copy (tensors may share a buffer)
    for subgraph in model.subgraphs:
        consumed = {i for op in subgraph.operators for i in (op.inputs or []) if i >= 0}
        new_ops = []
        for index, tensor in list(enumerate(subgraph.tensors)):
            buffer = model.buffers[tensor.buffer] if tensor.buffer else None
            if (tensor.type != schema.TensorType.FLOAT32 or buffer is None or buffer.data is None
                    or index not in consumed or _is_quantized(tensor)):
                continue
            values = np.frombuffer(bytes(bytearray(buffer.data)), dtype=np.float32)
            if values.size < min_elements:
                continue
            if dequantize is None:
                dequantize = _dequantize_opcode(model, schema, flatbuffer_utils)
            if int(tensor.buffer) not in half_buffers:
                half = schema.BufferT()
                half.data = np.frombuffer(values.astype(np.float16).tobytes(), dtype=np.uint8)
                model.buffers.append(half)
                half_buffers[int(tensor.buffer)] = len(model.buffers) - 1
            half_tensor = schema.TensorT()
            half_tensor.name = bytes(tensor.name or b"") + b"_fp16"  # the object API keeps names as bytes
            half_tensor.shape = list(tensor.shape) if tensor.shape is not None else []
            half_tensor.type = schema.TensorType.FLOAT16
            half_tensor.buffer = half_buffers[int(tensor.buffer)]
            subgraph.tensors.append(half_tensor)
            tensor.buffer = 0  # the float32 tensor is now computed, not stored
            op = schema.OperatorT()
            op.opcodeIndex = dequantize
            op.inputs = [len(subgraph.tensors) - 1]
            op.outputs = [index]
            new_ops.append(op)
            converted += 1
        subgraph.operators = new_ops + list(subgraph.operators)
    if not converted:
        return content, 0
    still_used = {t.buffer for sg in model.subgraphs for t in sg.tensors} | {m.buffer for m in model.metadata or []}
    for index in set(half_buffers) - still_used:
        model.buffers[index].data = None  # drop the float32 copy; an empty buffer stays as a placeholder
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), converted
