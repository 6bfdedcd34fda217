"""Tests of BIDS dataset discovery on tiny fake datasets (names only)."""

from pathlib import Path

import pytest

from blurkit import BlurkitInputError, list_images
from blurkit.io import find_bids_t1w, is_bids_root


class DatasetError(ValueError):
    """Stands for blurkit's BlurkitInputError."""


def make_dataset(root: Path, names) -> Path:
    root.mkdir(exist_ok=True)
    (root / "dataset_description.json").write_text("{}")
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return root


def found(root, **kwargs):
    rows = find_bids_t1w(root, **kwargs)
    return [(key, path.relative_to(root).as_posix()) for key, path in rows]


def test_is_bids_root(tmp_path):
    assert not is_bids_root(tmp_path)
    assert not is_bids_root(tmp_path / "missing")
    (tmp_path / "dataset_description.json").mkdir()
    assert not is_bids_root(tmp_path)
    make_dataset(tmp_path / "bids", [])
    assert is_bids_root(tmp_path / "bids")
    assert is_bids_root(str(tmp_path / "bids"))


def test_finds_subjects_and_sessions_sorted(tmp_path):
    root = make_dataset(
        tmp_path,
        [
            "sub-10/anat/sub-10_T1w.nii.gz",
            "sub-02/ses-b/anat/sub-02_ses-b_T1w.nii",
            "sub-02/ses-a/anat/sub-02_ses-a_acq-mprage_T1w.nii.gz",
            "sub-01/anat/sub-01_T1w.nii.gz",
        ],
    )
    assert found(root) == [
        ("sub-01", "sub-01/anat/sub-01_T1w.nii.gz"),
        ("sub-02_ses-a", "sub-02/ses-a/anat/sub-02_ses-a_acq-mprage_T1w.nii.gz"),
        ("sub-02_ses-b", "sub-02/ses-b/anat/sub-02_ses-b_T1w.nii"),
        ("sub-10", "sub-10/anat/sub-10_T1w.nii.gz"),
    ]


def test_skips_what_is_not_raw_t1w(tmp_path):
    root = make_dataset(
        tmp_path,
        [
            "sub-01/anat/sub-01_T1w.nii.gz",
            "sub-01/anat/sub-01_T1w.json",
            "sub-01/anat/sub-01_T2w.nii.gz",
            "sub-01/anat/.sub-01_T1w.nii.gz",
            "sub-01/anat/sub-01_T1w.nii.gz.bak",
            "sub-01/func/sub-01_task-rest_bold.nii.gz",
            "sub-01/anat/extra/sub-01_T1w.nii.gz",
            "sub-01/ses-1/sub-01_ses-1_T1w.nii.gz",
            "derivatives/sub-01/anat/sub-01_T1w.nii.gz",
            "sourcedata/sub-01/anat/sub-01_T1w.nii.gz",
            "code/sub-01/anat/sub-01_T1w.nii.gz",
            ".git/sub-01/anat/sub-01_T1w.nii.gz",
            ".sub-02/anat/sub-02_T1w.nii.gz",
            "sub-03_backup/anat/sub-03_T1w.nii.gz",
            "sub-04/.ses-1/anat/sub-04_ses-1_T1w.nii.gz",
            "sub-05/anat/.hidden/sub-05_T1w.nii.gz",
        ],
    )
    (root / "sub-06").touch()  # a file, not a subject folder
    (root / "sub-01" / "anat" / "sub-01_run-2_T1w.nii.gz").mkdir()
    assert found(root) == [("sub-01", "sub-01/anat/sub-01_T1w.nii.gz")]


def test_several_runs_get_unique_ids(tmp_path):
    root = make_dataset(
        tmp_path,
        [
            "sub-01/anat/sub-01_run-1_T1w.nii.gz",
            "sub-01/anat/sub-01_run-2_T1w.nii.gz",
            "sub-02/anat/sub-02_run-1_T1w.nii.gz",
            "sub-03/ses-1/anat/sub-03_ses-1_acq-mprage_T1w.nii.gz",
            "sub-03/ses-1/anat/sub-03_ses-1_acq-spgr_run-2_T1w.nii",
            "sub-03/ses-2/anat/sub-03_ses-2_T1w.nii.gz",
            "sub-04/anat/sub-04_T1w.nii.gz",
            "sub-04/ses-1/anat/sub-04_ses-1_T1w.nii.gz",
        ],
    )
    keys = [key for key, _ in found(root)]
    assert keys == [
        "sub-01_run-1",
        "sub-01_run-2",
        # A single T1w keeps the short id, whatever its entities.
        "sub-02",
        "sub-03_ses-1_acq-mprage",
        "sub-03_ses-1_acq-spgr_run-2",
        "sub-03_ses-2",
        "sub-04",
        "sub-04_ses-1",
    ]


def test_symlinks_are_kept(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "volume.nii.gz").touch()
    root = make_dataset(tmp_path / "bids", [])
    for subject, target in [("01", store / "volume.nii.gz"), ("02", store / "gone")]:
        anat = root / f"sub-{subject}" / "anat"
        anat.mkdir(parents=True)
        (anat / f"sub-{subject}_T1w.nii.gz").symlink_to(target)
    rows = find_bids_t1w(str(root))
    # Dangling links (git-annex files not fetched) are listed, not dropped.
    assert [key for key, _ in rows] == ["sub-01", "sub-02"]
    assert all(path.is_symlink() for _, path in rows)
    assert rows[0][1] == root / "sub-01" / "anat" / "sub-01_T1w.nii.gz"


def test_no_t1w_raises_the_given_error(tmp_path):
    root = make_dataset(tmp_path, ["sub-01/anat/sub-01_T2w.nii.gz"])
    with pytest.raises(DatasetError, match="no T1w image found") as info:
        find_bids_t1w(root, error=DatasetError)
    message = str(info.value)
    assert str(root) in message
    assert "sub-*/[ses-*/]anat/*_T1w.nii[.gz]" in message
    assert "\n" not in message
    with pytest.raises(ValueError, match="no T1w image found"):
        find_bids_t1w(tmp_path / "sub-01")


def test_not_a_folder_raises(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        find_bids_t1w(tmp_path / "missing", error=DatasetError)


@pytest.mark.parametrize(
    "name",
    [
        "sub-01/anat/sub-02_T1w.nii.gz",
        "sub-01/anat/sub-1_T1w.nii.gz",
        "sub-01/anat/run-1_sub-01_T1w.nii.gz",
        "sub-01/ses-1/anat/sub-01_ses-2_T1w.nii.gz",
        "sub-01/ses-1/anat/sub-01_T1w.nii.gz",
    ],
)
def test_entities_must_match_the_folders(tmp_path, name):
    root = make_dataset(tmp_path, [name])
    with pytest.raises(DatasetError, match="do not match its folders") as info:
        find_bids_t1w(root, error=DatasetError)
    assert str(root / name) in str(info.value)


def test_one_image_in_two_files_raises(tmp_path):
    root = make_dataset(
        tmp_path, ["sub-01/anat/sub-01_T1w.nii", "sub-01/anat/sub-01_T1w.nii.gz"]
    )
    with pytest.raises(DatasetError, match="same image as"):
        find_bids_t1w(root, error=DatasetError)


def test_list_images_reads_a_bids_dataset(tmp_path):
    root = tmp_path / "bids"
    for rel in [
        "sub-02/anat/sub-02_T1w.nii.gz",
        "sub-01/ses-b/anat/sub-01_ses-b_T1w.nii",
        "sub-01/ses-a/anat/sub-01_ses-a_T1w.nii.gz",
        "derivatives/x/sub-09/anat/sub-09_T1w.nii.gz",
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    (root / "dataset_description.json").write_text("{}")
    rows = list_images(root)
    assert [subject for subject, _ in rows] == [
        "sub-01_ses-a",
        "sub-01_ses-b",
        "sub-02",
    ]
    assert rows[2][1] == root / "sub-02/anat/sub-02_T1w.nii.gz"


def test_list_images_names_an_empty_bids_dataset(tmp_path):
    (tmp_path / "dataset_description.json").write_text("{}")
    with pytest.raises(BlurkitInputError, match="T1w"):
        list_images(tmp_path)
