import subprocess
import sys

import texplain_widgets


def test_public_api_resolves_every_name():
    for name in texplain_widgets.__all__:
        assert getattr(texplain_widgets, name) is not None
    assert texplain_widgets.TExplain.__module__ == "texplain_widgets.model.texplain"


def test_import_is_light():
    code = "import sys, texplain_widgets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
