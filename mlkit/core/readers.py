"""Which model types read each parameter key: a sweep or search over a key the chosen model ignores would
rank ties, so mlkit/tools/grid.py refuses it with the reason `ignored_key` gives."""

from __future__ import annotations

from mlkit.core.params import MODEL_TYPES, FeatureParams, Params

TRANSFORMER_KEYS = ("checkpoint", "lr", "epochs", "batch_size", "max_length", "warmup_ratio", "weight_decay",
                    "grad_accum", "patience", "scheduler", "optimizer", "label_smoothing", "freeze_layers",
                    "head_dropout", "thresholds")
# Which model types read each key (mlkit/modeling/sklearn_model.py builds the estimators; the transformer
# reads its own keys and no features.*); a key outside this map is read by every type.
READ_BY: dict[str, frozenset[str]] = {
    "model.C": frozenset({"svc", "linear_svc", "logreg"}),
    "model.gamma": frozenset({"svc"}),
    "model.kernel": frozenset({"svc"}),
    "model.max_iter": frozenset({"linear_svc", "logreg"}),
    "model.n_estimators": frozenset({"random_forest"}),
    **{f"model.{key}": frozenset({"transformer"}) for key in TRANSFORMER_KEYS},
    **{f"features.{key}": frozenset(MODEL_TYPES) - {"transformer"} for key in FeatureParams.model_fields},
}


def ignored_key(key: str, params: Params) -> str | None:
    """Why the model these params choose does not read `key` (every value of it gives the same model), or
    None when it does. A sweep over such a key would rank ties."""
    readers = READ_BY.get(key)
    kind = params.model.type
    if readers is not None and kind not in readers:
        return f"model.type {kind} does not read it (read by {', '.join(sorted(readers))})"
    if key == "model.gamma" and params.model.kernel == "linear":
        return "model.kernel linear does not read it (rbf, poly and sigmoid do)"
    return None
