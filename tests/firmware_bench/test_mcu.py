"""Cortex-M measurement with PyPI packages only: zig cross-compile, unicorn emulation, counts and sizes.

Hand-written C kernels (a dot product, a small dense recurrent layer with a rational tanh, a .data/.bss
counter, a deep recursion, a deliberate fault, an undefined instruction, a runaway loop) are built once per
core (module-scoped fixture: the first build of a core on a fresh zig cache compiles compiler-rt, 4-17 s
here; later builds ~0.2 s) and checked against numpy (bound: atol + rtol * max|reference|). A generated CfC
(firmware_bench.codegen, tiny, random weights) replays the host build's golden vectors on every core.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import struct

import numpy as np
import pytest
from numeric import assert_close

from edgelnn.errors import (
    ArtifactLoadError,
    CompileError,
    EmulationFaultError,
    EmulatorSetupError,
    InstructionBudgetError,
    McuToolsMissingError,
    RuntimeInputError,
    SymbolNotFoundError,
    UnsupportedCoreError,
)
from edgelnn.firmware_bench.mcu import (
    CORES,
    compile_elf,
    core_for_profile,
    cyclemodel,
    get_core,
    measure_c_step,
    toolchain,
)
from edgelnn.firmware_bench.mcu.cyclemodel import CycleEstimator, instruction_class
from edgelnn.firmware_bench.mcu.elf import read_elf
from edgelnn.firmware_bench.mcu.emulator import Emulator, thumb_instruction_count
from edgelnn.targets.profile import load_profile

# The mcu modules import their packages lazily; the tests need them all.
MISSING = [p for p in ("ziglang", "unicorn", "elftools", "capstone") if importlib.util.find_spec(p) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"mcu packages not installed ({', '.join(MISSING)}): "
                                "pip install 'edgelnn[mcu]'")

N_DOT = 64
STACK = 8 * 1024
FRAME = 256  # bytes of the volatile array in each frame of deep()
BIG_FRAME = STACK + 5800  # one frame that jumps over the stack and a 4 KiB guard page below it

KERNELS = f"""
#define N_DOT {N_DOT}
static float dot(const float *a, const float *b, int n) {{
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}}
void dot_p(const float *a, const float *b, float *out) {{ out[0] = dot(a, b, N_DOT); }}

static int count = 5;          /* .data: must start at 5 */
static int history[16];        /* .bss: must start at 0 */
void counter_p(const int *index, int *out) {{
    history[count & 15] = count;
    count++;
    out[0] = count;
    out[1] = history[index[0] & 15];
}}

static int deep(int n, volatile char *prev) {{
    volatile char pad[{FRAME}];
    pad[0] = (char)n;
    pad[{FRAME} - 1] = prev ? prev[0] : 0;
    if (n <= 0) return pad[0] + pad[{FRAME} - 1];
    return deep(n - 1, pad) + pad[n & {FRAME - 1}];
}}
void deep_p(int *n) {{ n[0] = deep(n[0], 0); }}
void bigframe_p(int *i) {{ volatile char buf[{BIG_FRAME}]; buf[i[0]] = 1; i[0] = buf[i[0]]; }}

void bad_p(const float *x) {{ *(volatile float *)0x60000000 = x[0]; }}
void trap_p(void) {{ __builtin_trap(); }}
void spin_p(volatile int *flag) {{ while (*flag == 0) {{ }} }}

/* Known instructions (Thumb-1, so the same on every core): 12 executed, see test_cycle_model_by_hand. */
__attribute__((naked)) void cycles_p(void) {{
    __asm__ volatile(
        "sub sp, #8\\n"
        "ldr r1, [sp]\\n"
        "ldr r2, [sp, #4]\\n"
        "movs r0, #3\\n"
        "1:\\n"
        "subs r0, #1\\n"
        "bne 1b\\n"
        "add sp, #8\\n"
        "bx lr\\n");
}}
"""
ENTRIES = ["dot_p", "counter_p", "deep_p", "bigframe_p", "bad_p", "trap_p", "spin_p", "cycles_p"]

# A dense recurrent layer with the step signature of generated models: y = h' = h + dt * (tanh~(W [x, h] + b) - h).
F_IN, HIDDEN = 6, 16
_rng = np.random.default_rng(7)
W = (0.3 * _rng.standard_normal((HIDDEN, F_IN + HIDDEN))).astype(np.float32)
B = (0.1 * _rng.standard_normal(HIDDEN)).astype(np.float32)


def _c_array(name: str, a: np.ndarray) -> str:
    return f"static const float {name}[{a.size}] = {{" + ", ".join(f"{v:.9g}f" for v in a.ravel()) + "};\n"


DENSE = f"#define F {F_IN}\n#define H {HIDDEN}\n" + _c_array("W", W) + _c_array("B", B) + """
static float tanh_approx(float v) {        /* rational approximation, exact at 0, clipped at |v| >= 3 */
    if (v > 3.0f) return 1.0f;
    if (v < -3.0f) return -1.0f;
    float v2 = v * v;
    return v * (27.0f + v2) / (27.0f + 9.0f * v2);
}
void dense_step_p(const float *x, const float *dt, float *state, float *y) {
    float h[H];
    for (int i = 0; i < H; i++) {
        float acc = B[i];
        for (int j = 0; j < F; j++) acc += W[i * (F + H) + j] * x[j];
        for (int j = 0; j < H; j++) acc += W[i * (F + H) + F + j] * state[j];
        h[i] = state[i] + dt[0] * (tanh_approx(acc) - state[i]);
    }
    for (int i = 0; i < H; i++) { state[i] = h[i]; y[i] = h[i]; }
}
"""


def dense_reference(inputs: list[tuple[np.ndarray, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The dense layer's rollout in float64: outputs [T, H] and the final state."""
    h = np.zeros(HIDDEN)
    ys = []
    for x, dt in inputs:
        v = W.astype(np.float64) @ np.concatenate([x, h]) + B
        t = np.where(v > 3, 1.0, np.where(v < -3, -1.0, v * (27 + v * v) / (27 + 9 * v * v)))
        h = h + dt * (t - h)
        ys.append(h)
    return np.stack(ys), h


def dense_inputs(steps: int = 5) -> list[tuple[np.ndarray, float]]:
    rng = np.random.default_rng(3)
    return [(rng.standard_normal(F_IN).astype(np.float32), float(np.float32(0.1 + 0.05 * k))) for k in range(steps)]


@pytest.fixture(scope="module", params=sorted(CORES))
def built(request, tmp_path_factory):
    """(core name, ElfImage) of the kernels, built once per core."""
    path = compile_elf({"kernels.c": KERNELS}, request.param, ENTRIES, tmp_path_factory.mktemp(request.param))
    return request.param, read_elf(path)


def _floats(emu: Emulator, values: np.ndarray) -> int:
    address = emu.allocate(values.size * 4)
    emu.write(address, values.astype(np.float32).tobytes())
    return address


def _ints(emu: Emulator, values: list[int]) -> int:
    address = emu.allocate(4 * len(values))
    emu.write(address, struct.pack(f"<{len(values)}i", *values))
    return address


def _run_dot(core: str, image, seed: int = 0):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(N_DOT).astype(np.float32), rng.standard_normal(N_DOT).astype(np.float32)
    emu = Emulator(image, core, stack_bytes=STACK)
    pa, pb, out = _floats(emu, a), _floats(emu, b), emu.allocate(4)
    result = emu.call("dot_p", [pa, pb, out])
    return emu, result, np.frombuffer(emu.read(out, 4), np.float32)[0], float(a.astype(np.float64) @ b)


def test_dot_product_matches_numpy(built):
    core, image = built
    _, result, got, ref = _run_dot(core, image)
    assert_close(got, ref, what=f"dot on {core}")
    assert N_DOT < result.instructions < 1_000_000
    # capstone's disassembly of the executed blocks finds exactly the instructions the block hook counted
    assert sum(CycleEstimator(image, core).estimate(result).by_class.values()) == result.instructions


def test_instruction_counts_are_deterministic(built):
    core, image = built
    emu, first, _, _ = _run_dot(core, image)
    second = emu.call("dot_p", [_floats(emu, np.ones(N_DOT)), _floats(emu, np.ones(N_DOT)), emu.allocate(4)])
    _, fresh, _, _ = _run_dot(core, image)
    assert first.instructions == fresh.instructions
    assert first.blocks == fresh.blocks and first.taken == fresh.taken
    if get_core(core).float_abi == "hard":  # FPU code has no data-dependent branches here
        assert second.instructions == first.instructions


def test_hard_float_uses_vfp_and_soft_float_calls_compiler_rt(built):
    core, image = built
    _, result, _, _ = _run_dot(core, image)
    by_class = CycleEstimator(image, core).estimate(result).by_class
    if get_core(core).float_abi == "hard":
        assert "__aeabi_fadd" not in image.functions and "__aeabi_fmul" not in image.functions
        # a VMUL + VADD (M4) or a VFMA (M7: clang contracts there) per term
        assert by_class.get("fp", 0) + by_class.get("fp_mac", 0) >= N_DOT
    else:
        assert {"__aeabi_fadd", "__aeabi_fmul"} <= set(image.functions)
        assert by_class.get("fp", 0) == 0 and by_class.get("fp_mac", 0) == 0


def test_data_starts_initialised_and_bss_zeroed(built):
    core, image = built
    assert image.size_of("data") >= 4 and image.size_of("bss") >= 16 * 4
    assert image.flash_bytes == image.size_of("text") + image.size_of("rodata") + image.size_of("data")
    assert image.static_ram_bytes == image.size_of("data") + image.size_of("bss")
    emu = Emulator(image, core, stack_bytes=STACK)
    index, out = _ints(emu, [9]), emu.allocate(8)
    emu.call("counter_p", [index, out])
    assert struct.unpack("<2i", emu.read(out, 8)) == (6, 0)  # count was 5; history[9] still zero
    emu.write(index, struct.pack("<i", 5))
    emu.call("counter_p", [index, out])
    assert struct.unpack("<2i", emu.read(out, 8)) == (7, 5)  # the first call wrote history[5] = 5


def test_stack_high_water_mark(built):
    core, image = built
    emu = Emulator(image, core, stack_bytes=STACK)
    n = _ints(emu, [4])
    result = emu.call("deep_p", [n])
    assert 5 * FRAME <= result.stack_bytes < STACK  # five frames of deep() (n = 4..0)
    emu.write(n, struct.pack("<i", 12))
    deeper = emu.call("deep_p", [n])
    assert deeper.stack_bytes > result.stack_bytes + 7 * FRAME


def test_stack_overflow_is_a_named_fault(built):
    core, image = built
    emu = Emulator(image, core, stack_bytes=STACK)
    with pytest.raises(EmulationFaultError, match="stack overflow"):
        emu.call("deep_p", [_ints(emu, [STACK // FRAME + 4])])


def test_one_frame_larger_than_the_stack_is_a_stack_overflow(built):
    core, image = built
    emu = Emulator(image, core, stack_bytes=STACK)
    with pytest.raises(EmulationFaultError, match="stack overflow"):
        emu.call("bigframe_p", [_ints(emu, [0])])


def test_bad_access_and_undefined_instruction_name_pc_and_function(built):
    core, image = built
    emu = Emulator(image, core, stack_bytes=STACK)
    with pytest.raises(EmulationFaultError, match=r"bad_p on .* pc 0x0800[0-9a-f]{4} in bad_p: bad memory access, "
                                                  r"write to unmapped memory at 0x60000000"):
        emu.call("bad_p", [_floats(emu, np.ones(1))])
    with pytest.raises(EmulationFaultError, match=r"in trap_p: (undefined instruction|hard fault)"):
        emu.call("trap_p")
    # The emulator stays usable after a fault.
    assert emu.call("counter_p", [_ints(emu, [0]), emu.allocate(8)]).instructions > 0


def test_runaway_loop_stops_at_the_budget(built):
    core, image = built
    emu = Emulator(image, core, stack_bytes=STACK)
    flag = _ints(emu, [0])
    with pytest.raises(InstructionBudgetError, match=r"spin_p on .* budget of 100,000 instructions .* in spin_p"):
        emu.call("spin_p", [flag], instruction_budget=100_000)
    emu.write(flag, struct.pack("<i", 1))  # the same loop with its exit condition met returns
    assert emu.call("spin_p", [flag], instruction_budget=100_000).instructions < 100


def test_unknown_function_is_named(built):
    core, image = built
    with pytest.raises(SymbolNotFoundError, match="no_such_p"):
        Emulator(image, core).call("no_such_p")


def test_cycle_model_by_hand(built):
    core, image = built
    result = Emulator(image, core).call("cycles_p")
    assert result.instructions == 12  # sub, ldr, ldr, movs, 3 x (subs, bne), add, bx
    estimate = CycleEstimator(image, core).estimate(result)
    assert estimate.by_class == {"alu": 6, "load": 2, "branch": 4}
    # M4/M7: alu 6 + ldr 2 + pipelined ldr 1 + 4 branches + 2 taken bne x 2 refill + bx refill 2 = 19.
    # M0+: alu 6 + ldr 2 + ldr 2 + 4 branches + 2 taken bne x 1 + bx 1 = 17.
    assert estimate.cycles == {"m4": 19, "m7": 19, "m0plus": 17}[get_core(core).cycle_model]


IT_BLOCK = """
__attribute__((naked)) void it_p(void) {
    __asm__ volatile("movs r0, #0\\n cmp r0, #1\\n ite eq\\n moveq r1, #1\\n movne r1, #2\\n bx lr\\n");
}
"""


@pytest.mark.parametrize("core", ["cortex-m4f", "cortex-m7"])
def test_instructions_skipped_by_an_it_block_are_counted(core, tmp_path):
    image = read_elf(compile_elf({"it.c": IT_BLOCK}, core, ["it_p"], tmp_path))
    result = Emulator(image, core).call("it_p")
    assert result.instructions == 6  # moveq does not execute, but it is issued (and takes a cycle)


def test_bad_emulator_settings_and_files_are_named(built, tmp_path):
    core, image = built
    emu = Emulator(image, core)
    with pytest.raises(EmulatorSetupError, match="at most 4"):
        emu.call("dot_p", [0, 0, 0, 0, 0])
    with pytest.raises(EmulatorSetupError, match="instruction_budget"):
        emu.call("dot_p", [0, 0, 0], instruction_budget=0)
    with pytest.raises(EmulatorSetupError, match="stack_bytes"):
        Emulator(image, core, stack_bytes=100)
    (tmp_path / "not.elf").write_bytes(b"plain text, not an ELF")
    with pytest.raises(ArtifactLoadError, match="not an ELF"):
        read_elf(tmp_path / "not.elf")


def test_thumb_instruction_count_decodes_widths():
    # movs r0, #1 (16-bit); movw r1, #0 (32-bit: 0xf240 0x0100); bx lr (16-bit)
    assert thumb_instruction_count(bytes.fromhex("0120" "40f20001" "7047")) == 3


def test_instruction_classes():
    assert instruction_class("vfma") == "fp_mac" and instruction_class("vmla") == "fp_mac"
    assert instruction_class("vadd") == "fp" and instruction_class("vdiv") == "fp_div"
    assert instruction_class("ldr") == "load" and instruction_class("vldr") == "load"
    assert instruction_class("strd") == "store" and instruction_class("pop") == "multi"
    assert instruction_class("b") == "branch" and instruction_class("mla") == "mac"
    assert instruction_class("adds") == "alu"


def test_compile_error_quotes_the_compiler(tmp_path):
    with pytest.raises(CompileError, match=r"(?s)cortex-m4f failed:.*broken\.c:2.*error"):
        compile_elf({"broken.c": "void f_p(void) {\n  int x = ;\n}\n"}, "cortex-m4f", ["f_p"], tmp_path)
    assert list(tmp_path.iterdir()) == []  # no ELF, no temporary build directory


def test_missing_entry_symbol_is_a_compile_error(tmp_path):
    with pytest.raises(CompileError, match="missing_p"):
        compile_elf({"k.c": "void f_p(float *y) { y[0] = 1.0f; }\n"}, "cortex-m0plus", ["f_p", "missing_p"],
                    tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_ziglang_names_the_extra(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(toolchain.importlib.util, "find_spec", lambda name, *a: None if name == "ziglang"
                        else real(name, *a))
    with pytest.raises(McuToolsMissingError, match=r"pip install 'edgelnn\[mcu\]'"):
        compile_elf({"k.c": "void f_p(void) {}\n"}, "cortex-m4f", ["f_p"], tmp_path)


def test_cores_of_the_shipped_mcu_profiles():
    expected = {"stm32f4": "cortex-m4f", "stm32h7": "cortex-m7", "nrf52840": "cortex-m4f", "rp2040": "cortex-m0plus"}
    for target, core in expected.items():
        assert core_for_profile(load_profile(target)).name == core
    with pytest.raises(UnsupportedCoreError, match="not a microcontroller"):
        core_for_profile(load_profile("cpu"))
    with pytest.raises(UnsupportedCoreError, match="valid cores"):
        get_core("cortex-m3")


@pytest.mark.parametrize("target", ["stm32f4", "stm32h7", "rp2040"])
def test_measure_dense_step_against_numpy_and_budgets(target, tmp_path):
    inputs = dense_inputs()
    report = measure_c_step({"dense.c": DENSE}, "dense_step_p", None, inputs, HIDDEN, HIDDEN, target,
                            build_dir=tmp_path)
    ys, h = dense_reference(inputs)
    assert_close(report.outputs, ys, what=f"dense on {target}")
    assert_close(report.final_state, h, what=f"dense state on {target}")
    profile = load_profile(target)
    assert report.core == core_for_profile(profile).name and report.steps == len(inputs)
    macs = HIDDEN * (F_IN + HIDDEN)
    assert min(report.instructions) > macs
    assert report.cycles is not None and all(c >= i for c, i in zip(report.cycles, report.instructions))
    assert report.time_us_mean == pytest.approx(report.cycles_mean / profile.clock_mhz)
    assert report.flash_bytes >= W.nbytes + B.nbytes  # the weights stay in flash
    assert report.state_bytes == 4 * HIDDEN and report.io_bytes == 4 * (F_IN + 1 + HIDDEN)
    assert 0 < report.stack_bytes < 16 * 1024
    assert report.ram_bytes == report.static_ram_bytes + report.stack_bytes + report.state_bytes + report.io_bytes
    assert report.fits is True and report.verdict.startswith(f"fits {target}")
    summary = report.to_dict()
    assert summary["instructions_per_step"]["max"] == max(report.instructions)
    assert summary["cycles_per_step_estimate"]["model"] == get_core(report.core).cycle_model
    assert (tmp_path / f"dense_step_p-{report.core}.elf").is_file()


def test_measure_reports_over_budget_and_no_cycles_without_capstone(monkeypatch):
    monkeypatch.setattr(cyclemodel, "capstone_available", lambda: False)
    tiny = dataclasses.replace(load_profile("stm32f4"), ram_bytes=256, flash_bytes=1 << 20)
    report = measure_c_step({"dense.c": DENSE}, "dense_step_p", "cortex-m4f", dense_inputs(2), HIDDEN, HIDDEN, tiny)
    assert report.fits_ram is False and report.fits_flash is True and report.fits is False
    assert report.verdict.startswith("does not fit stm32f4") and "(over)" in report.verdict
    assert report.cycles is None and report.time_us_mean is None
    assert report.to_dict()["cycles_per_step_estimate"] is None


def _tiny_cfc_export(folder):
    """A tiny random-weight CfC (3 inputs, hidden 8, backbone 16) as a minimal export directory."""
    import torch
    from firmware_exports import write_minimal_export

    from edgelnn.models.registry import build_model, make_config

    torch.manual_seed(0)
    return write_minimal_export(build_model(make_config("cfc", 3, 8, backbone_units=16, proj_size=2)).eval(), folder)


@pytest.fixture(scope="module")
def cfc_golden(tmp_path_factory):
    """(generated C source, inputs, host-build outputs [T, O], host-build final state) of a tiny CfC."""
    from edgelnn.firmware_bench.codegen import generate
    from edgelnn.firmware_bench.host import CStepRunner

    folder = _tiny_cfc_export(tmp_path_factory.mktemp("cfc") / "export")
    src, runner = generate(folder, "fp32"), CStepRunner.from_export(folder)
    rng = np.random.default_rng(1)
    inputs = [(rng.standard_normal(src.input_size).astype(np.float32), np.float32(rng.uniform(0.02, 2.0)))
              for _ in range(20)]
    state, ys = np.zeros((1, src.state_size), np.float32), []
    for x, dt in inputs:
        y, state = runner(x[None], state, np.full((1, 1), dt, np.float32))
        ys.append(y[0])
    return src, inputs, np.stack(ys), state[0]


@pytest.mark.parametrize("core", sorted(CORES))
def test_generated_cfc_replays_the_host_build(core, cfc_golden):
    src, inputs, ys, state = cfc_golden
    assert ys.std() > 1e-3  # a moving reference
    report = measure_c_step(src.files, src.step_symbol, core, inputs, src.state_size, src.output_size, "stm32h7")
    assert_close(report.outputs, ys, what=f"generated CfC outputs on {core}")
    assert_close(report.final_state, state, what=f"generated CfC state on {core}")
    assert report.fits is True


@pytest.mark.parametrize("inputs, match", [
    ([], "at least one"),
    ([(np.zeros(F_IN), 0.0)], "dt > 0"),
    ([(np.zeros(F_IN), 0.1), (np.zeros(F_IN + 1), 0.1)], "same, non-zero count"),
    ([(np.full(F_IN, np.nan), 0.1)], "finite"),
    ([(np.zeros(F_IN), [0.1, 0.2])], "one per step"),
])
def test_measure_rejects_unusable_inputs(inputs, match):
    with pytest.raises(RuntimeInputError, match=match):
        measure_c_step({"dense.c": DENSE}, "dense_step_p", "cortex-m4f", inputs, HIDDEN, HIDDEN, "stm32f4")
