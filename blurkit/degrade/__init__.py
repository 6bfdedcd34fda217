"""Degradations of images, and the registry of the robustness contract.

Pure functions, image first and options after: blurs (``_blur``), changes
that keep a label (``_changes``), artifacts of MRI acquisition made in
k-space (``_acquisition``, their parameter draws in
``_acquisition_draws``), and :data:`DEGRADATIONS`, every case of the contract
with the ranges its parameters are drawn from (``_registry``). May
import: numpy, scipy, scikit-image, Pillow and :mod:`blurkit._validation`.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_acquisition": [
            "bias_field",
            "ghosting",
            "gibbs_ringing",
            "kspace_motion",
            "kspace_spike",
            "rician_noise",
            "thick_slices",
            "truncate_kspace",
        ],
        "_blur": [
            "defocus_blur",
            "disk_kernel",
            "gaussian_blur",
            "motion_blur",
            "motion_kernel",
            "reduce_resolution",
        ],
        "_changes": [
            "add_noise",
            "adjust_gamma",
            "dihedral",
            "jpeg_compress",
            "resize_canvas",
            "scale_intensity",
            "stretch_contrast",
        ],
        "_registry": ["DEGRADATIONS", "Degradation", "degrade"],
    },
)
