"""What people look at: evaluation, the HTML report and plots.

``_evaluate`` scores a model, ``_html`` renders the self-contained report
page from the templates in ``templates/``, ``_qc`` the QC report of
unlabelled images (``blurkit predict --report``), ``_figures`` draws their
pictures and ``_plots`` holds the public plotting functions (also at
:mod:`blurkit.plot`). May import: :mod:`blurkit.io` (to write),
:mod:`blurkit.models`, :mod:`blurkit.features`, the bottom modules,
matplotlib (figures without pyplot) and pandas.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_evaluate": ["evaluate", "format_metrics", "model_details"],
        "_html": ["render_report", "write_report"],
        "_plots": ["plot_cv_results", "plot_feature_distributions", "plot_gallery"],
        "_qc": ["render_qc_report", "write_qc_report"],
    },
)
