"""%texplain report: a DatasetReport over a run directory, a comparison, and clear messages."""

import pytest
from IPython.core.error import UsageError
from IPython.testing import globalipapp
from report_support import synthetic_run

from texplain_widgets import DatasetReport


@pytest.fixture
def shell():
    ip = globalipapp.get_ipython()
    ip.run_line_magic("load_ext", "texplain_widgets")
    yield ip
    ip.run_line_magic("unload_ext", "texplain_widgets")


def test_report_opens_a_run_and_compares_it(shell, tmp_path):
    # 24 images a group: the comparison's differences are above zero
    biased = synthetic_run(tmp_path / "biased", 96, images=tmp_path / "images")
    balanced = synthetic_run(tmp_path / "balanced", 96, images=tmp_path / "images", flip=True)
    report = shell.run_line_magic("texplain", f"report {biased} --compare {balanced}")
    assert isinstance(report, DatasetReport) and report.error == ""
    assert report.panel.compare_names == ["biased", "balanced"] and report.panel.compare
    report.close()


def test_report_of_a_folder_that_is_no_run_says_so_in_the_widget(shell, tmp_path):
    report = shell.run_line_magic("texplain", f"report {tmp_path}")
    assert "not a texplain run" in report.error


def test_report_without_a_run_is_a_usage_error(shell):
    with pytest.raises(UsageError, match="run"):
        shell.run_line_magic("texplain", "report")
