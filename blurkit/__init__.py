"""blurkit: tell sharp brain MRI slices from blurred ones.

Layers, from the bottom up:

- image metrics, pure functions of 2-D arrays (``laplacian_variance``,
  ``highfreq_energy_ratio``, ``noise_std``, ``band_power_profile``);
- scikit-learn transformers over them (``LaplacianVariance``,
  ``FFTSharpness``, ``SharpnessFeatures``);
- models: the feature pipeline, the skorch CNN ``BlurNetClassifier`` (torch is
  imported only when it is used), the hybrid, degradation augmentation, the
  blur-sigma regressor and ``BlurDetector``, with cross-validated model
  selection;
- I/O: the only code that touches files.

Names are imported from their submodules on first use: ``import blurkit``
costs almost nothing, and the command line imports scikit-learn or torch
only when the model needs them.
"""

import importlib

__version__ = "0.2.0"

# Public name -> submodule. Submodules are imported on first use (PEP 562), so
# that `import blurkit` is cheap and the command line loads only what a
# command needs: predicting with a features model imports neither
# scikit-learn nor torch.
_SUBMODULE = {
    "AugmentedClassifier": "_augment",
    "DegradationAugmenter": "_augment",
    "BlurNetClassifier": "_cnn",
    "BlurkitInputError": "_io",
    "list_images": "_io",
    "load_dataset": "_io",
    "read_image": "_io",
    "read_subjects_tsv": "_io",
    "write_predictions": "_io",
    "band_power_profile": "_metrics",
    "highfreq_energy_ratio": "_metrics",
    "laplacian_variance": "_metrics",
    "noise_std": "_metrics",
    "sharpness_features": "_metrics",
    "BlurDetector": "_models",
    "cv_results_table": "_models",
    "default_param_grid": "_models",
    "degraded_accuracy": "_models",
    "make_classifier": "_models",
    "make_feature_pipeline": "_models",
    "make_hybrid": "_models",
    "make_model_search": "_models",
    "load_model": "_persistence",
    "save_model": "_persistence",
    "BlurSigmaRegressor": "_sigma",
    "make_sigma_training_set": "_sigma",
    "FFTSharpness": "_transformers",
    "LaplacianVariance": "_transformers",
    "SharpnessFeatures": "_transformers",
}

__all__ = sorted(_SUBMODULE)


def __getattr__(name):
    if name in _SUBMODULE:
        module = importlib.import_module(f".{_SUBMODULE[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'blurkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
