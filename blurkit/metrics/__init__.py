"""Image metrics: pure functions of 2-D images, the bottom layer.

Each metric takes an image first and options after, converts it to float up
front and never returns NaN: constant images and zero background give the
documented edge value. The ``*_stack`` variants compute the same quantity for
a stack of equally sized images, of shape ``(n, H, W)``, in one vectorised
pass. May import: numpy, scipy and :mod:`blurkit._validation`; nothing else
of blurkit.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_resampling": ["RESAMPLING_PERIODS"],
        "_sharpness": [
            "LOG_FLOOR",
            "SHARPNESS_BAND_EDGES",
            "log10_ratio",
            "sharpness_features",
            "sharpness_features_stack",
        ],
        "_spatial": [
            "laplacian_variance",
            "laplacian_variance_stack",
            "noise_std",
            "noise_std_stack",
        ],
        "_spectral": [
            "band_power_profile",
            "band_power_profile_stack",
            "highfreq_energy_ratio",
            "highfreq_energy_ratio_stack",
            "power_spectrum_stack",
        ],
    },
)
