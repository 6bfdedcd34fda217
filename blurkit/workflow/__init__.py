"""End-to-end jobs: training from a folder, and streaming prediction.

One streaming engine (``_predict``) for image files and NIfTI volumes, in
threads or on a Dask cluster (``_dask``); training (``_train``). The command
line and ``examples/run.py`` only parse arguments and call these. May import:
:mod:`blurkit.io`, :mod:`blurkit.models`, :mod:`blurkit.report`, the bottom
modules, and dask (optional, only when a cluster is used).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_dask": ["dask_client", "map_on_cluster"],
        "_predict": ["predict_chunk", "predict_files"],
        "_train": ["train_detector"],
    },
)
