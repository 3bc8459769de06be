"""Kernel features for large data: Nystroem's low-rank map of an RBF (poly, sigmoid) kernel, with SVC's
`gamma: scale | auto` resolved from the train rows as SVC resolves them, so one `model.gamma` means the same
kernel whether the exact SVC or this approximation fits it."""

from __future__ import annotations

from numbers import Real
from typing import Any

from scipy import sparse
from sklearn.kernel_approximation import Nystroem
from sklearn.utils._param_validation import Interval, StrOptions


def svc_gamma(gamma: float | str, features: Any) -> float:
    """The number SVC uses for `gamma`: 'scale' is 1 / (columns x variance of all values), 'auto' 1 / columns."""
    if not isinstance(gamma, str):
        return float(gamma)
    columns = features.shape[1]
    if gamma == "auto":
        return 1.0 / columns
    if sparse.issparse(features):
        variance = features.multiply(features).mean() - features.mean() ** 2
    else:
        variance = features.var()
    return 1.0 / (columns * variance) if variance != 0 else 1.0


class KernelFeatures(Nystroem):
    """Nystroem features whose gamma may also be 'scale' or 'auto' (fitted into `gamma_`)."""

    _parameter_constraints: dict = {
        **Nystroem._parameter_constraints,
        "gamma": [Interval(Real, 0, None, closed="left"), StrOptions({"scale", "auto"}), None],
    }

    def fit(self, X: Any, y: Any = None) -> KernelFeatures:
        self.gamma_ = svc_gamma(self.gamma, X) if self.gamma is not None else None
        return super().fit(X, y)

    def _get_kernel_params(self) -> dict[str, Any]:
        params = super()._get_kernel_params()
        if isinstance(self.gamma, str):
            params["gamma"] = self.gamma_
        return params
