"""Build's Export row: ONNX is offered when the server has the [onnx] extra and downloads a model
that runs; a server without it shows the button disabled and says how to install it."""

import os

import numpy as np
import pytest

from tests.browser.conftest import Page
from tests.e2e.conftest import running_server


def _lenet(page):
    page.open()
    page.tab("build")
    page.page.select_option("[data-preset-select]", "lenet5")
    page.page.wait_for_function("document.querySelector('[data-total-params]').textContent.includes('61,706')")


def test_onnx_export_downloads_a_model_that_runs(page, tmp_path):
    try:
        import onnxruntime
    except ImportError:
        why = "needs the [onnx] extra: pip install -e '.[onnx]'"
        if os.environ.get("CI") == "true":
            pytest.fail(f"ONNX tests must run in CI: {why}")
        pytest.skip(why)
    _lenet(page)
    button = page.page.locator('[data-export="onnx"]')
    assert button.is_enabled() and button.text_content() == "ONNX (.onnx)"
    assert page.page.locator("[data-export-missing]").is_hidden()
    with page.page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename.endswith(".onnx")
    path = tmp_path / "net.onnx"
    download.value.save_as(path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (p,) = session.run(["probabilities"], {"input": np.zeros((1, 1, 28, 28), np.float32)})
    assert p.shape == (1, 10) and abs(float(p.sum()) - 1) < 1e-5


@pytest.fixture
def server_without_onnx(tmp_path, monkeypatch):
    """A real server whose Python cannot import onnx, as where the extra is not installed."""
    hidden = tmp_path / "no-onnx" / "onnx"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text('raise ImportError("onnx is not installed here")\n')
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(hidden.parent), os.environ.get("PYTHONPATH")) if p)
    )
    with running_server(tmp_path / "data") as s:
        yield s


def test_without_the_extra_onnx_is_disabled_and_says_how_to_install_it(browser, server_without_onnx):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = Page(context.new_page(), server_without_onnx.url)
    page.page.set_default_timeout(30_000)
    try:
        _lenet(page)
        note = page.page.locator("[data-export-missing]")
        note.wait_for(state="visible")
        assert 'pip install "cnn-playground[onnx]"' in note.text_content()
        assert page.page.locator('[data-export="onnx"]').is_disabled()
        assert 'pip install "cnn-playground[onnx]"' in page.page.get_attribute('[data-export="onnx"]', "title")
        assert page.page.locator('[data-export="pytorch"]').is_enabled()
        assert not page.errors, page.errors
    finally:
        context.close()
