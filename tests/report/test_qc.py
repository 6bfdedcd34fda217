"""The QC report of unlabelled images, and its sorting table in headless Chromium."""

import base64
import io
import re

import numpy as np
import pytest
from conftest import DEMO_DATA
from html_page import parse, run_chromium
from PIL import Image

import blurkit
from blurkit.exceptions import BlurkitInputError
from blurkit.report import render_qc_report, write_qc_report

SECTIONS = ("summary", "sigma-distribution", "blurriest", "borderline", "every-image")
COLUMNS = ["Subject", "Probability", "Label", "Sigma_px", "Sigma_mm"]


@pytest.fixture(scope="module")
def validation():
    return blurkit.load_dataset(DEMO_DATA / "validation")


@pytest.fixture(scope="module")
def qc_set(validation):
    """Subjects, probabilities and blur of the 16 demo images, spread out.

    Made up rather than predicted, so the set holds borderline images and
    ties, and no model needs training.
    """
    n = len(validation.subjects)
    rng = np.random.default_rng(0)
    proba = np.linspace(0.02, 0.98, n)[rng.permutation(n)]
    proba[[3, 7]] = [0.49, 0.52]  # borderline, on both sides of 0.5
    proba[11] = 0.5  # exactly 0.5 is flagged, as predict labels it 0
    # Unrelated to proba, so that no sort order is another's by chance.
    sigma_px = np.round(rng.uniform(0, 4, n), 1)
    sigma_px[[1, 2, 9]] = 1.5  # ties
    sigma_px[5] = np.nan  # no estimate: shown as n/a, ranked last
    return list(validation.subjects), proba, sigma_px


@pytest.fixture(scope="module")
def report(tmp_path_factory, qc_set, validation):
    subjects, proba, sigma_px = qc_set
    path = tmp_path_factory.mktemp("qc") / "qc.html"
    write_qc_report(
        path,
        subjects,
        proba,
        sigma_px,
        images=validation.images,
        pixel_spacing=2.0,
        details={"Inputs": "demo <validation>"},
        n_blurriest=5,
        n_borderline=4,
    )
    return path


def _table(page):
    """The rows of the QC table as lists of (text, sort key) cells."""
    rows, row = [], None
    for tag, attrs, section in page.tags:
        if section != "every-image":
            continue
        if tag == "tr" and row is not None:
            rows.append(row)
            row = None
        if tag == "tr":
            row = [attrs.get("class")]
        elif tag == "td":
            row.append(attrs["data-v"])
    rows.append(row)
    return rows[1:]  # the header row holds no td


def _blur_order(sigma_px):
    return np.argsort(-np.nan_to_num(sigma_px, nan=-np.inf), kind="stable")


# --------------------------------------------------------------------------- #
# The page
# --------------------------------------------------------------------------- #


def test_page_parses_and_has_every_section(report, qc_set):
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    page = parse(text)
    assert page.errors == [] and page.stack == []
    assert set(SECTIONS) <= set(page.sections)
    n_flagged = int(np.sum(qc_set[1] <= 0.5))
    summary = page.sections["summary"]
    assert "16" in summary and f"{n_flagged} flagged as blurred" in summary
    assert "at 2 mm per pixel" in summary
    assert "demo <validation>" in text.replace("&lt;", "<").replace("&gt;", ">")


def test_everything_is_embedded_and_the_script_is_inline(report):
    page = parse(report.read_text(encoding="utf-8"))
    images = [attrs for tag, attrs, _ in page.tags if tag == "img"]
    assert len(images) == 2 + 5 + 4  # two plots and the thumbnails
    prefix = "data:image/png;base64,"
    for attrs in images:
        assert attrs["src"].startswith(prefix) and attrs.get("alt")
        data = base64.b64decode(attrs["src"][len(prefix) :])
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
    scripts = [attrs for tag, attrs, _ in page.tags if tag == "script"]
    assert scripts == [{}]  # one script, inline
    for tag, attrs, _ in page.tags:
        assert tag not in ("link", "iframe", "object")
        for name in ("src", "href"):
            assert not str(attrs.get(name, "")).startswith(("http:", "https:", "//"))


def test_thumbnails_of_the_blurriest_and_the_borderline(report, qc_set):
    subjects, proba, sigma_px = qc_set
    page = parse(report.read_text(encoding="utf-8"))

    def shown(section):
        alts = [a["alt"] for t, a, s in page.tags if t == "img" and s == section]
        return [alt.removeprefix("image of ") for alt in alts]

    blurriest = [subjects[i] for i in _blur_order(sigma_px)[:5]]
    assert shown("blurriest") == blurriest
    nearest = np.argsort(np.abs(proba - 0.5), kind="stable")[:4]
    assert shown("borderline") == [subjects[i] for i in nearest]
    assert {subjects[3], subjects[7], subjects[11]} <= set(shown("borderline"))
    # Flagged thumbnails have the orange border.
    figures = [a for t, a, s in page.tags if t == "figure" and s == "blurriest"]
    flagged = [proba[subjects.index(s)] <= 0.5 for s in blurriest]
    assert [a.get("class") == "flagged" for a in figures] == flagged
    assert "P(sharp) = 0.490" in page.sections["borderline"]
    top = sigma_px[_blur_order(sigma_px)[0]]
    assert f"σ {top:.2f} px · {2 * top:.2f} mm" in page.sections["blurriest"]


def test_table_ranks_by_blur_and_marks_the_flagged(report, qc_set):
    subjects, proba, sigma_px = qc_set
    page = parse(report.read_text(encoding="utf-8"))
    headers = [a["data-key"] for t, a, s in page.tags if t == "th"]
    assert headers == COLUMNS
    sorts = {a["data-key"]: a["aria-sort"] for t, a, _ in page.tags if t == "th"}
    assert sorts == {key: "none" for key in COLUMNS} | {"Sigma_px": "descending"}
    rows = _table(page)
    order = _blur_order(sigma_px)
    assert [row[1] for row in rows] == [subjects[i] for i in order]
    assert rows[-1][1] == subjects[5] and rows[-1][4] == "NaN"  # no estimate: last
    for row, i in zip(rows, order, strict=True):
        css, _, p, label, px, mm = row
        assert float(p) == proba[i]
        assert label == str(int(proba[i] > 0.5))
        assert (css == "flagged") == (proba[i] <= 0.5)
        if np.isfinite(sigma_px[i]):
            assert float(px) == sigma_px[i] and float(mm) == 2 * sigma_px[i]
    assert "n/a" in page.sections["every-image"]


def test_images_are_asked_for_only_for_the_thumbnails(qc_set, validation):
    subjects, proba, sigma_px = qc_set
    asked = []

    def image(i):
        asked.append(i)
        return validation.images[i]

    render_qc_report(
        subjects, proba, sigma_px, images=image, n_blurriest=3, n_borderline=2
    )
    expected = [*_blur_order(sigma_px)[:3], *np.argsort(np.abs(proba - 0.5))[:2]]
    assert sorted(asked) == sorted(int(i) for i in expected)


def test_without_images_there_is_no_thumbnail(qc_set):
    page = parse(render_qc_report(*qc_set))
    assert [
        t for t, _, s in page.tags if t == "img" and s != "sigma-distribution"
    ] == []
    assert "images were not given" in page.sections["blurriest"]


def test_a_confident_set_says_none_is_borderline():
    page = parse(render_qc_report(["a", "b", "c"], [0.99, 0.01, 0.0], [0.1, 3, 4]))
    assert "None is borderline" in page.sections["borderline"]
    assert len(_table(page)) == 3


def test_report_leaves_matplotlib_alone(qc_set):
    import matplotlib
    import matplotlib.pyplot as plt

    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    render_qc_report(*qc_set)
    assert plt.get_fignums() == figures
    assert matplotlib.get_backend() == backend


@pytest.mark.parametrize(
    ("proba", "sigma_px", "match"),
    [
        ([0.5, 0.5], [1.0], "inconsistent numbers of samples"),
        ([1.5], [1.0], r"in \[0, 1\]"),
        ([], [], "at least one image"),
        ([[0.5]], [[1.0]], "1-D"),
    ],
)
def test_bad_values_are_refused(proba, sigma_px, match):
    with pytest.raises(ValueError, match=match):
        render_qc_report(["a"] * len(proba), proba, sigma_px)


def test_bad_settings_are_refused(qc_set):
    with pytest.raises(ValueError, match="pixel_spacing"):
        render_qc_report(*qc_set, pixel_spacing=0)
    with pytest.raises(ValueError, match="n_blurriest"):
        render_qc_report(*qc_set, n_blurriest=-1)


def test_write_is_atomic(tmp_path, qc_set):
    path = tmp_path / "qc.html"
    path.write_text("old")
    subjects, proba, sigma_px = qc_set
    with pytest.raises(ValueError):
        write_qc_report(path, subjects, proba[:3], sigma_px)
    assert path.read_text() == "old"
    with pytest.raises(BlurkitInputError, match="nope"):
        write_qc_report(tmp_path / "nope" / "qc.html", *qc_set)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qc.html"]


def test_exported_at_the_top():
    assert blurkit.write_qc_report is write_qc_report
    assert "write_qc_report" in dir(blurkit)


# --------------------------------------------------------------------------- #
# Headless Chromium
# --------------------------------------------------------------------------- #


def test_report_renders_in_headless_chromium(report, tmp_path):
    shot = tmp_path / "shot.png"
    run_chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        url=report.resolve().as_uri(),
    )
    with Image.open(shot) as im:
        assert im.size == (1200, 2000)
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    assert pixels.std() > 20  # not blank
    for band in np.array_split(pixels, 4):  # text, plots or pictures everywhere
        assert np.mean(band < 128) > 0.01
    # The flagged rows' highlight (orange tint) is on screen.
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    tint = (rgb[..., 0] == 0xFD) & (rgb[..., 1] == 0xF0) & (rgb[..., 2] == 0xE6)
    assert tint.sum() > 1000


# Clicks on the headers, in order, then the page is dumped as it stands.
_CLICK = (
    "<script>for (const key of {keys}) document.querySelector("
    "'#qc-table th[data-key=\"' + key + '\"] button').click();</script>"
)


@pytest.mark.parametrize(
    ("clicks", "column", "descending"),
    [
        (["Probability"], "Probability", False),
        (["Probability", "Probability"], "Probability", True),
        (["Subject"], "Subject", False),
        (["Sigma_px"], "Sigma_px", False),  # first sorted descending: reversed
        (["Sigma_mm", "Label"], "Label", False),
    ],
)
def test_clicking_a_header_sorts_the_table(
    report, qc_set, tmp_path, clicks, column, descending
):
    subjects, proba, sigma_px = qc_set
    text = report.read_text(encoding="utf-8")
    clicked = tmp_path / "clicked.html"
    script = _CLICK.format(keys=repr(clicks))
    clicked.write_text(text.replace("</body>", script + "</body>"), encoding="utf-8")
    dom = run_chromium(tmp_path, "--dump-dom", url=clicked.resolve().as_uri())
    page = parse(dom)
    assert page.errors == []
    rows = _table(page)
    assert sorted(row[1] for row in rows) == sorted(subjects)
    sorted_by = {a["data-key"]: a["aria-sort"] for t, a, _ in page.tags if t == "th"}
    assert sorted_by.pop(column) == ("descending" if descending else "ascending")
    assert set(sorted_by.values()) == {"none"}
    index = COLUMNS.index(column) + 1
    keys = [row[index] for row in rows]
    if column == "Subject":
        # Natural order: the demo subjects differ only in their numbers.
        numbers = [int(re.sub(r"\D", "", key)) for key in keys]
        assert numbers == sorted(numbers)
        return
    values = [(-np.inf if key == "NaN" else float(key)) for key in keys]
    assert values == sorted(values, reverse=descending)
    # Ties keep the order they had: the stable sort on the previous order.
    if column == "Label":
        previous = sorted(
            range(len(subjects)),
            key=lambda i: -np.inf if np.isnan(sigma_px[i]) else 2 * sigma_px[i],
        )
        expected = sorted(previous, key=lambda i: int(proba[i] > 0.5))
        assert [row[1] for row in rows] == [subjects[i] for i in expected]
