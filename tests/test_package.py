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


def test_lazy_names_are_the_objects_not_same_named_modules():
    from texplain_widgets import attribution, widgets

    for package in (texplain_widgets, attribution, widgets):
        for name in package.__all__:
            if not name[0].isupper() or name in ("METHODS",):
                value = getattr(package, name)
                assert not isinstance(value, type(sys)), f"{package.__name__}.{name} is a module"
    assert callable(attribution.overlay) and callable(texplain_widgets.overlay)
