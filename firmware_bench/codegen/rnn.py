"""LSTM and GRU as C, with torch.nn.LSTMCell / GRUCell semantics (dt is ignored).

LSTM: gates = W_ih x + b_ih + W_hh h + b_hh, chunks (input, forget, cell, output); c' = f c + i g,
h' = o tanh(c'); flat state [h, c]. The two weights are stacked into one [4H, F+H] matrix over cat[x, h].
GRU: r, z = sigmoid(W_i x + b_i + W_h h + b_h) per chunk, n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
h' = (h - n) z + n (ATen's order); flat state [h].
With ``time_input`` (the time-aware baseline) the cell's input is [x, dt] instead of x.
"""

from __future__ import annotations

import numpy as np

from edgelnn.errors import UnsupportedModelError
from edgelnn.firmware_bench.codegen.emit import CBuilder, emit_projection
from edgelnn.firmware_bench.codegen.source import ModelSpec


def _cell_input(spec: ModelSpec, c: CBuilder, buffer: str) -> int:
    """Copy the cell's input (x, then dt when time-aware) to the start of ``buffer``; returns its width."""
    f = spec.input_size
    c.line(f"    eln_copy({buffer}, x, {f});")
    if spec.config.get("time_input"):
        c.line(f"    {buffer}[{f}] = dt;")
        return f + 1
    return f


def emit_lstm(spec: ModelSpec, c: CBuilder) -> None:
    hidden = int(spec.config["hidden_size"])
    w = np.concatenate([spec.tensor("cell.weight_ih"), spec.tensor("cell.weight_hh")], axis=1)
    b = spec.tensor("cell.bias_ih") + spec.tensor("cell.bias_hh")
    gates = c.dense("cell", w, b, "cat", "g")
    f = w.shape[1] - hidden  # cell input width: x, or [x, dt]
    c.lines(f"""
        {{  /* LSTM cell */
            float cat[{f + hidden}];
            float g[{4 * hidden}];""")
    if _cell_input(spec, c, "cat") != f:
        raise UnsupportedModelError(f"LSTM input weight has {f} columns; expected {spec.input_size} (+1 with dt)")
    c.lines(f"""
            eln_copy(cat + {f}, s, {hidden});
            {gates}
            for (int i = 0; i < {hidden}; ++i) {{
                float cell = eln_sigmoid(g[{hidden} + i]) * s[{hidden} + i]
                             + eln_sigmoid(g[i]) * eln_tanhf(g[{2 * hidden} + i]);
                s[{hidden} + i] = cell;
                s[i] = eln_sigmoid(g[{3 * hidden} + i]) * eln_tanhf(cell);
            }}
        }}""")
    emit_projection(spec, c, "s", hidden)


def emit_gru(spec: ModelSpec, c: CBuilder) -> None:
    hidden = int(spec.config["hidden_size"])
    gi = c.dense("ih", spec.tensor("cell.weight_ih"), spec.tensor("cell.bias_ih"), "xin", "gi")
    gh = c.dense("hh", spec.tensor("cell.weight_hh"), spec.tensor("cell.bias_hh"), "s", "gh")
    f = spec.tensor("cell.weight_ih").shape[1]  # cell input width: x, or [x, dt]
    c.lines(f"""
        {{  /* GRU cell */
            float xin[{f}];""")
    if _cell_input(spec, c, "xin") != f:
        raise UnsupportedModelError(f"GRU input weight has {f} columns; expected {spec.input_size} (+1 with dt)")
    c.lines(f"""
            float gi[{3 * hidden}];
            float gh[{3 * hidden}];
            {gi}
            {gh}
            for (int i = 0; i < {hidden}; ++i) {{
                float r = eln_sigmoid(gh[i] + gi[i]);
                float z = eln_sigmoid(gh[{hidden} + i] + gi[{hidden} + i]);
                float n = eln_tanhf(gi[{2 * hidden} + i] + gh[{2 * hidden} + i] * r);
                s[i] = (s[i] - n) * z + n;
            }}
        }}""")
    emit_projection(spec, c, "s", hidden)
