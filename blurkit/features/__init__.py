"""scikit-learn transformers over the metrics: images in, feature tables out.

Thin wrappers: validation and grouping by image size here, the arithmetic in
:mod:`blurkit.metrics`. May import: :mod:`blurkit.metrics`,
:mod:`blurkit._validation`, scikit-learn.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_transformers": ["FFTSharpness", "LaplacianVariance", "SharpnessFeatures"],
    },
)
