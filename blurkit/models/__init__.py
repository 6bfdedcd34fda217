"""Estimators: the feature pipeline, the CNN, the hybrid, and model selection.

Also the degradation augmentation, the blur-sigma regressor, ``BlurDetector``
and the lightweight predictors that the command line predicts with. Nothing
here reads or writes files. May import: :mod:`blurkit.features`,
:mod:`blurkit.degrade`, :mod:`blurkit.metrics`, the bottom modules,
scikit-learn, skorch and torch (torch only in ``_blurnet`` and ``_cnn``,
imported when a CNN is built or loaded in full; the lightweight CNN
predictor runs the network in numpy, ``_blurnet_numpy``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_augment": ["AugmentedClassifier", "DegradationAugmenter"],
        "_cnn": ["BlurNetClassifier"],
        "_detector": ["BlurDetector"],
        "_families": [
            "FAMILIES",
            "check_family",
            "family_of",
            "make_classifier",
            "make_feature_pipeline",
            "make_hybrid",
            "with_outer_features",
        ],
        "_predictor": ["export_predictor", "make_predictor"],
        "_selection": [
            "cv_results_table",
            "default_param_grid",
            "degraded_accuracy",
            "describe_candidate",
            "make_model_search",
            "simplest_family_within_one_se",
        ],
        "_sigma": ["BlurSigmaRegressor", "make_sigma_training_set"],
    },
)
