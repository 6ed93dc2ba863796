"""``%load_ext texplain_widgets`` registers ``%texplain``, which opens a Dashboard.

    %texplain FOLDER_OR_VARIABLE [--model demo|demo:balanced|DIR] [--sentences N]
    %texplain report RUN_DIR|demo [--model DIR|demo] [--compare RUN_DIR|demo:balanced]

The second opens a DatasetReport over a stored run (``demo``: the shipped run of the biased demo
classifier, ``demo:balanced`` the balanced one's); with ``--model`` its maps are computed.

``FOLDER_OR_VARIABLE`` is a variable of the notebook (a list of images, a demo World, an
ImageCollection), a folder, an image file, or ``demo`` for the demo's test images. Models are
loaded once per session and reused (:func:`~.model_names.resolve_model`); the dashboard's
saliency options are those saved with the model (``TExplain.display["method_options"]``). Bad
arguments print one clear line, not a traceback.
"""

from __future__ import annotations

from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .errors import TExplainError


@magics_class
class TExplainMagics(Magics):
    @magic_arguments()
    @argument("images", help="a variable (list of images, demo World), a folder, an image file, or 'demo'")
    @argument("--model", default="demo", help="demo (biased), demo:balanced, or a saved TExplain directory")
    @argument("--sentences", type=int, default=64, help="sentences per Generate (default 64)")
    @line_magic
    def texplain(self, line: str):
        """Open a TExplain dashboard on images: %texplain FOLDER_OR_VARIABLE --model demo --sentences N"""
        from .widgets.dashboard import Dashboard

        if line.split()[:1] == ["report"]:
            return self._report(line.split(None, 1)[1] if len(line.split()) > 1 else "")
        args = parse_argstring(self.texplain, line)
        if args.sentences < 1:
            raise UsageError(f"--sentences must be a positive number, not {args.sentences}")
        try:
            from .model_names import resolve_model

            images = self._images(args.images)
            model = resolve_model(args.model)
            options = {}
            if model.display.get("method_options"):  # saved with the model, e.g. the demo's layer3
                options["method_options"] = model.display["method_options"]
            return Dashboard(model, images, n_sentences=args.sentences, **options)
        except TExplainError as error:
            raise UsageError(str(error)) from None

    @magic_arguments()
    @argument("run", help="a run directory (texplain run), demo or demo:balanced")
    @argument("--model", default=None, help="the run's model, for maps: demo, demo:balanced or a directory")
    @argument("--compare", default=None, help="a second run over the same images, e.g. demo:balanced")
    def _report(self, line: str):
        """%texplain report RUN_DIR|demo [--model DIR|demo] [--compare RUN_DIR|demo:balanced]"""
        from .widgets.report import DatasetReport

        args = parse_argstring(self._report, line)
        return DatasetReport(args.run, model=args.model, compare=args.compare)

    def _images(self, name: str):
        namespace = self.shell.user_ns
        if name.isidentifier() and name in namespace:
            return namespace[name]
        if Path(name).expanduser().exists():
            return Path(name).expanduser()
        if name == "demo":
            from .demo import test_world

            return test_world()
        raise UsageError(f"{name!r} is neither a variable of this notebook nor a folder or image file")


def load(shell) -> None:
    shell.register_magics(TExplainMagics)


def unload(shell) -> None:
    for kind in ("line", "cell"):
        shell.magics_manager.magics[kind].pop("texplain", None)
    shell.magics_manager.registry.pop(TExplainMagics.__name__, None)
