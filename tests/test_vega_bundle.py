"""The offline Vega bundle is built once per install and read from disk by later kernels."""

import subprocess
import sys
import textwrap

FIRST_CHART = textwrap.dedent(
    """
    import sys, vl_convert
    if sys.argv[1] == "no-build":  # a kernel that would fail if it built the bundle again
        vl_convert.javascript_bundle = lambda *a, **k: (_ for _ in ()).throw(AssertionError("rebuilt"))
    import altair as alt
    from texplain_widgets.widgets.chart_theme import ThemedChart
    ThemedChart(alt.Chart().mark_bar())
    assert alt.JupyterChart._is_offline and "vega" in alt.JupyterChart._esm
    print(len(alt.JupyterChart._esm))
    """
)


def _kernel(cache, mode: str) -> subprocess.CompletedProcess:
    env = {"TEXPLAIN_CACHE": str(cache), "PATH": "/usr/bin:/bin", "HOME": str(cache)}
    return subprocess.run(
        [sys.executable, "-c", FIRST_CHART, mode], env=env, capture_output=True, text=True, timeout=300
    )


def test_the_first_kernel_builds_the_bundle_and_the_next_one_reads_it(tmp_path):
    assert _kernel(tmp_path, "no-build").returncode != 0  # nothing cached: it must build
    first = _kernel(tmp_path, "build")
    assert first.returncode == 0, first.stderr
    (cached,) = (tmp_path / "vega").glob("jupyterchart-*.js")
    second = _kernel(tmp_path, "no-build")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    cached.write_text(cached.read_text()[:1000])  # cut short by a crash: built again, not used
    assert _kernel(tmp_path, "no-build").returncode != 0
    assert _kernel(tmp_path, "build").returncode == 0 and _kernel(tmp_path, "no-build").returncode == 0


def test_the_bundle_is_named_by_the_versions(monkeypatch, tmp_path):
    import altair as alt

    from texplain_widgets.widgets.vega_bundle import bundle_path

    monkeypatch.setenv("TEXPLAIN_CACHE", str(tmp_path))
    now = bundle_path()
    assert now.parent == tmp_path / "vega"
    monkeypatch.setattr(alt, "__version__", alt.__version__ + ".post1")
    assert bundle_path() != now
