"""NIfTI volumes: orientation, normalisation, subject ids, ``blurkit predict``."""

import nibabel as nib
import numpy as np
import pytest
from conftest import DEMO_DATA
from scipy import ndimage

from blurkit._geometry import DEFAULT_CORONAL_INDEX
from blurkit.cli import main
from blurkit.datasets import GRID_ORIGIN_MM, GRID_SHAPE, GRID_STEP_MM
from blurkit.exceptions import BlurkitInputError
from blurkit.io import (
    default_coronal_index,
    list_images,
    load_dataset,
    nifti_subject_id,
    normalize_intensity,
    parse_slices,
    read_image,
    read_nifti_slices,
)

CHALLENGE_AFFINE = np.diag([GRID_STEP_MM] * 3 + [1.0])
CHALLENGE_AFFINE[:3, 3] = GRID_ORIGIN_MM


def _save(volume, path, affine=CHALLENGE_AFFINE):
    nib.save(nib.Nifti1Image(np.asarray(volume, dtype=np.float32), affine), path)
    return path


def _volume_from_slice(image, *, blur_sigma=None, band=(60, 86)):
    """A challenge-grid volume whose coronal slices ``band`` all show ``image``.

    The inverse of the PNG orientation: rows of the image run superior to
    inferior (z decreasing), columns along x. ``blur_sigma`` blurs the whole
    volume with a 3-D Gaussian (voxels).
    """
    volume = np.zeros(GRID_SHAPE, dtype=np.float32)
    volume[:, band[0] : band[1], :] = image[::-1, :].T[:, None, :]
    if blur_sigma is not None:
        volume = ndimage.gaussian_filter(volume, blur_sigma)
    return volume


def _datasets_orientation(volume, index):
    # The expression blurkit.datasets uses to turn MNI slabs into PNG slices.
    return volume.transpose(1, 2, 0)[:, ::-1, :][index]


@pytest.fixture(scope="module")
def demo_validation():
    return load_dataset(DEMO_DATA / "validation")


@pytest.fixture(scope="module")
def model_file(small_model_file):
    return small_model_file


@pytest.fixture(scope="module")
def volumes(tmp_path_factory, demo_validation):
    """Three sharp and three blurred BIDS-named volumes from sharp demo slices."""
    folder = tmp_path_factory.mktemp("volumes")
    sharp = np.flatnonzero(demo_validation.labels == 1)[:3]
    expected = {}
    for k, index in enumerate(sharp):
        image = demo_validation.images[index]
        _save(_volume_from_slice(image), folder / f"sub-{k:02d}_T1w.nii.gz")
        expected[f"sub-{k:02d}"] = 1
        blurred = _volume_from_slice(image, blur_sigma=3.0)
        # Uncompressed, in scanner-like units: the reader must not care.
        _save(1000 * blurred, folder / f"sub-{k + 10:02d}_T1w.nii")
        expected[f"sub-{k + 10:02d}"] = 0
    return folder, expected


def _read_tsv(path):
    lines = path.read_text().splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def test_slice_orientation_matches_the_demo_pngs(tmp_path):
    rng = np.random.default_rng(0)
    volume = rng.random(GRID_SHAPE).astype(np.float32)
    volume[0, 0, 0] = 5.0  # one outlier: the 99.5th percentile ignores it
    path = _save(volume, tmp_path / "v.nii.gz")
    image = read_image(path)
    assert image.shape == (121, 121) and image.dtype == np.float32
    expected = _datasets_orientation(normalize_intensity(volume), DEFAULT_CORONAL_INDEX)
    np.testing.assert_array_equal(image, expected)


def test_superior_is_up_and_x_runs_along_columns(tmp_path):
    volume = np.zeros(GRID_SHAPE, dtype=np.float32)
    # A bright block high up (large z) at small x, in the challenge slice.
    volume[5:15, DEFAULT_CORONAL_INDEX, 100:110] = 1.0
    image = read_image(_save(volume, tmp_path / "v.nii"))
    rows, cols = np.nonzero(image > 0.5)
    assert rows.max() < 30 and cols.max() < 20


def test_slice_of_a_png_placed_in_a_volume_reads_back(tmp_path, demo_validation):
    image = demo_validation.images[0]
    path = _save(_volume_from_slice(image), tmp_path / "v.nii.gz")
    back = read_image(path)
    # Same picture up to the robust-maximum scaling.
    scale = np.percentile(image[image > 0], 99.5)
    np.testing.assert_allclose(back, np.clip(image / scale, 0, 1), atol=1e-6)


@pytest.mark.parametrize("storage", ["LAS", "permuted"])
def test_storage_orientation_does_not_change_the_slice(tmp_path, storage):
    rng = np.random.default_rng(1)
    volume = rng.random(GRID_SHAPE).astype(np.float32)
    reference = read_image(_save(volume, tmp_path / "ras.nii"))
    affine = CHALLENGE_AFFINE.copy()
    if storage == "LAS":
        # x stored right to left: flip the data and the x axis of the affine.
        data = volume[::-1]
        affine[0, 0] = -GRID_STEP_MM
        affine[0, 3] = GRID_ORIGIN_MM[0] + GRID_STEP_MM * (GRID_SHAPE[0] - 1)
    else:
        # Axes stored in the order (z, x, y).
        data = volume.transpose(2, 0, 1)
        affine = CHALLENGE_AFFINE[:, [2, 0, 1, 3]]
    other = read_image(_save(np.ascontiguousarray(data), tmp_path / "o.nii", affine))
    np.testing.assert_array_equal(other, reference)


def test_normalisation_is_scale_free_and_bounded(tmp_path):
    rng = np.random.default_rng(2)
    volume = rng.gamma(2.0, 1.0, GRID_SHAPE).astype(np.float32)
    volume[:2] = np.nan  # masked background
    volume[2:4] = -3.0
    a = read_nifti_slices(_save(volume, tmp_path / "a.nii"), slice(60, 64))
    b = read_nifti_slices(_save(250 * volume, tmp_path / "b.nii"), slice(60, 64))
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert a.min() == 0.0 and a.max() == 1.0
    # The brightest 0.5 % saturate, as in the 8-bit challenge images.
    assert 0.002 < np.mean(a == 1.0) < 0.02
    assert not np.isnan(a).any()


def test_normalize_intensity_edge_cases():
    assert not normalize_intensity(np.zeros((3, 3, 3))).any()
    out = normalize_intensity(np.full((3, 3, 3), 7.0))
    assert out.dtype == np.float32 and np.all(out == 1.0)


def test_read_nifti_slices_ranges_and_errors(tmp_path):
    volume = np.random.default_rng(3).random(GRID_SHAPE).astype(np.float32)
    path = _save(volume, tmp_path / "v.nii.gz")
    assert read_nifti_slices(path, slice(66, 78)).shape == (12, 121, 121)
    assert read_nifti_slices(path, slice(66, 78, 4)).shape == (3, 121, 121)
    np.testing.assert_array_equal(
        read_nifti_slices(path, -1)[0], read_nifti_slices(path, 144)[0]
    )
    for bad in (145, -146, slice(200, 210)):
        with pytest.raises(BlurkitInputError, match="v.nii.gz") as info:
            read_nifti_slices(path, bad)
        assert "0..144" in str(info.value)


def test_four_d_volumes(tmp_path):
    volume = np.random.default_rng(4).random(GRID_SHAPE).astype(np.float32)
    one = _save(volume[..., None], tmp_path / "one.nii")
    np.testing.assert_array_equal(
        read_image(one), read_image(_save(volume, tmp_path / "v.nii"))
    )
    two = _save(np.stack([volume, volume], axis=-1), tmp_path / "two.nii")
    with pytest.raises(BlurkitInputError, match=r"two.nii.*expected a 3-D volume"):
        read_image(two)


@pytest.mark.parametrize("content", [b"not a volume at all", b"\x1f\x8b\x08trunc"])
def test_unreadable_nifti_names_the_file(tmp_path, content):
    path = tmp_path / "broken.nii.gz"
    path.write_bytes(content)
    with pytest.raises(BlurkitInputError, match="broken.nii.gz") as info:
        read_image(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_a_header_declaring_a_huge_volume_is_refused_before_reading(tmp_path, suffix):
    # A few bytes on disk that declare 1024**3 float32 voxels (4 GB): refused
    # from the header, without reserving the memory.
    import gzip
    import resource

    header = nib.Nifti1Header()
    header.set_data_shape((1024, 1024, 1024))
    header.set_data_dtype(np.float32)
    header.set_qform(CHALLENGE_AFFINE, code=1)
    data = header.binaryblock + b"\0" * 4 + b"\0" * 1024
    path = tmp_path / f"bomb{suffix}"
    path.write_bytes(gzip.compress(data) if suffix == ".nii.gz" else data)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(BlurkitInputError, match=r"bomb.*1073741824 voxels.*at most"):
        read_nifti_slices(path)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 200_000


def test_default_coronal_index_follows_world_coordinates():
    assert default_coronal_index(CHALLENGE_AFFINE, GRID_SHAPE) == DEFAULT_CORONAL_INDEX
    # The 1 mm MNI grid: y = -18 mm is index 108.
    one_mm = np.eye(4)
    one_mm[:3, 3] = (-90, -126, -72)
    assert default_coronal_index(one_mm, (181, 217, 181)) == 108
    shifted = one_mm.copy()
    shifted[1, 3] = 100.0  # y from 100 mm upwards: -18 mm is outside
    with pytest.raises(ValueError, match="--slice"):
        default_coronal_index(shifted, (181, 217, 181))


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("sub-01_T1w.nii.gz", "sub-01"),
        ("sub-ABC123_ses-02_run-1_T1w.nii", "sub-ABC123_ses-02"),
        ("prefix_sub-7_T1w.NII.GZ", "sub-7"),
        ("brain.nii.gz", "brain"),
        ("subject-1.nii", "subject-1"),
    ],
)
def test_bids_subject_ids(name, subject):
    assert nifti_subject_id(name) == subject


def test_list_images_finds_volumes_with_bids_ids(volumes):
    folder, expected = volumes
    pairs = list_images([folder])
    assert [s for s, _ in pairs] == sorted(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72", 72),
        ("-1", -1),
        ("60:80", slice(60, 80)),
        ("60:80:2", slice(60, 80, 2)),
        (":", slice(None, None)),
    ],
)
def test_parse_slices(text, expected):
    assert parse_slices(text) == expected


@pytest.mark.parametrize("text", ["", "a", "1:2:3:4", "1:x", "1:5:0"])
def test_parse_slices_rejects(text):
    with pytest.raises(ValueError, match="slice"):
        parse_slices(text)


# --------------------------------------------------------------------------- #
# blurkit predict
# --------------------------------------------------------------------------- #


def test_predict_labels_sharp_and_blurred_volumes(model_file, volumes, tmp_path):
    folder, expected = volumes
    out = tmp_path / "out.tsv"
    assert main(["predict", str(model_file), str(folder), "-o", str(out), "-q"]) == 0
    header, rows = _read_tsv(out)
    assert header == ["Subject", "Label"]
    assert {s: int(label) for s, label in rows} == expected


def test_predict_several_slices_summarises_each_volume(model_file, volumes, tmp_path):
    folder, expected = volumes
    out = tmp_path / "out.tsv"
    args = ["predict", str(model_file), str(folder), "-o", str(out), "-q"]
    assert main([*args, "--slices", "64:82:3", "--proba", "--sigma"]) == 0
    header, rows = _read_tsv(out)
    assert header == ["Subject", "Label", "Probability", "Sigma_px", "Sigma_mm"]
    for subject, label, proba, sigma_px, _ in rows:
        assert int(label) == expected[subject]
        assert (float(proba) > 0.5) == (label == "1")
        # Blurred volumes: sigma 3 voxels; sharp ones: much less.
        assert (float(sigma_px) > 1.5) == (label == "0")


def test_predict_one_chosen_slice_equals_default(model_file, volumes, tmp_path):
    folder, _ = volumes
    default, chosen = tmp_path / "default.tsv", tmp_path / "chosen.tsv"
    args = ["predict", str(model_file), str(folder), "--proba", "-q"]
    assert main([*args, "-o", str(default)]) == 0
    assert main([*args, "-o", str(chosen), "--slice", str(DEFAULT_CORONAL_INDEX)]) == 0
    _, a = _read_tsv(default)
    _, b = _read_tsv(chosen)
    assert [r[:2] for r in a] == [r[:2] for r in b]
    np.testing.assert_allclose(
        [float(r[2]) for r in a], [float(r[2]) for r in b], atol=1e-5
    )


def test_predict_slice_errors(model_file, volumes, tmp_path, capsys):
    folder, _ = volumes
    out = tmp_path / "out.tsv"
    png = next((DEMO_DATA / "validation").glob("*.png"))
    assert (
        main(["predict", str(model_file), str(png), "-o", str(out), "--slice", "3"])
        == 1
    )
    assert "NIfTI" in capsys.readouterr().err and not out.exists()
    assert (
        main(
            ["predict", str(model_file), str(folder), "-o", str(out), "--slice", "300"]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("blurkit: error:") and "out of range" in err
    assert not out.exists()
    with pytest.raises(SystemExit) as info:
        main(["predict", str(model_file), str(folder), "-o", str(out), "--slices", "x"])
    assert info.value.code == 2


def test_predict_volumes_skip_unreadable(model_file, volumes, tmp_path, capsys):
    folder, expected = volumes
    broken = tmp_path / "sub-99_T1w.nii.gz"
    broken.write_bytes(b"junk")
    out = tmp_path / "out.tsv"
    some = sorted(folder.iterdir())[:2]
    args = ["predict", str(model_file), *map(str, some), str(broken), "-o", str(out)]
    assert main([*args, "--slices", "70:75", "--on-error", "skip", "-q"]) == 3
    assert "sub-99_T1w.nii.gz" in capsys.readouterr().err
    _, rows = _read_tsv(out)
    assert [int(label) for _, label in rows] == [
        expected[s] for s in ("sub-00", "sub-01")
    ]


def test_evaluate_a_labelled_folder_of_volumes(model_file, volumes, capsys):
    from blurkit.io import write_predictions

    folder, expected = volumes
    write_predictions(folder / "subjects.tsv", list(expected), list(expected.values()))
    try:
        assert main(["evaluate", str(model_file), str(folder)]) == 0
    finally:
        (folder / "subjects.tsv").unlink()
    assert "Accuracy:           1.000" in capsys.readouterr().out
