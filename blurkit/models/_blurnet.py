"""BlurNet, the network of blurkit's CNN, and its inference: numpy and torch only.

:class:`~blurkit.BlurNetClassifier` (in ``blurkit._cnn``, with skorch and
scikit-learn) trains the network and predicts through
:func:`blurnet_predict_proba`; this module imports neither scikit-learn nor
skorch nor any blurkit module that does. The command line's lightweight
predictor runs a trained network without torch, with the same operations
written out in numpy (``_blurnet_numpy``; tests check both agree).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

__all__ = ["BlurNet", "blurnet_predict_proba"]

_EPS = 1e-6


class _ZeroMeanConv2d(torch.nn.Conv2d):
    """Convolution whose kernels are projected to zero mean at each call.

    A zero-mean kernel ignores the local mean intensity, so it responds to
    edges and texture only: a high-pass filter by construction.
    """

    def zero_mean_weight(self) -> torch.Tensor:
        """The kernels, each minus the mean of its own weights."""
        return self.weight - self.weight.mean(dim=(-2, -1), keepdim=True)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        # _conv_forward is Conv2d's own helper; it applies padding_mode.
        return self._conv_forward(input, self.zero_mean_weight(), self.bias)


class _LogEnergy(torch.autograd.Function):
    """Log of the mean square of each map, with its gradient written out.

    The forward pass is two passes (mean, then the norm of the deviations)
    rather than ``Tensor.var``, which is several times slower on CPU, and
    rather than ``E[r^2] - E[r]^2``, which cancels catastrophically on flat
    maps. The backward pass is the closed form ``2 r_c g / (S + n eps)``
    (``r_c`` the centred map, ``S`` its sum of squares, ``n`` its size; the
    mean's own gradient sums to zero): one product per pixel, where autograd
    through ``vector_norm`` took several passes (about 1 ms of a 19 ms
    training step of 32 images on one CPU thread).
    """

    @staticmethod
    def forward(ctx, r, centre):
        if centre:
            r = r - r.mean(dim=(-2, -1), keepdim=True)
        square = torch.linalg.vector_norm(r, dim=(-2, -1)).square()
        size = r.shape[-2] * r.shape[-1]
        ctx.save_for_backward(r, square)
        ctx.size = size
        return torch.log(square / size + _EPS)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        r, square = ctx.saved_tensors
        scale = 2 * grad / (square + ctx.size * _EPS)
        return r * scale[..., None, None], None


def _log_energy(r: torch.Tensor, *, centre: bool) -> torch.Tensor:
    """Log of the mean square of each map of ``r``, about its mean if ``centre``."""
    return _LogEnergy.apply(r, centre)


class _ImageConv(torch.autograd.Function):
    """A convolution of images that need no gradient, without padding.

    The output is ``F.conv2d``'s, bit for bit. Only the kernels' gradient is
    computed, as one batched matrix product with the image's patches: for a
    single input channel, oneDNN's weight gradient took about twice as long
    (3.4 against 1.6 ms for 32 images of 121x121, 8 kernels of 3x3, stride 2,
    one CPU thread). Level 0 of :class:`BlurNet` only.
    """

    @staticmethod
    def forward(ctx, image, weight, stride):
        ctx.save_for_backward(image, weight)
        ctx.stride = stride
        return F.conv2d(image, weight, None, stride)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        image, weight = ctx.saved_tensors
        n, n_out, out_h, out_w = grad.shape
        _, n_in, k_h, k_w = weight.shape
        image = image.contiguous()
        s_n, s_c, s_h, s_w = image.stride()
        # patches[b, (c, i, j), (y, x)] = image[b, c, sy * y + i, sx * x + j]
        patches = image.as_strided(
            (n, n_in, k_h, k_w, out_h, out_w),
            (s_n, s_c, s_h, s_w, ctx.stride[0] * s_h, ctx.stride[1] * s_w),
        ).reshape(n, n_in * k_h * k_w, out_h * out_w)
        grad = grad.reshape(n, n_out, out_h * out_w)
        weight_grad = torch.bmm(grad, patches.transpose(1, 2)).sum(0)
        return None, weight_grad.reshape(weight.shape), None


def _image_conv(image, weight, stride):
    """``F.conv2d(image, weight, None, stride)``, with :class:`_ImageConv`'s
    faster kernel gradient when ``image`` needs no gradient."""
    if image.requires_grad:
        return F.conv2d(image, weight, None, stride)
    return _ImageConv.apply(image, weight, stride)


class BlurNet(torch.nn.Module):
    """Shallow CNN scoring the high-frequency content of grey images.

    A learned, nonlinear pyramid: ``n_layers`` levels, each a convolution of
    stride 2 without padding, so that each level works at half the
    resolution of the one before.

    - Level 0 convolves the image with ``n_filters`` kernels kept at zero
      mean: it sees local differences only (a high-pass filter) and ignores
      the image's mean. Its stride of 2 keeps the finest frequencies in view
      (a 3x3 zero-mean kernel responds up to the Nyquist frequency); the
      output is the full-resolution response sampled on every other row and
      column, whose energy is about that of the full response, for a quarter
      of the cost. The response is divided by the image's standard deviation,
      which makes it the response of the standardised image: scaling or
      offsetting the intensities does not change the output.
    - Each later level passes the previous level's response plus its bias
      through a ReLU, then convolves it with ``n_filters`` kernels of
      ``n_filters`` channels.

    Every map of every level is pooled over the whole image as its log
    energy: the log of its mean square at level 0 (a zero-mean response), the
    log of its variance at later levels. Blur lowers the energy of high-pass
    responses by orders of magnitude, which the logarithm turns into an
    additive shift that a linear layer separates easily. Global pooling makes
    the network accept any image size.

    Parameters
    ----------
    n_filters : int, default=8
        Number of filters of each level.
    n_layers : int, default=3
        Number of levels (convolutions), at least 1.
    kernel_size : int, default=3
        Side of the (odd-sized) convolution kernels.
    dropout : float, default=0.0
        Dropout probability on the pooled features.
    n_classes : int, default=2
        Number of output logits.

    Attributes
    ----------
    levels : torch.nn.ModuleList
        The convolutions; the first one is a zero-mean convolution. All but
        the last have a bias.
    classifier : torch.nn.Linear
        Logits from the ``n_layers * n_filters`` log energies.
    min_size : int
        Smallest image side for which the last level has a pixel,
        ``2 ** n_layers * (kernel_size - 1) - kernel_size + 2``: 15 with the
        default settings.

    Notes
    -----
    The input is a float tensor of shape (n, H, W) or (n, 1, H, W); the output
    holds raw logits of shape (n, n_classes). Convolutions use only the
    pixels inside the image (no padding), so borders add no spurious edges. An
    image with a side under ``min_size`` is first padded by replicating its
    border up to that side.

    On a 121x121 image the levels work on maps of 60x60, 29x29 and 14x14
    pixels: about 0.9 million multiply-adds in all at 8 filters (0.3 at 4),
    a few tens of microseconds on one CPU thread.

    This architecture replaced one of full-resolution convolutions with
    replicated borders (blurkit 0.1.0). Its parameters are named
    ``levels.*`` rather than ``convs.*``, so that the weights of the former
    network, which mean nothing here, cannot be loaded into it by mistake.
    """

    def __init__(
        self,
        *,
        n_filters: int = 8,
        n_layers: int = 3,
        kernel_size: int = 3,
        dropout: float = 0.0,
        n_classes: int = 2,
    ):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1; got {n_layers}.")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be a positive odd integer; got {kernel_size}."
            )
        # Energies are taken before the bias, which only feeds the next
        # level's ReLU: the last level has none.
        self.levels = torch.nn.ModuleList(
            (_ZeroMeanConv2d if i == 0 else torch.nn.Conv2d)(
                1 if i == 0 else n_filters,
                n_filters,
                kernel_size,
                stride=2,
                bias=i < n_layers - 1,
            )
            for i in range(n_layers)
        )
        self.dropout = torch.nn.Dropout(dropout)
        self.classifier = torch.nn.Linear(n_layers * n_filters, n_classes)
        self.min_size = 2**n_layers * (kernel_size - 1) - kernel_size + 2

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return the logits of a batch of images."""
        if X.dim() == 3:
            X = X.unsqueeze(1)
        X = X.to(self.classifier.weight.dtype)
        height, width = X.shape[-2:]
        if min(height, width) < self.min_size:
            pad_h = max(self.min_size - height, 0)
            pad_w = max(self.min_size - width, 0)
            sides = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
            X = F.pad(X, sides, mode="replicate")
            height, width = X.shape[-2:]
        # Standard deviation in two passes; the centred image also feeds
        # level 0, whose zero-mean kernels would ignore the mean anyway.
        h = X - X.mean(dim=(-2, -1), keepdim=True)
        std = torch.linalg.vector_norm(h, dim=(-2, -1), keepdim=True)
        std = std / math.sqrt(height * width)
        features = []
        last = len(self.levels) - 1
        for i, conv in enumerate(self.levels):
            if i == 0:
                r = _image_conv(h, conv.zero_mean_weight(), conv.stride)
                r = r / (std + _EPS)
            else:
                r = F.conv2d(h, conv.weight, None, conv.stride)
            # Energy before the bias, which would only shift a mean square.
            features.append(_log_energy(r, centre=i > 0))
            if i < last:
                h = F.relu(r + conv.bias.view(1, -1, 1, 1))
        energy = torch.cat(features, dim=1)
        return self.classifier(self.dropout(energy))


def blurnet_predict_proba(module, stack, batch_size=32) -> np.ndarray:
    """Class probabilities of a network on a stack of equally sized images.

    The one inference path of blurkit's CNN: :meth:`BlurNetClassifier.
    predict_proba <blurkit.BlurNetClassifier.predict_proba>` and the
    lightweight predictor both call it. The module is put in eval mode
    (restored afterwards) and run under :func:`torch.inference_mode` on
    batches of ``batch_size`` images; small batches keep the intermediate
    maps in cache and spare the allocator the page faults of large buffers.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a float32 tensor of shape (b, H, W) to logits of shape
        (b, n_classes), such as :class:`BlurNet`. Inputs are moved to the
        device of its parameters.
    stack : array-like of shape (n, H, W)
        The images, cast to float32.
    batch_size : int, default=32
        Images per forward pass.

    Returns
    -------
    ndarray of shape (n, n_classes), float32
        The softmax of the logits; rows sum to 1.

    Raises
    ------
    ValueError
        If ``stack`` is not 3-D or ``batch_size`` is not positive.
    """
    stack = np.asarray(stack, dtype=np.float32)
    if stack.ndim != 3:
        raise ValueError(f"expected a stack of shape (n, H, W); got {stack.shape}.")
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive; got {batch_size}.")
    parameter = next(module.parameters(), None)
    device = torch.device("cpu") if parameter is None else parameter.device
    was_training = module.training
    module.eval()
    chunks = []
    try:
        with torch.inference_mode():
            # An empty stack still goes through once, for the output's width.
            for start in range(0, max(len(stack), 1), batch_size):
                batch = torch.from_numpy(stack[start : start + batch_size])
                logits = module(batch.to(device))
                chunks.append(torch.softmax(logits, dim=1).float().cpu().numpy())
    finally:
        module.train(was_training)
    return np.concatenate(chunks)
