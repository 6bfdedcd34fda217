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
"""

from ._augment import AugmentedClassifier, DegradationAugmenter
from ._io import (
    BlurkitInputError,
    list_images,
    load_dataset,
    read_image,
    read_subjects_tsv,
    write_predictions,
)
from ._metrics import (
    band_power_profile,
    highfreq_energy_ratio,
    laplacian_variance,
    noise_std,
)
from ._models import (
    BlurDetector,
    cv_results_table,
    default_param_grid,
    degraded_accuracy,
    make_classifier,
    make_feature_pipeline,
    make_hybrid,
    make_model_search,
)
from ._persistence import load_model, save_model
from ._sigma import BlurSigmaRegressor, make_sigma_training_set
from ._transformers import FFTSharpness, LaplacianVariance, SharpnessFeatures

__version__ = "0.1.0"

__all__ = [
    "AugmentedClassifier",
    "BlurDetector",
    "BlurNetClassifier",
    "BlurSigmaRegressor",
    "BlurkitInputError",
    "DegradationAugmenter",
    "FFTSharpness",
    "LaplacianVariance",
    "SharpnessFeatures",
    "band_power_profile",
    "cv_results_table",
    "default_param_grid",
    "degraded_accuracy",
    "highfreq_energy_ratio",
    "laplacian_variance",
    "list_images",
    "load_dataset",
    "load_model",
    "make_classifier",
    "make_feature_pipeline",
    "make_hybrid",
    "make_model_search",
    "make_sigma_training_set",
    "noise_std",
    "read_image",
    "read_subjects_tsv",
    "save_model",
    "write_predictions",
]


def __getattr__(name):
    # The CNN imports torch: load it only when asked for.
    if name == "BlurNetClassifier":
        from ._cnn import BlurNetClassifier

        return BlurNetClassifier
    raise AttributeError(f"module 'blurkit' has no attribute {name!r}")
