"""The demo's scripts agree with each other: gpu_check.sh copies what build_demo.py writes."""

import ast
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
BASH = shutil.which("bash")


def written_by_stage(stage: str, models=("biased", "balanced")) -> set[str]:
    """The file names a stage function of build_demo.py writes under ``build / f"..."``, per model."""
    tree = ast.parse((SCRIPTS / "build_demo.py").read_text())
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == stage)
    names = set()
    for node in ast.walk(function):
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Div)
            and isinstance(node.left, ast.Name)
            and node.left.id == "build"
            and isinstance(node.right, ast.JoinedStr)
        ):
            template = "".join(
                part.value if isinstance(part, ast.Constant) else "{name}" for part in node.right.values
            )
            names |= {template.format(name=model) for model in models}
    return names


def case_commands(script: Path, case: str, command: str) -> list[str]:
    """The lines of ``case)`` in a bash case statement that run ``command``."""
    body = re.search(rf"^\s*{re.escape(case)}\)\n(.*?)^\s*;;", script.read_text(), re.S | re.M)
    assert body, f"no {case}) branch in {script.name}"
    return [line.strip() for line in body.group(1).splitlines() if line.strip().startswith(command + " ")]


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_gpu_check_parses():
    subprocess.run([BASH, "-n", str(SCRIPTS / "gpu_check.sh")], check=True)


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_gpu_check_demo_copies_exactly_what_the_translators_stage_writes(tmp_path):
    written = written_by_stage("translators")
    assert written == {f"translator-{m}{ext}" for m in ("biased", "balanced") for ext in ("", ".json")}
    build = tmp_path / "build" / "demo"
    build.mkdir(parents=True)
    for name in written | {"features.safetensors", "captions.json"}:  # the stage's inputs lie there too
        (build / name).write_text(name)
    out = tmp_path / "out"
    out.mkdir()
    copies = case_commands(SCRIPTS / "gpu_check.sh", "demo", "cp")
    assert copies, "the demo stage copies nothing back"
    script = "set -euo pipefail\n" + "\n".join(copies)
    result = subprocess.run(
        [BASH, "-c", script],
        cwd=tmp_path,
        env={"OUT": str(out), "PATH": "/usr/bin:/bin"},
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert {path.name for path in out.iterdir()} == written


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_mitigate_demo_runs_from_the_shipped_weights_alone(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no build/ folder anywhere near
    mitigate = load_script("mitigate_demo")
    argv = [
        "--val-images",
        "32",
        "--sentences",
        "2",
        "--methods",
        "reweight,true",
        "--run",
        str(tmp_path / "run"),
    ]
    results = mitigate.main(argv)
    before = results["before"]
    # README's starting point: the shipped biased classifier fails its minority groups
    assert round(before["average"], 3) == 0.516 and round(before["worst"], 3) == 0.012
    assert set(results) == {
        "before",
        "reweight (pseudo-groups)",
        "reweight (true groups, val)",
        "reweight (true groups, train)",
    }
    assert results["reweight (true groups, train)"]["worst"] > before["worst"]
    out = capsys.readouterr().out
    assert "balanced test split (1000 images)" in out and "pseudo-groups (rows)" in out


@pytest.mark.slow
def test_refit_demo_refits_the_translator_after_the_classifier_changed(capsys, tmp_path):
    refit = load_script("refit_demo")
    argv = ["--method", "control", "--val-images", "16", "--captions", "48", "--steps", "2"]
    record = refit.main([*argv, "--out", str(tmp_path / "out"), "--threads", "1"])
    before = record["val_loss_before"]
    # fine-tuning changed the features: the old translator reads them differently
    assert before["old translator, old features"] != before["old translator copied, new features"]
    assert [r["step"] for r in record["history"]] == [1, 2] and record["report_card"]["n_captions"] == 16
    assert (tmp_path / "out" / "refit" / "config.json").is_file()
    assert "the re-fitted translator's report card" in capsys.readouterr().out
