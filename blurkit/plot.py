"""Plots of blurkit's results, with matplotlib.

The public home of the plotting functions, implemented in
:mod:`blurkit.report`. matplotlib is imported only when a function is
called, and no function changes matplotlib's global settings (backend,
style, rcParams); each returns the matplotlib object it drew on.
"""

from .report._plots import plot_cv_results, plot_feature_distributions, plot_gallery

__all__ = ["plot_cv_results", "plot_feature_distributions", "plot_gallery"]
