"""``blurkit predict ... --report qc.html``: the QC report of the predicted inputs."""

import base64
import html
import io
import re

import nibabel as nib
import numpy as np
import pytest
from conftest import DEMO_DATA
from PIL import Image

import blurkit
from blurkit.cli import main
from blurkit.datasets import GRID_ORIGIN_MM, GRID_SHAPE, GRID_STEP_MM

VALIDATION = DEMO_DATA / "validation"
# One table row: its class, then the sort key of each cell.
ROW = re.compile(r'<tr( class="flagged")?>((?:<td data-v="[^"]*">.*?</td>)+)</tr>')
CELL = re.compile(r'<td data-v="([^"]*)">')


@pytest.fixture(scope="module")
def model_file(small_model_file):
    return small_model_file


def _rows(page):
    """(flagged, [Subject, Probability, Label, Sigma_px, Sigma_mm]) per row."""
    return [
        (bool(flagged), [html.unescape(v) for v in CELL.findall(cells)])
        for flagged, cells in ROW.findall(page)
    ]


def _section(page, key):
    return page[page.index(f'<section id="{key}">') :].split("</section>", 1)[0]


def _thumbnails(page, key):
    uris = re.findall(r'<img src="data:image/png;base64,([^"]+)"', _section(page, key))
    return [Image.open(io.BytesIO(base64.b64decode(uri))) for uri in uris]


def _labels():
    lines = (VALIDATION / "subjects.tsv").read_text().splitlines()[1:]
    return dict(line.split("\t") for line in lines)


def test_report_of_the_validation_set(model_file, tmp_path, capsys):
    out, qc = tmp_path / "out.tsv", tmp_path / "qc.html"
    args = ["predict", str(model_file), str(VALIDATION), "-o", str(out)]
    assert main([*args, "--report", str(qc)]) == 0
    # The TSV is the one predict writes without --report.
    assert out.read_bytes() == (VALIDATION / "subjects.tsv").read_bytes()
    err = capsys.readouterr().err
    assert f"Wrote {qc}" in err
    page = qc.read_text(encoding="utf-8")
    rows = _rows(page)
    labels = _labels()
    assert sorted(cells[0] for _, cells in rows) == sorted(labels)
    for flagged, (subject, proba, label, px, mm) in rows:
        assert label == labels[subject]
        assert flagged == (label == "0") == (float(proba) <= 0.5)
        assert float(mm) == pytest.approx(1.5 * float(px))
    sigmas = [float(cells[3]) for _, cells in rows]
    assert sigmas == sorted(sigmas, reverse=True)  # ranked by blur
    # The demo set: 8 blurred images, all blurrier than every sharp one.
    assert [flagged for flagged, _ in rows] == [True] * 8 + [False] * 8
    blurriest = _thumbnails(page, "blurriest")
    assert len(blurriest) == 8 and len(_thumbnails(page, "borderline")) == 8
    assert all(im.size == (121, 121) for im in blurriest)
    header = _section(page, "summary") + page[: page.index("</header>")]
    assert "model.blurkit" in header and str(VALIDATION) in header
    assert "16 images, 8 flagged as blurred" in header


def test_report_agrees_with_the_tsv_columns(model_file, tmp_path):
    out, qc = tmp_path / "out.tsv", tmp_path / "qc.html"
    args = ["predict", str(model_file), str(VALIDATION), "-o", str(out), "-q"]
    assert main([*args, "--proba", "--sigma", "--report", str(qc)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "Subject\tLabel\tProbability\tSigma_px\tSigma_mm"
    tsv = {line.split("\t")[0]: line.split("\t")[1:] for line in lines[1:]}
    for _, (subject, proba, label, px, mm) in _rows(qc.read_text(encoding="utf-8")):
        t_label, t_proba, t_px, t_mm = tsv[subject]
        assert label == t_label
        assert float(proba) == pytest.approx(float(t_proba), abs=1e-6)
        assert float(px) == pytest.approx(float(t_px), abs=1e-4)
        assert float(mm) == pytest.approx(float(t_mm), abs=1e-4)


def test_unwritable_report_fails_before_any_work(model_file, tmp_path, capsys):
    out = tmp_path / "out.tsv"
    qc = tmp_path / "missing" / "qc.html"
    args = ["predict", str(model_file), str(VALIDATION), "-o", str(out)]
    assert main([*args, "--report", str(qc)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("blurkit: error:") and "missing" in err
    assert len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # not even the TSV


def test_skipped_files_are_left_out_and_named(model_file, tmp_path, capsys):
    files = sorted(VALIDATION.glob("*.png"))[:4]
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    out, qc = tmp_path / "out.tsv", tmp_path / "qc.html"
    args = ["predict", str(model_file), *map(str, files), str(bad), "-o", str(out)]
    assert main([*args, "--on-error", "skip", "--report", str(qc)]) == 3
    assert "skipped" in capsys.readouterr().err
    page = qc.read_text(encoding="utf-8")
    assert sorted(cells[0] for _, cells in _rows(page)) == [f.stem for f in files]
    assert "1 unreadable inputs" in page
    assert "and 2 more" in page  # five inputs, the first three named


def test_report_of_a_volume_shows_its_slice(model_file, tmp_path):
    image = blurkit.read_image(VALIDATION / "sub-DEMO0081.png")
    # The challenge grid; coronal slices 60-85 show the demo slice.
    volume = np.zeros(GRID_SHAPE, dtype=np.float32)
    volume[:, 60:86, :] = image[::-1, :].T[:, None, :]
    affine = np.diag([GRID_STEP_MM] * 3 + [1.0])
    affine[:3, 3] = GRID_ORIGIN_MM
    nib.save(nib.Nifti1Image(volume, affine), tmp_path / "sub-01_T1w.nii.gz")
    out, qc = tmp_path / "out.tsv", tmp_path / "qc.html"
    args = ["predict", str(model_file), str(tmp_path / "sub-01_T1w.nii.gz")]
    assert main([*args, "-o", str(out), "--slices", "66:78", "--report", str(qc)]) == 0
    page = qc.read_text(encoding="utf-8")
    ((flagged, cells),) = _rows(page)
    assert cells[0] == "sub-01" and not flagged
    (thumbnail,) = _thumbnails(page, "blurriest")
    shown = np.asarray(thumbnail, dtype=np.float64) / 255
    np.testing.assert_allclose(shown, image, atol=1 / 255)


def test_report_needs_a_blur_estimate(tmp_path, capsys):
    # Refused before any prediction: a small pipeline is enough.
    train = blurkit.load_dataset(DEMO_DATA / "train")
    model = blurkit.make_feature_pipeline().fit(train.images[:24], train.labels[:24])
    path = tmp_path / "no_sigma.blurkit"
    blurkit.save_model(model, path)
    out, qc = tmp_path / "out.tsv", tmp_path / "qc.html"
    args = ["predict", str(path), str(VALIDATION), "-o", str(out)]
    assert main([*args, "--report", str(qc)]) == 1
    assert "no blur-sigma estimate" in capsys.readouterr().err
    assert not out.exists() and not qc.exists()


def test_report_with_the_built_in_model(tmp_path):
    out, qc = tmp_path / "out.tsv", tmp_path / "qc.html"
    assert (
        main(["predict", str(VALIDATION), "-o", str(out), "-q", "--report", str(qc)])
        == 0
    )
    page = qc.read_text(encoding="utf-8")
    assert "built-in (demo set)" in page
    assert len(_rows(page)) == 16
