"""`edgelnn bundle`: the bundle builds with the host compiler through its Makefile fragment and CMake and passes
its golden test there; it builds for Cortex-M0+, M4F and M7 and passes its golden vectors in the emulator;
bad input is one named error and leaves nothing behind."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgelnn.artifact import sha256_of
from edgelnn.errors import (
    ArtifactLoadError,
    CompileError,
    CompilerNotFoundError,
    GoldenTestError,
    UnsupportedModelError,
)
from edgelnn.firmware_bench.bundle import make_bundle, mcu_available
from edgelnn.firmware_bench.golden_c import TEST_FILE, golden_test_c, run_golden_emulated
from edgelnn.firmware_bench.host import find_compiler

EXPECTED_FILES = {"cfc.h", "cfc.c", "edgelnn_math.h", "edgelnn_ops.h", TEST_FILE, "CMakeLists.txt",
                  "edgelnn_model.mk", "control_loop_example.c", "README.md"}
needs_mcu = pytest.mark.skipif(not mcu_available(), reason="mcu extra not installed (pip install 'edgelnn[mcu]')")


@pytest.fixture(scope="module")
def bundled(golden_export, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "cfc-bundle"
    result = make_bundle(golden_export, out)
    assert set(result.files) == EXPECTED_FILES and "PASS" in result.host_check
    assert bool(result.figures) == mcu_available()
    return out


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "edgelnn-bundle" in p.name or "edgelnn-old" in p.name)


def test_bundle_files_and_readme(bundled):
    assert {p.name for p in bundled.iterdir()} == EXPECTED_FILES
    readme = (bundled / "README.md").read_text()
    for text in ("cfc_step(const float *x, float dt", "cfc_reset", "control_loop_example.c", "Golden test", "PASS"):
        assert text in readme
    assert not _leftovers(bundled.parent)


def test_bundle_builds_with_its_makefile_fragment(bundled, tmp_path):
    cc = " ".join(find_compiler())
    (tmp_path / "Makefile").write_text(
        f"include {bundled}/edgelnn_model.mk\n"
        f"golden_test: $(CFC_SRCS) $(CFC_TEST_SRCS) $(CFC_HEADERS)\n"
        f"\t{cc} $(CFC_CFLAGS) $(CFC_SRCS) $(CFC_TEST_SRCS) -o $@\n"
        f"example: $(CFC_SRCS) $(CFC_EXAMPLE_SRCS)\n"
        f"\t{cc} $(CFC_CFLAGS) -DCONTROL_LOOP_EXAMPLE_MAIN $(CFC_SRCS) $(CFC_EXAMPLE_SRCS) -o $@\n")
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    subprocess.run(["make", "-s", "golden_test", "example"], cwd=tmp_path, check=True, capture_output=True,
                   timeout=300)
    run = subprocess.run([str(tmp_path / "golden_test")], capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 0 and "PASS" in run.stdout, run.stdout
    assert subprocess.run([str(tmp_path / "example")], check=False, timeout=60).returncode == 0


def test_bundle_builds_with_cmake_and_ctest_passes(bundled, tmp_path):
    if shutil.which("cmake") is None or shutil.which("ctest") is None:
        pytest.skip("cmake is not installed")
    build = tmp_path / "build"
    for cmd in (["cmake", "-S", str(bundled), "-B", str(build)], ["cmake", "--build", str(build)]):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(build.glob("libcfc.a"))
    proc = subprocess.run(["ctest", "--output-on-failure"], cwd=build, capture_output=True, text=True, check=False,
                          timeout=120)
    assert proc.returncode == 0 and "100% tests passed" in proc.stdout, proc.stdout


@needs_mcu
@pytest.mark.parametrize("core", ["cortex-m0plus", "cortex-m4f", "cortex-m7"])
def test_bundle_passes_its_golden_vectors_in_the_emulator(bundled, core):
    files = {p.name: p.read_text() for p in bundled.iterdir() if p.suffix in (".c", ".h")
             and p.name != "control_loop_example.c"}
    result = run_golden_emulated(files, "cfc", core)
    assert result.passed, result.summary()
    assert result.checked > 0 and result.worst_error <= result.bound


@needs_mcu
@pytest.mark.parametrize("core", ["cortex-m0plus", "cortex-m4f", "cortex-m7"])
def test_int8_bundle_passes_its_golden_vectors_in_the_emulator(golden_export, tmp_path_factory, core):
    from edgelnn.firmware_bench.codegen import PRECISIONS

    if "int8" not in PRECISIONS:
        pytest.skip("the C generator has no int8")
    out = tmp_path_factory.getbasetemp() / "int8-bundle"
    if not out.exists():  # one bundle for the three cores
        make_bundle(golden_export, out, "int8", measure=False)
    files = {p.name: p.read_text() for p in out.iterdir() if p.suffix in (".c", ".h")
             and p.name != "control_loop_example.c"}
    result = run_golden_emulated(files, "cfc", core)
    assert result.passed, result.summary()


@needs_mcu
def test_emulated_golden_test_fails_on_a_corrupted_expected_value(golden_export, bundled):
    from edgelnn.export.golden import read_golden
    from edgelnn.firmware_bench.codegen import generate

    golden = read_golden(golden_export)
    src = generate(golden_export)
    y = golden.y.copy()
    n, k = np.argwhere(golden.mask)[0]
    y[n, k, 1] += 0.05
    test = golden_test_c("cfc", dataclasses.replace(golden, y=y), 1e-4, 1e-4, input_size=src.input_size,
                         state_size=src.state_size, output_size=src.output_size)
    result = run_golden_emulated({**src.files, TEST_FILE: test}, "cfc", "cortex-m4f")
    assert not result.passed and result.failures == 1
    assert (result.worst_sequence, result.worst_step) == (n, k)


@needs_mcu
def test_bundle_readme_has_per_core_figures(bundled):
    readme = (bundled / "README.md").read_text()
    for core in ("cortex-m0plus", "cortex-m4f", "cortex-m7"):
        line = next(ln for ln in readme.splitlines() if ln.startswith(f"| {core} |"))
        instructions = int(line.split("|")[3].replace(",", ""))
        assert instructions > 0
    assert "ESTIMATES" in readme


def test_existing_out_is_refused_and_force_replaces_it(golden_export, tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--force"):
        make_bundle(golden_export, out, measure=False)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    make_bundle(golden_export, out, measure=False, force=True)
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES
    assert "not measured" in (out / "README.md").read_text()
    assert not _leftovers(tmp_path)


def test_a_second_writer_is_refused_while_one_holds_the_output(golden_export, tmp_path):
    from edgelnn.errors import OutputInUseError
    from edgelnn.utils.outdir import output_lock

    out = tmp_path / "b"
    with output_lock(out), pytest.raises(OutputInUseError, match=r"in use by process \d+"):
        make_bundle(golden_export, out, measure=False)
    assert not out.exists() and not _leftovers(tmp_path)


def test_a_dead_writers_staging_is_removed_by_the_next_bundle(golden_export, tmp_path):
    stale = tmp_path / ".b.edgelnn-bundle-staging-pid999999999-x"  # a pid no live process has
    stale.mkdir()
    make_bundle(golden_export, tmp_path / "b", measure=False)
    assert not stale.exists() and (tmp_path / "b" / "README.md").is_file()


def _damaged_copy(export: Path, tmp_path: Path, what: str) -> Path:
    copy = Path(shutil.copytree(export, tmp_path / "export"))
    manifest = json.loads((copy / "manifest.json").read_text())
    if what == "golden":
        del manifest["golden"]
        (copy / "manifest.json").write_text(json.dumps(manifest))
    else:
        (copy / manifest["torch_checkpoint"]["file"]).unlink()
    return copy


@pytest.mark.parametrize(("what", "match"), [("golden", "no golden vectors"), ("checkpoint", "checkpoint")])
def test_export_without_golden_vectors_or_checkpoint(golden_export, tmp_path, what, match):
    export = _damaged_copy(golden_export, tmp_path, what)
    with pytest.raises(ArtifactLoadError, match=match):
        make_bundle(export, tmp_path / "out", measure=False)
    assert not (tmp_path / "out").exists() and not _leftovers(tmp_path)


def test_int8_bundle_or_a_clear_refusal(golden_export, tmp_path):
    from edgelnn.firmware_bench.codegen import PRECISIONS

    if "int8" not in PRECISIONS:  # the generator has no int8 yet: say so, write nothing
        with pytest.raises(UnsupportedModelError, match="int8"):
            make_bundle(golden_export, tmp_path / "out", "int8", measure=False)
        assert not (tmp_path / "out").exists()
        return
    result = make_bundle(golden_export, tmp_path / "out", "int8", measure=False)
    assert result.precision == "int8" and "PASS" in result.host_check
    assert "int8: twice the worst relative error" in (tmp_path / "out" / "README.md").read_text()


def test_model_the_generator_cannot_write(golden_export, tmp_path, monkeypatch):
    from edgelnn.firmware_bench import codegen

    monkeypatch.delitem(codegen.EMITTERS, "cfc")
    with pytest.raises(UnsupportedModelError, match="no C generator"):
        make_bundle(golden_export, tmp_path / "out", measure=False)
    assert not (tmp_path / "out").exists() and not _leftovers(tmp_path)


def test_no_compiler_and_compile_error_leave_nothing(golden_export, tmp_path, monkeypatch):
    from edgelnn.firmware_bench import golden_c, host

    def no_compiler():
        raise CompilerNotFoundError("the c backend needs a C compiler")

    monkeypatch.setattr(host, "find_compiler", no_compiler)
    with pytest.raises(CompilerNotFoundError):
        make_bundle(golden_export, tmp_path / "out", measure=False)
    monkeypatch.undo()
    real = golden_c.golden_test_c
    monkeypatch.setattr(golden_c, "golden_test_c", lambda *a, **k: real(*a, **k) + "\nthis is not C;\n")
    with pytest.raises(CompileError, match="test_main.c"):
        make_bundle(golden_export, tmp_path / "out", measure=False)
    assert not (tmp_path / "out").exists() and not _leftovers(tmp_path)


def test_failing_golden_test_is_a_golden_test_error(golden_export, tmp_path):
    export = Path(shutil.copytree(golden_export, tmp_path / "export"))
    golden_path = export / "golden.npz"
    with np.load(golden_path) as data:
        arrays = dict(data)
    arrays["y"] = arrays["y"] + np.float32(0.5)
    np.savez(golden_path, **arrays)
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["golden"]["sha256"] = sha256_of(golden_path)
    (export / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(GoldenTestError, match="FAIL"):
        make_bundle(export, tmp_path / "out", measure=False)
    assert not (tmp_path / "out").exists() and not _leftovers(tmp_path)


def test_cli_bundle_success_and_one_line_errors(golden_export, tmp_path):
    from edgelnn.cli import main

    runner = CliRunner()
    ok = runner.invoke(main, ["bundle", str(golden_export), "--out", str(tmp_path / "b"), "--no-measure"])
    assert ok.exit_code == 0, ok.output
    assert "PASS" in ok.output and "not measured" in ok.output
    again = runner.invoke(main, ["bundle", str(golden_export), "--out", str(tmp_path / "b")])
    assert again.exit_code == 2 and again.output.strip().startswith("error:") and "--force" in again.output
    assert len(again.output.strip().splitlines()) == 1
    bad = runner.invoke(main, ["bundle", str(tmp_path / "nope"), "--out", str(tmp_path / "c")])
    assert bad.exit_code == 2 and "no manifest.json" in bad.output and len(bad.output.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()
