"""Input and output: the only code of blurkit that touches files.

Images (``_images``), NIfTI volumes (``_nifti``), tables (``_tables``),
folders and datasets (``_folders``), atomic writes (``_atomic``), model
files (``_model_files``, with the networks inside them in ``_nets``, read
within the limits of ``_zip_limits``) and the
built-in model shipped in ``data/`` (``_builtin``). Every
problem with an input file raises :class:`~blurkit.BlurkitInputError`;
every writer is atomic. May import: :mod:`blurkit.models` (to save and load
them), the bottom modules, numpy, Pillow, nibabel, skops.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_atomic": ["atomic_path", "check_writable"],
        "_bids": ["find_bids_t1w", "is_bids_root"],
        "_builtin": ["BUILTIN_FAMILY", "builtin_model_path"],
        "_folders": [
            "Dataset",
            "is_image_name",
            "list_image_paths",
            "list_images",
            "load_dataset",
            "subject_id",
        ],
        "_images": ["IMAGE_SUFFIXES", "read_image", "read_pixels", "write_image"],
        "_model_files": ["TRUSTED_TYPES", "load_model", "load_predictor", "save_model"],
        "_nifti": [
            "MAX_VOLUME_VOXELS",
            "NIFTI_SUFFIXES",
            "coronal_slice",
            "default_coronal_index",
            "is_nifti_name",
            "nifti_subject_id",
            "normalize_intensity",
            "parse_slices",
            "read_nifti_slice",
            "read_nifti_slices",
        ],
        "_tables": [
            "SUBJECTS_FILE",
            "read_subject_ids",
            "read_subjects_tsv",
            "write_predictions",
        ],
    },
)
