"""The Ray engine on a real local Ray: the same rows as the local engine for the same seeds."""

import pandas as pd
import pytest
from runs_support import SETTINGS, bad_files, image_folder, save_tiny_model

from texplain_widgets import explain_dataset

ray = pytest.importorskip("ray", reason="the Ray engine needs the [ray] extra (scripts/setup.sh installs it)")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_rows_equal_the_local_engines(local_ray, tmp_path, tiny_classifier, tiny_lm):
    model_dir = save_tiny_model(tmp_path / "model", tiny_classifier, tiny_lm)
    folder = image_folder(tmp_path / "images", 9)
    bad_files(folder / "waterbird")
    # chunks of 4 on Ray, of 3 locally: the sentences must not depend on the company an image keeps
    on_ray = explain_dataset(
        str(model_dir),
        folder,
        tmp_path / "ray",
        engine="ray",
        workers=2,
        chunk_size=4,
        progress=False,
        **SETTINGS,
    )
    local = explain_dataset(
        str(model_dir), folder, tmp_path / "local", chunk_size=3, progress=False, **SETTINGS
    )
    assert ray.is_initialized()  # the engine used the running Ray and left it running
    assert len(on_ray) == 10 and on_ray.n_failed == 4 and on_ray.manifest["complete"]
    images = ["id", "name", "path", "label", "group", "predicted", "class_name", "n_sentences"]
    pd.testing.assert_frame_equal(on_ray.images[images], local.images[images])
    assert on_ray.images["probability"].tolist() == pytest.approx(
        local.images["probability"].tolist(), abs=1e-6
    )
    for i in local.images["id"]:
        assert on_ray.explanation(i).sentences == local.explanation(i).sentences
    pd.testing.assert_frame_equal(on_ray.failures, local.failures)
    pd.testing.assert_frame_equal(on_ray.words(by="label", top=None), local.words(by="label", top=None))
    assert on_ray.manifest["model"] == local.manifest["model"]


def test_ray_resumes_a_local_run(local_ray, tmp_path, tiny_classifier, tiny_lm):
    from texplain_widgets.runs.store import StoreWriter

    model_dir = save_tiny_model(tmp_path / "model", tiny_classifier, tiny_lm)
    folder = image_folder(tmp_path / "images", 6)
    local = explain_dataset(
        str(model_dir), folder, tmp_path / "local", chunk_size=2, progress=False, **SETTINGS
    )
    partial = tmp_path / "partial"
    explain_dataset(str(model_dir), folder, partial, chunk_size=2, progress=False, **SETTINGS)
    with StoreWriter(partial, local.manifest) as writer:  # forget the last two shards
        writer._save({**writer.manifest, "shards": writer.manifest["shards"][:1], "complete": False})
    resumed = explain_dataset(
        str(model_dir), folder, partial, engine="ray", chunk_size=2, progress=False, **SETTINGS
    )
    assert resumed.images["id"].tolist() == list(range(6)) and resumed.manifest["complete"]
    for i in range(6):
        assert resumed.explanation(i).sentences == local.explanation(i).sentences
