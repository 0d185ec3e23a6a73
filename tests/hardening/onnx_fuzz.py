"""Fuzzed ONNX models for the hardening tests of the loader and lowering (issue 17, part 1).

Seeds: tiny untrained zoo models (an MLP with binarized input, one with integer input, a conv
net with -1 padding and a max pool, a residual net with an add-join), exported by hwbnn's own
exporter with random BatchNorm statistics (so some channels are decreasing). Exporting takes
about a second; nothing is trained.

Mutations (hypothesis strategies, each a :class:`~onnx_worker.Case`):

- :func:`graph_cases`: one to three structural edits of a seed: renamed node inputs and
  outputs (also to existing tensors: duplicate producers, cycles), dropped, duplicated, moved
  or added nodes, swapped inputs, changed op types, domains, attributes (values, types,
  unknown ones), dimensions and element types, NaN/Inf/huge initializer values (BatchNorm
  parameters more often), initializer shapes, opsets and IR versions, the
  ``hwbnn.input_levels`` metadata, extra or missing graph inputs and outputs, Constant nodes
  (also sparse ones of huge dense shape);
- :func:`external_cases`: initializers moved to external data files inside the model's folder
  (must compile and agree), reached by a detour (``sub/..``, a symbolic link: refused, as
  onnx refuses them), outside it (``../``, absolute paths, symbolic links: must be refused,
  and the sentinel file outside must not be opened), missing, too short, with bad offsets and
  lengths;
- :func:`byte_cases`: bit flips, truncation, overwritten, deleted, inserted and repeated bytes,
  names and metadata made invalid UTF-8.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from hypothesis import strategies as st
from onnx import AttributeProto, TensorProto, helper, numpy_helper
from onnx_worker import MODEL, OUTSIDE_FILE, Case

Draw = Callable[..., Any]

INPUT_LEVELS_KEY = "hwbnn.input_levels"
INTS = [-(2**63), -7, -1, 0, 1, 2, 3, 5, 2**31, 2**62]
FLOATS = [math.nan, math.inf, -math.inf, -1.0, 0.0, 5e-45, 1e30, 3.5]
STRINGS = [b"", b"reflect", b"edge", b"NOTSET", b"SAME_UPPER", b"\xff\xfe"]
DIMS = [0, 1, 2, 3, 5, 8, 1000, 2**20, 2**31, 2**40, 2**62]
DTYPES = [0, 2, 3, 5, 6, 7, 8, 9, 10, 11, 16, 999]
VALUES = [math.nan, math.inf, -math.inf, 1e38, -1e38, 0.0, 5e-45, 3e9]
OPSETS = [-1, 0, 1, 6, 7, 9, 11, 12, 13, 17, 21, 23, 25, 26, 30, 99]
IR_VERSIONS = [-1, 0, 1, 3, 4, 6, 7, 8, 9, 10, 11, 12, 99]
LEVELS = ["", "abc", "2.5", "1", "0", "-3", "1e9", "2", "3", "17", "256", "65536", "65537",
          "99999999999999999999", " 5", "5\n", "0x11", "\u0665"]  # fmt: skip
OPS = ["Relu", "Sign", "Loop", "If", "Expand", "ConstantOfShape", "Tile", "Conv", "MatMul",
       "Identity", "Gemm", "NoSuchOp", "Quant", "BipolarQuant", "Concat", "Split", "Add",
       "Transpose", "Reshape", "MaxPool", "BatchNormalization", "Pad"]  # fmt: skip
DOMAINS = ["", "ai.onnx", "qonnx.custom_op.general", "finn.custom_op.general", "com.microsoft",
           "bogus"]  # fmt: skip


def export_seeds(directory: Path) -> dict[str, bytes]:
    """The seed models (see the module docstring), exported into ``directory``."""

    from hwbnn.export import export_qonnx_model
    from hwbnn.nn.conv import ConvConfig, ConvStage
    from hwbnn.nn.resnet import ResBlock, ResNetConfig
    from hwbnn.nn.zoo import build_model, mlp_config

    configs = {
        "mlp": mlp_config("digits-mlp", (1, 4, 4), 4, 5, 3, "binary", hidden=(8,)),
        "mlp_int": mlp_config("digits-mlp", (1, 4, 4), 4, 5, 3, "integer", hidden=(8,)),
        "cnn": ConvConfig(
            (1, 6, 6), (ConvStage(4, padding=1, pool=2),), (), 3, levels=5, input_bits=3
        ),  # fmt: skip
        "resnet": ResNetConfig(
            (1, 4, 4), ConvStage(4, padding=1), (ResBlock(4),), (), 3, levels=5, input_bits=3
        ),  # fmt: skip
    }
    seeds = {}
    for index, (name, config) in enumerate(configs.items()):
        path = directory / f"{name}.onnx"
        export_qonnx_model(spread_model(build_model, config, index), path)
        seeds[name] = path.read_bytes()
    return seeds


def spread_model(build_model: Callable[[Any], Any], config: Any, seed: int) -> Any:
    """``build_model(config)`` with seeded BatchNorm statistics spread wide (negative slopes
    too, so some rows are negated), as a trained model's are."""
    import torch

    torch.manual_seed(seed)
    model = build_model(config)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.weight.uniform_(-1.5, 1.5)  # negative slopes: negated rows
                module.bias.normal_(0.0, 1.0)
                module.running_mean.normal_(0.0, 2.0)
                module.running_var.uniform_(0.5, 3.0)
    return model


class Seeds(dict[str, bytes]):
    """Seed models by name, with a short repr (hypothesis prints strategies' arguments)."""

    def __repr__(self) -> str:
        return f"Seeds({sorted(self)})"


class _Skip(Exception):
    """The mutation does not apply to this model (e.g. it has no node with attributes)."""


def _pick(draw: Draw, items: list) -> Any:
    if not items:
        raise _Skip()
    return items[draw(st.integers(0, len(items) - 1))]


def _names(m: onnx.ModelProto) -> list[str]:
    g = m.graph
    names = [v.name for v in [*g.input, *g.output]] + [i.name for i in g.initializer]
    names += [o for n in g.node for o in n.output] + [i for n in g.node for i in n.input]
    return sorted(set(names)) or ["x"]


def _value_infos(m: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    return [*m.graph.input, *m.graph.output, *m.graph.value_info]


def rename_output(m: onnx.ModelProto, draw: Draw) -> str:
    node = _pick(draw, list(m.graph.node))
    node.output[0] = _pick(draw, _names(m))
    return f"{node.name} writes {node.output[0]}"


def rename_input(m: onnx.ModelProto, draw: Draw) -> str:
    node = _pick(draw, [n for n in m.graph.node if n.input] or list(m.graph.node))
    if not node.input:
        node.input.append("ghost")
    i = draw(st.integers(0, len(node.input) - 1))
    node.input[i] = _pick(draw, [*_names(m), "ghost", ""])
    return f"{node.name} input {i} = {node.input[i]!r}"


def drop_node(m: onnx.ModelProto, draw: Draw) -> str:
    i = draw(st.integers(0, len(m.graph.node) - 1))
    name = m.graph.node[i].name
    del m.graph.node[i]
    return f"dropped {name}"


def duplicate_node(m: onnx.ModelProto, draw: Draw) -> str:
    node = _pick(draw, list(m.graph.node))
    m.graph.node.insert(draw(st.integers(0, len(m.graph.node))), node)
    return f"duplicated {node.name}"


def move_node(m: onnx.ModelProto, draw: Draw) -> str:
    i = draw(st.integers(0, len(m.graph.node) - 1))
    node = onnx.NodeProto()
    node.CopyFrom(m.graph.node[i])
    del m.graph.node[i]
    m.graph.node.insert(draw(st.integers(0, len(m.graph.node))), node)
    return f"moved {node.name}"


def swap_inputs(m: onnx.ModelProto, draw: Draw) -> str:
    nodes = [n for n in m.graph.node if len(n.input) >= 2]
    node = _pick(draw, nodes)
    i, j = sorted(draw(st.lists(st.integers(0, len(node.input) - 1), min_size=2, max_size=2)))
    node.input[i], node.input[j] = node.input[j], node.input[i]
    return f"{node.name} inputs {i}, {j} swapped"


def make_cycle(m: onnx.ModelProto, draw: Draw) -> str:
    i = draw(st.integers(0, len(m.graph.node) - 1))
    j = draw(st.integers(i, len(m.graph.node) - 1))
    node, later = m.graph.node[i], m.graph.node[j]
    if not node.input:
        node.input.append("")
    node.input[0] = later.output[0]
    return f"{node.name} reads {later.name}'s output"


def _attribute_value(draw: Draw, attr: AttributeProto) -> AttributeProto:
    kind = attr.type
    if kind == AttributeProto.INT:
        return helper.make_attribute(attr.name, _pick(draw, INTS))
    if kind == AttributeProto.FLOAT:
        return helper.make_attribute(attr.name, _pick(draw, FLOATS))
    if kind == AttributeProto.STRING:
        return helper.make_attribute(attr.name, _pick(draw, STRINGS))
    if kind == AttributeProto.INTS:
        values = list(attr.ints)
        edit = draw(st.integers(0, 3))
        if edit == 0 and values:
            values[draw(st.integers(0, len(values) - 1))] = _pick(draw, INTS)
        elif edit == 1:
            values.append(_pick(draw, INTS))
        elif edit == 2:
            values = values[:-1]
        else:
            values = []
        return helper.make_attribute(attr.name, values, attr_type=AttributeProto.INTS)
    return helper.make_attribute(attr.name, _pick(draw, [2.5, 7, b"x", [1, 2]]))


def change_attribute(m: onnx.ModelProto, draw: Draw) -> str:
    nodes = [n for n in m.graph.node if n.attribute]
    node = _pick(draw, nodes)
    i = draw(st.integers(0, len(node.attribute) - 1))
    attr = node.attribute[i]
    edit = draw(st.integers(0, 3))
    if edit == 0:
        del node.attribute[i]
        return f"{node.name} lost attribute {attr.name}"
    if edit == 1:  # another type under the same name
        new = helper.make_attribute(attr.name, _pick(draw, [2.5, 7, b"x", [1, 2], [0.5]]))
    else:
        new = _attribute_value(draw, attr)
    node.attribute[i].CopyFrom(new)
    return f"{node.name}.{attr.name} = {helper.get_attribute_value(new)!r}"[:120]


def add_attribute(m: onnx.ModelProto, draw: Draw) -> str:
    node = _pick(draw, list(m.graph.node))
    name = _pick(draw, ["axis", "pads", "strides", "group", "kernel_shape", "epsilon",
                        "training_mode", "ceil_mode", "dilations", "bogus"])  # fmt: skip
    value = _pick(draw, [0, 1, 2, -1, 2**40, 0.5, [1, 1], [0, 0, 1, 1], b"x"])
    node.attribute.append(helper.make_attribute(name, value))
    return f"{node.name} gets {name}={value!r}"


def change_dim(m: onnx.ModelProto, draw: Draw) -> str:
    info = _pick(draw, _value_infos(m))
    shape = info.type.tensor_type.shape
    edit = draw(st.integers(0, 5))
    if edit == 0 or not shape.dim:
        shape.dim.add().dim_value = _pick(draw, DIMS)
        return f"{info.name} gets a dimension"
    k = draw(st.integers(0, len(shape.dim) - 1))
    if edit == 1:
        del shape.dim[k]
        return f"{info.name} loses dimension {k}"
    if edit == 2:
        shape.dim[k].dim_param = "N"
        return f"{info.name} dimension {k} symbolic"
    if edit == 3:
        info.type.tensor_type.ClearField("shape")
        return f"{info.name} shape unknown"
    shape.dim[k].dim_value = _pick(draw, DIMS)
    return f"{info.name} dimension {k} = {shape.dim[k].dim_value}"


def change_dtype(m: onnx.ModelProto, draw: Draw) -> str:
    dtype = _pick(draw, DTYPES)
    if draw(st.booleans()):
        info = _pick(draw, _value_infos(m))
        info.type.tensor_type.elem_type = dtype
        return f"{info.name} element type {dtype}"
    init = _pick(draw, list(m.graph.initializer))
    init.data_type = dtype
    return f"initializer {init.name} data type {dtype}"


def poison_values(m: onnx.ModelProto, draw: Draw) -> str:
    inits = [i for i in m.graph.initializer if i.data_type == TensorProto.FLOAT]
    bn = {name for n in m.graph.node if n.op_type == "BatchNormalization" for name in n.input}
    if draw(st.booleans()) and any(i.name in bn for i in inits):
        inits = [i for i in inits if i.name in bn]
    init = _pick(draw, inits)
    array = numpy_helper.to_array(init).copy()
    flat = array.reshape(-1)
    value = _pick(draw, VALUES)
    if draw(st.booleans()) or flat.size == 0:
        flat[...] = value
        where = "all"
    else:
        where = str(draw(st.integers(0, flat.size - 1)))
        flat[int(where)] = value
    init.CopyFrom(numpy_helper.from_array(array, init.name))
    return f"initializer {init.name}[{where}] = {value}"


def reshape_initializer(m: onnx.ModelProto, draw: Draw) -> str:
    init = _pick(draw, list(m.graph.initializer))
    dims = list(init.dims)
    edit = draw(st.integers(0, 3))
    if edit == 0 and dims:
        dims[-1] += 1
    elif edit == 1:
        dims = [_pick(draw, DIMS)]
    elif edit == 2:
        dims = [*dims, 1]
    else:
        dims = []
    del init.dims[:]
    init.dims.extend(dims)
    return f"initializer {init.name} dims {dims}"


def change_opset(m: onnx.ModelProto, draw: Draw) -> str:
    edit = draw(st.integers(0, 3))
    if edit == 0:
        m.ir_version = _pick(draw, IR_VERSIONS)
        return f"ir_version {m.ir_version}"
    if edit == 1 and len(m.opset_import) > 0:
        i = draw(st.integers(0, len(m.opset_import) - 1))
        domain = m.opset_import[i].domain
        del m.opset_import[i]
        return f"opset of domain {domain!r} removed"
    if edit == 2:
        m.opset_import.append(helper.make_opsetid(_pick(draw, DOMAINS), _pick(draw, OPSETS)))
        return "opset added"
    for opset in m.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = _pick(draw, OPSETS)
            return f"opset {opset.version}"
    return "no default opset"


def change_metadata(m: onnx.ModelProto, draw: Draw) -> str:
    props = [p for p in m.metadata_props if p.key == INPUT_LEVELS_KEY]
    edit = draw(st.integers(0, 3))
    if edit == 0:
        for p in props:
            m.metadata_props.remove(p)
        return "input levels removed"
    value = _pick(draw, LEVELS)
    if edit == 1 or not props:
        m.metadata_props.add(key=INPUT_LEVELS_KEY, value=value)
        return f"input levels {value!r} added"
    props[0].value = value
    return f"input levels {value!r}"


def change_graph_io(m: onnx.ModelProto, draw: Draw) -> str:
    g = m.graph
    name = _pick(draw, [*_names(m), "fresh"])
    edit = draw(st.integers(0, 5))
    if edit == 0:
        g.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
        return f"graph output {name} added"
    if edit == 1 and g.output:
        del g.output[draw(st.integers(0, len(g.output) - 1))]
        return "a graph output removed"
    if edit == 2:
        g.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 3]))
        return f"graph input {name} added"
    if edit == 3 and g.input:
        old = g.input[0].name
        g.input[0].name = name
        return f"graph input {old} renamed {name}"
    if edit == 4 and g.output:
        g.output[0].name = name
        return f"graph output renamed {name}"
    del g.input[:]
    return "graph inputs removed"


def change_op(m: onnx.ModelProto, draw: Draw) -> str:
    node = _pick(draw, list(m.graph.node))
    old = node.op_type
    if draw(st.booleans()):
        node.domain = _pick(draw, DOMAINS)
        return f"{node.name} domain {node.domain!r}"
    node.op_type = _pick(draw, OPS)
    return f"{node.name} {old} -> {node.op_type}"


def add_node(m: onnx.ModelProto, draw: Draw) -> str:
    g = m.graph
    op = _pick(draw, ["Identity", "Relu", "Neg", "Sign", "Add", "Concat", "Expand", "Tile", "Sub"])
    source = _pick(draw, _names(m))
    inputs = [source] if op in ("Identity", "Relu", "Neg", "Sign") else [source, source]
    out = f"added_{len(g.node)}"
    attrs = {"axis": 0} if op == "Concat" else {}
    node = helper.make_node(op, inputs, [out], name=f"Added_{op}", **attrs)
    position = draw(st.integers(0, len(g.node)))
    g.node.insert(position, node)
    readers = [n for n in g.node if source in n.input and n.name != node.name]
    if readers and draw(st.booleans()):
        reader = _pick(draw, readers)
        reader.input[list(reader.input).index(source)] = out
    return f"{op} of {source} inserted at {position}"


def constant_node(m: onnx.ModelProto, draw: Draw) -> str:
    g = m.graph
    i = draw(st.integers(0, len(g.initializer) - 1))
    init = TensorProto()
    init.CopyFrom(g.initializer[i])
    del g.initializer[i]
    if draw(st.booleans()):
        node = helper.make_node("Constant", [], [init.name], value=init)
        what = "Constant"
    else:
        values = numpy_helper.from_array(numpy_helper.to_array(init).reshape(-1)[:1])
        indices = numpy_helper.from_array(np.zeros(1, dtype=np.int64))
        sparse = helper.make_sparse_tensor(values, indices, [_pick(draw, [1, 2**20, 2**40])])
        node = helper.make_node("Constant", [], [init.name], sparse_value=sparse)
        what = "sparse Constant"
    g.node.insert(draw(st.integers(0, len(g.node))), node)
    return f"{init.name} as a {what}"


GRAPH_MUTATIONS = [rename_output, rename_input, drop_node, duplicate_node, move_node,
                   swap_inputs, make_cycle, change_attribute, add_attribute, change_dim,
                   change_dtype, poison_values, poison_values, reshape_initializer,
                   change_opset, change_metadata, change_graph_io, change_op, add_node,
                   constant_node]  # fmt: skip


@st.composite
def graph_cases(draw: Draw, seeds: dict[str, bytes]) -> Case:
    name = _pick(draw, sorted(seeds))
    model = onnx.ModelProto.FromString(seeds[name])
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        mutation = _pick(draw, GRAPH_MUTATIONS)
        try:
            steps.append(mutation(model, draw))
        except (_Skip, ValueError, TypeError, IndexError) as exc:  # on an already broken model
            steps.append(f"{mutation.__name__} skipped ({type(exc).__name__})")
    return Case(f"{name}: " + "; ".join(steps), {MODEL: model.SerializeToString()})


OUTSIDE = b"\x00\x00\x80\x3f" * 4096  # 1.0f, enough for any seed tensor
INSIDE = ["w.bin", "data/w.bin", "./w.bin"]
#: inside the folder, but by ways onnx itself refuses (``..``, a symbolic link): refused too
DETOURS = ["sub/../w.bin", "../model/w.bin", "alias.bin", "linkdir/w.bin"]
OUTSIDE_LOCATIONS = ["../outside.bin", "/etc/passwd", "/dev/zero", "/proc/self/environ",
                     "link.bin", "../../../../../../etc/hostname"]  # fmt: skip
BROKEN = ["missing.bin", "", "data", "w.bin\x00.txt"]


@st.composite
def external_cases(draw: Draw, seeds: dict[str, bytes]) -> Case:
    """One or two initializers moved to external data (see the module docstring)."""
    name = _pick(draw, sorted(seeds))
    model = onnx.ModelProto.FromString(seeds[name])
    inits = list(model.graph.initializer)
    chosen = {int(i) for i in draw(st.lists(st.integers(0, len(inits) - 1), min_size=1,
                                             max_size=2))}  # fmt: skip
    # "inside" (the costly kind: compiled and compared) last, where hypothesis draws less often
    kind = draw(st.sampled_from(["outside", "detour", "broken", "bounds", "inside"]))
    files = {OUTSIDE_FILE: OUTSIDE}
    links = {"model/link.bin": "../outside.bin", "model/alias.bin": "w.bin", "model/linkdir": "."}
    steps = []
    offset = 0
    blob = b""
    for i in sorted(chosen):
        init = inits[i]
        raw = numpy_helper.to_array(init).tobytes()
        init.ClearField("raw_data")
        for field in ("float_data", "int64_data", "int32_data", "double_data"):
            init.ClearField(field)
        init.data_location = TensorProto.EXTERNAL
        location = {
            "inside": lambda: _pick(draw, INSIDE),
            "detour": lambda: _pick(draw, DETOURS),
            "outside": lambda: _pick(draw, OUTSIDE_LOCATIONS),
            "broken": lambda: _pick(draw, BROKEN),
            "bounds": lambda: "w.bin",
        }[kind]()
        entries = {"location": location, "offset": str(offset), "length": str(len(raw))}
        if kind == "bounds":
            entries[draw(st.sampled_from(["offset", "length"]))] = str(
                _pick(draw, [-1, 2**40, 2**62, "abc", "", "1.5"])
            )
        for key, value in entries.items():
            init.external_data.add(key=key, value=value)
        steps.append(f"{init.name} at {location!r}" + (f" {entries}" if kind == "bounds" else ""))
        blob += raw
        offset += len(raw)
    files["model/w.bin"] = blob
    files["model/data/w.bin"] = blob
    if kind == "broken" and draw(st.booleans()):
        files["model/w.bin"] = blob[: len(blob) // 2]  # too short
        steps.append("w.bin truncated")
    files[MODEL] = model.SerializeToString()
    return Case(
        f"{name}: external " + "; ".join(steps),
        files,
        links,
        check=kind == "inside",
        refuse=kind != "inside",  # outside the folder, missing, or out of bounds
    )


@st.composite
def byte_cases(draw: Draw, seeds: dict[str, bytes]) -> Case:
    name = _pick(draw, sorted(seeds))
    data = bytearray(seeds[name])
    edit = draw(
        st.sampled_from(["flip", "truncate", "overwrite", "delete", "insert", "repeat", "text"])
    )
    at = draw(st.integers(0, len(data) - 1))
    size = draw(st.integers(1, 64))
    if edit == "flip":
        positions = draw(st.lists(st.integers(0, len(data) * 8 - 1), min_size=1, max_size=8))
        for bit in positions:
            data[bit // 8] ^= 1 << (bit % 8)
        what = f"bits {positions} flipped"
    elif edit == "truncate":
        del data[at:]
        what = f"truncated to {at} bytes"
    elif edit == "overwrite":
        fill = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]))
        data[at : at + size] = bytes([fill]) * len(data[at : at + size])
        what = f"{size} bytes at {at} = {fill:#x}"
    elif edit == "delete":
        del data[at : at + size]
        what = f"{size} bytes at {at} deleted"
    elif edit == "insert":
        data[at:at] = draw(st.binary(min_size=1, max_size=size))
        what = f"bytes inserted at {at}"
    elif edit == "text":  # a name or a metadata value that is not UTF-8
        model = onnx.ModelProto.FromString(seeds[name])
        texts = [n.name for n in model.graph.node] + [p.value for p in model.metadata_props]
        text = _pick(draw, [t for t in texts if t])
        position = data.find(text.encode())
        data[position] = 0x80
        what = f"{text!r} made not UTF-8"
    else:
        data[at:at] = data[at : at + size]
        what = f"{size} bytes at {at} repeated"
    return Case(f"{name}: {what}", {MODEL: bytes(data)})
