"""The challenge's geometry: coronal slices of volumes on the 1.5 mm MNI grid.

One place for these numbers: the demo data, NIfTI slicing and the blur size
in millimetres (``Sigma_mm``) all read them from here.
"""

__all__ = [
    "DEFAULT_CORONAL_INDEX",
    "GRID_ORIGIN_MM",
    "GRID_SHAPE",
    "GRID_STEP_MM",
    "PIXEL_SPACING_MM",
]

GRID_SHAPE = (121, 145, 121)
"""Shape (x, y, z) of the standard 1.5 mm MNI grid of the challenge volumes."""

GRID_ORIGIN_MM = (-90.0, -126.0, -72.0)
"""World position (mm) of voxel (0, 0, 0) of that grid."""

GRID_STEP_MM = 1.5
"""Voxel size of that grid, in mm."""

PIXEL_SPACING_MM = GRID_STEP_MM
"""Default pixel size of a slice, in mm, for blur sizes in millimetres."""

DEFAULT_CORONAL_INDEX = 72
"""Coronal index (second axis) of the challenge slice on the 1.5 mm MNI grid.

y = -18 mm, through the thalamus: the slice of the grey-matter template that
best matches the mean of the challenge's sharp training images.
"""
