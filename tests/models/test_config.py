"""Model configs: validation at construction (errors name the setting and the allowed values) and JSON round trips."""

from __future__ import annotations

import json

import pytest

from edgelnn.models import (
    CfCConfig,
    GRUConfig,
    LRCConfig,
    LSTMConfig,
    LTCConfig,
    build_model,
    config_from_dict,
    config_from_json,
    list_models,
    make_config,
)

from .helpers import VARIANTS

AUTO_NCP = {"type": "auto_ncp", "units": 10, "output_size": 2}


@pytest.mark.parametrize(("kind", "options", "pattern"), [
    ("cfc", {"hidden_size": 0}, r"hidden_size=0 is not valid; it must be an integer >= 1"),
    ("gru", {"hidden_size": -3}, r"hidden_size=-3 is not valid; it must be an integer >= 1"),
    ("lstm", {"input_size": 0}, r"input_size=0 is not valid; it must be an integer >= 1"),
    ("ltc", {"hidden_size": 2.5}, r"hidden_size=2\.5 is not valid; it must be an integer >= 1"),
    ("lrc", {"hidden_size": True}, r"hidden_size=True is not valid"),
    ("cfc", {"proj_size": 0}, r"proj_size=0 is not valid; it must be an integer >= 1"),
    ("cfc", {"mode": "gated"}, r"mode='gated' is not valid; allowed values: default, no_gate, pure"),
    ("cfc", {"activation": "swish"},
     r"activation='swish' is not valid; allowed values: lecun_tanh, silu, relu, tanh, gelu"),
    ("cfc", {"backbone_layers": -1}, r"backbone_layers=-1 is not valid; it must be an integer >= 0"),
    ("cfc", {"backbone_units": 0}, r"backbone_units=0 is not valid; it must be an integer >= 1"),
    ("cfc", {"backbone_dropout": 1.0}, r"backbone_dropout=1\.0 is not valid; it must be in \[0, 1\)"),
    ("ltc", {"solver": "dopri5"}, r"solver='dopri5' is not valid; allowed values: fused, euler, rk4"),
    ("ltc", {"ode_unfolds": 0}, r"ode_unfolds=0 is not valid; it must be an integer >= 1"),
    ("lrc", {"ode_unfolds": 0}, r"ode_unfolds=0 is not valid; it must be an integer >= 1"),
    ("ltc", {"constraints": "relu"}, r"constraints='relu' is not valid; allowed values: softplus, clip"),
    ("ltc", {"input_mapping": "mlp"}, r"input_mapping='mlp' is not valid; allowed values: affine, linear, none"),
    ("lrc", {"output_mapping": "tanh"}, r"output_mapping='tanh' is not valid; allowed values: affine, linear, none"),
    ("lrc", {"elastance": "linear"},
     r"elastance='linear' is not valid; allowed values: asymmetric, symmetric, constant"),
    ("lrc", {"update": "implicit"}, r"update='implicit' is not valid; allowed values: explicit, hybrid"),
    ("cfc", {"wiring": {"type": "auto_ncp", "units": 10, "output_size": 8}},
     r"output_size=8 is not valid; AutoNCP needs output_size < units - 2 \(8\)"),
    ("ltc", {"wiring": {"type": "auto_ncp", "units": 10, "output_size": 2, "sparsity_level": 0.0}},
     r"sparsity_level=0\.0 is not valid; it must be in \[0\.1, 1\.0\]"),
    ("cfc", {"hidden_size": 12, "wiring": AUTO_NCP},
     r"wiring size mismatch: wiring has 10 units but hidden_size=12"),
    ("ltc", {"hidden_size": 8, "wiring": AUTO_NCP}, r"wiring size mismatch: wiring has 10 units but hidden_size=8"),
    ("ltc", {"wiring": {"type": "grid"}}, r"wiring type='grid' is not valid; allowed values: auto_ncp, "),
])
def test_bad_settings_raise_at_construction(kind, options, pattern):
    sizes = {"input_size": 3, "hidden_size": 10}
    sizes.update({k: options.pop(k) for k in list(options) if k in sizes})
    with pytest.raises(ValueError, match=pattern):
        make_config(kind, sizes["input_size"], sizes["hidden_size"], **options)


def test_config_classes_validate_directly():
    with pytest.raises(ValueError, match="mode='x'"):
        CfCConfig(3, 8, mode="x")
    with pytest.raises(ValueError, match="solver='x'"):
        LTCConfig(3, 8, solver="x")
    with pytest.raises(ValueError, match="ode_unfolds=0"):
        LRCConfig(3, 8, ode_unfolds=0)
    with pytest.raises(ValueError, match="hidden_size=0"):
        GRUConfig(3, 0)
    # replace() validates the copy again
    with pytest.raises(ValueError, match="ode_unfolds=-2"):
        LTCConfig(3, 8).replace(ode_unfolds=-2)
    assert LTCConfig(3, 8).replace(solver="rk4").solver == "rk4"


def test_unknown_kind_names_the_allowed_kinds():
    with pytest.raises(ValueError, match=r"model='transformer' is not valid; allowed values: cfc, ltc, lrc, lstm, gru"):
        make_config("transformer", 3, 8)
    with pytest.raises(ValueError, match=r"kind='rnn' is not valid; allowed values: cfc, gru, lrc, lstm, ltc"):
        config_from_dict({"kind": "rnn", "input_size": 3, "hidden_size": 8})
    with pytest.raises(ValueError, match=r"kind=None is not valid"):
        config_from_dict({"input_size": 3, "hidden_size": 8})
    assert list_models() == ["cfc", "ltc", "lrc", "lstm", "gru"]


def test_unknown_field_names_the_field_and_the_allowed_fields():
    with pytest.raises(ValueError, match=r"unknown ltc config field\(s\): backbone_units, modes; allowed fields: .*"
                                         r"ode_unfolds.*solver"):
        make_config("ltc", 3, 8, modes="pure", backbone_units=4)
    with pytest.raises(ValueError, match=r"unknown gru config field\(s\): mixed_memory; allowed fields: "
                                         r"hidden_size, input_size, proj_size"):
        config_from_json(json.dumps({"kind": "gru", "input_size": 3, "hidden_size": 8, "mixed_memory": True}))


def test_missing_required_field_or_non_object_config():
    with pytest.raises(ValueError, match=r"missing lstm config field\(s\): hidden_size"):
        config_from_dict({"kind": "lstm", "input_size": 3})
    with pytest.raises(ValueError, match=r"missing cfc config field\(s\): input_size, hidden_size"):
        config_from_dict({"kind": "cfc"})
    with pytest.raises(TypeError, match="must be a dict / JSON object, got list"):
        config_from_json("[1, 2]")


@pytest.mark.parametrize("label", list(VARIANTS))
def test_json_round_trip(label):
    kind, options = VARIANTS[label]
    config = make_config(kind, 3, 8, **options)
    text = config.to_json()
    data = json.loads(text)
    assert data["kind"] == kind and data["input_size"] == 3 and data["hidden_size"] == 8
    for key, value in options.items():
        assert data[key] == value
    again = config_from_json(text)
    assert type(again) is type(config) and again == config
    assert again.to_json() == text
    assert config_from_dict(config.to_dict()) == config
    assert build_model(again).config == config


def test_config_types_per_kind():
    expected = {"cfc": CfCConfig, "ltc": LTCConfig, "lrc": LRCConfig, "lstm": LSTMConfig, "gru": GRUConfig}
    for kind, cls in expected.items():
        config = make_config(kind, 2, 5)
        assert type(config) is cls and config.kind == kind
        assert type(build_model(config)).__name__.lower() == kind
