"""blurkit: tell sharp brain MRI slices from blurred ones.

The package's folders are its layers, each importing only those below it:

- ``metrics``: pure functions of images;
- ``degrade``: degradations and the registry of the robustness contract;
- ``features``: scikit-learn transformers over the metrics;
- ``models``: the feature pipeline, the CNN, the hybrid, augmentation, the
  blur-sigma regressor, model selection and the lightweight predictors;
- ``io``: images, NIfTI volumes, tables, folders, atomic writes, model files;
- ``report``: evaluation, the HTML report and plots;
- ``workflow``: training and streaming prediction, in threads or on Dask;
- ``cli``: the ``blurkit`` command.

Beneath them all: ``exceptions``, ``_validation`` (the one validator, pixel
conversion and random-state rule), ``_geometry`` (the challenge's grid) and
``_threads``. ``datasets`` (the demo data) sits on top, beside ``cli``.

Names are imported from their subpackages on first use: ``import blurkit``
costs almost nothing, and the command line imports scikit-learn or torch
only when the model needs them.
"""

import importlib

__version__ = "0.3.0"

# Public name -> module that defines or re-exports it. Modules are imported
# on first use (PEP 562), so that `import blurkit` is cheap and the command
# line loads only what a command needs: predicting with a features model
# imports neither scikit-learn nor torch.
_SUBMODULE = {
    "DEFAULT_CORONAL_INDEX": "_geometry",
    "PIXEL_SPACING_MM": "_geometry",
    "MAX_ABS_VALUE": "_validation",
    "MIN_IMAGE_SIZE": "_validation",
    "BlurkitInputError": "exceptions",
    "DEGRADATIONS": "degrade",
    "band_power_profile": "metrics",
    "highfreq_energy_ratio": "metrics",
    "laplacian_variance": "metrics",
    "noise_std": "metrics",
    "sharpness_features": "metrics",
    "FFTSharpness": "features",
    "LaplacianVariance": "features",
    "SharpnessFeatures": "features",
    "AugmentedClassifier": "models",
    "BlurDetector": "models",
    "BlurNetClassifier": "models",
    "BlurSigmaRegressor": "models",
    "DegradationAugmenter": "models",
    "FAMILIES": "models",
    "cv_results_table": "models",
    "default_param_grid": "models",
    "degraded_accuracy": "models",
    "make_classifier": "models",
    "make_feature_pipeline": "models",
    "make_hybrid": "models",
    "make_model_search": "models",
    "make_sigma_training_set": "models",
    "with_outer_features": "models",
    "Dataset": "io",
    "check_writable": "io",
    "TRUSTED_TYPES": "io",
    "list_images": "io",
    "load_dataset": "io",
    "load_model": "io",
    "load_predictor": "io",
    "read_image": "io",
    "read_subjects_tsv": "io",
    "save_model": "io",
    "write_image": "io",
    "write_predictions": "io",
    "evaluate": "report",
    "format_metrics": "report",
    "model_details": "report",
    "write_qc_report": "report",
    "write_report": "report",
    "predict_files": "workflow",
    "train_detector": "workflow",
}

__all__ = sorted(_SUBMODULE)


# The library's subpackages, loaded on first use (not ``cli``: importing it
# sets up the command's process, see blurkit._process). ``blurkit.degrade``
# is the subpackage (its function is ``blurkit.degrade.degrade``), so that
# ``from blurkit import degrade`` and ``import blurkit.degrade`` agree.
_SUBPACKAGES = (
    "degrade",
    "features",
    "io",
    "metrics",
    "models",
    "report",
    "workflow",
)


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name in _SUBMODULE:
        module = importlib.import_module(f".{_SUBMODULE[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'blurkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
