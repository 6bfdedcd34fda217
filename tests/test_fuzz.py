"""Seeded fuzzing of every input blurkit reads: PNG, subjects.tsv, NIfTI, models.

Each input is a sound file with flipped bytes, cut short, or with junk
spliced in (seeded: the same files every run). Each must either be read, or
be refused with blurkit's one-line input error naming the file: never any
other exception. Through ``blurkit predict --on-error skip``, every file of a
folder of them is accounted for, as predicted or as skipped.
"""

import nibabel as nib
import numpy as np
import pytest
from conftest import DEMO_DATA

from blurkit.cli import main
from blurkit.io import (
    load_dataset,
    load_model,
    load_predictor,
    read_image,
    read_nifti_slices,
    read_subjects_tsv,
    save_model,
)
from blurkit.models import make_feature_pipeline

SEED = 20240613


def mutate(data, rng):
    """``data`` with bytes flipped, cut short, or junk spliced in (or all)."""
    data = bytearray(data)
    kind = rng.integers(4)
    if kind in (0, 3):  # flip 1 to 8 random bytes
        for at in rng.integers(len(data), size=rng.integers(1, 9)):
            data[at] ^= int(rng.integers(1, 256))
    if kind in (1, 3):  # cut short
        del data[rng.integers(len(data)) :]
    if kind in (2, 3) and data:  # splice in junk, random or repeated
        at = int(rng.integers(len(data)))
        size = int(rng.integers(1, 64))
        junk = rng.bytes(size) if rng.random() < 0.5 else bytes([255]) * size
        data[at : at + int(rng.integers(0, 8))] = junk
    return bytes(data)


def mutants(data, n, seed):
    rng = np.random.default_rng([SEED, seed])
    return [mutate(data, rng) for _ in range(n)]


def check_refusal(exc, path):
    """The error blurkit prints: a ValueError, on one line, naming the file."""
    assert isinstance(exc, ValueError), f"{path}: {type(exc).__name__}: {exc}"
    message = str(exc)
    assert "\n" not in message and str(path) in message, message


def fuzz(read, sound, suffix, tmp_path, n, seed):
    """Read ``n`` mutants of ``sound``; return how many were read."""
    read_ok = 0
    for i, data in enumerate(mutants(sound, n, seed)):
        path = tmp_path / f"mutant{i:03d}{suffix}"
        path.write_bytes(data)
        try:
            read(path)
        except Exception as exc:  # noqa: BLE001 - the point: which type?
            check_refusal(exc, path)
        else:
            read_ok += 1
    return read_ok


@pytest.fixture(scope="module")
def sound_png():
    return (DEMO_DATA / "validation" / "sub-DEMO0081.png").read_bytes()


@pytest.fixture(scope="module")
def sound_nifti(tmp_path_factory):
    """A small volume, plain and gzipped."""
    folder = tmp_path_factory.mktemp("nifti")
    volume = np.random.default_rng(0).random((24, 40, 24), dtype=np.float32)
    affine = np.diag([1.5, 1.5, 1.5, 1.0])
    affine[:3, 3] = [-18, -45, -18]
    sound = {}
    for suffix in (".nii", ".nii.gz"):
        nib.save(nib.Nifti1Image(volume, affine), folder / f"v{suffix}")
        sound[suffix] = (folder / f"v{suffix}").read_bytes()
    return sound


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A features model with its lightweight predictor."""
    train = load_dataset(DEMO_DATA / "train")
    model = make_feature_pipeline().fit(train.images[:24], train.labels[:24])
    path = tmp_path_factory.mktemp("model") / "model.blurkit"
    save_model(model, path)
    return path


def test_fuzzed_pngs(tmp_path, sound_png):
    assert read_image_ok(tmp_path / "sound.png", sound_png)
    read = fuzz(read_image, sound_png, ".png", tmp_path, 300, seed=1)
    assert read < 300  # most mutants are damaged, and refused


def read_image_ok(path, data):
    path.write_bytes(data)
    return read_image(path).shape == (121, 121)


def test_fuzzed_subjects_tsv(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    lines = (DEMO_DATA / "train" / "subjects.tsv").read_bytes().splitlines()[:9]
    sound = b"\n".join(lines) + b"\n"
    for line in lines[1:]:  # the images it lists: empty files suffice
        subject = line.split(b"\t")[0].decode()
        (folder / f"{subject}.png").write_bytes(b"x")

    def read(path):
        read_subjects_tsv(path)

    fuzz(read, sound, ".tsv", folder, 150, seed=2)
    fuzz(read, b"\r\n".join(lines), ".tsv", folder, 50, seed=3)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_fuzzed_nifti(tmp_path, sound_nifti, suffix):
    def read(path):
        read_nifti_slices(path, slice(10, 12))

    read(_write(tmp_path / f"sound{suffix}", sound_nifti[suffix]))
    fuzz(read, sound_nifti[suffix], suffix, tmp_path, 80, seed=4)


def _write(path, data):
    path.write_bytes(data)
    return path


def test_fuzzed_model_files(tmp_path, model_file):
    sound = model_file.read_bytes()
    assert load_predictor(model_file) is not None
    fuzz(load_predictor, sound, ".blurkit", tmp_path, 200, seed=5)
    fuzz(lambda p: load_model(p), sound, ".blurkit", tmp_path, 60, seed=6)


def test_fuzzed_folder_every_file_accounted_for(
    tmp_path, sound_png, sound_nifti, model_file, capsys
):
    folder = tmp_path / "scans"
    folder.mkdir()
    names = []
    for i, data in enumerate(mutants(sound_png, 30, seed=7)):
        names.append(f"png{i:02d}.png")
        (folder / names[-1]).write_bytes(data)
    for i, data in enumerate(mutants(sound_nifti[".nii.gz"], 6, seed=8)):
        names.append(f"vol{i:02d}.nii.gz")
        (folder / names[-1]).write_bytes(data)
    # And two sound ones, so that some are predicted.
    (folder / "sound.png").write_bytes(sound_png)
    (folder / "soundvol.nii.gz").write_bytes(sound_nifti[".nii.gz"])
    names += ["sound.png", "soundvol.nii.gz"]
    out = tmp_path / "out.tsv"
    args = ["predict", str(model_file), str(folder), "-o", str(out)]
    code = main([*args, "--on-error", "skip", "--batch-size", "7", "-q"])
    err = capsys.readouterr().err
    assert code in (0, 3), err
    predicted = [line.split("\t")[0] for line in out.read_text().splitlines()[1:]]
    skipped = [
        line.split(": ", 2)[1].removeprefix("skipped ")
        for line in err.splitlines()
        if line.startswith("blurkit: skipped ")
    ]
    assert all(line.startswith("blurkit: skipped ") for line in err.splitlines())
    # Every file once: predicted (by subject id) or skipped (by path).
    subjects = {
        name: name.removesuffix(".nii.gz").removesuffix(".png") for name in names
    }
    skipped_names = sorted(path.rsplit("/", 1)[1] for path in skipped)
    assert sorted(predicted) == sorted(
        subjects[n] for n in names if n not in skipped_names
    )
    assert len(predicted) + len(skipped_names) == len(names)
    assert {"sound", "soundvol"} <= set(predicted)


def test_mutate_is_seeded_and_changes_the_data(sound_png):
    assert mutants(sound_png, 5, seed=0) == mutants(sound_png, 5, seed=0)
    assert all(m != sound_png for m in mutants(sound_png, 20, seed=0))
