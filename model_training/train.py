"""Training: a small MLP (scikit-learn) on the feature table, deterministic for a seed.

The model answers, every tick, the probability that toasting should continue; the toast
stops once it has been below the threshold on `consecutive` ticks in a row (as
firmware/model_policy.py decides: one noisy tick must not end a toast). Features are
standardized with the training mean and std (recorded in the package, folded into the
int8 input quantization at export).

Early stopping holds out whole runs (never ticks of a run seen in training) and keeps the
epoch with the best held-out loss. Progress: one bar step per epoch.
"""

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from model_training import runs as runs_mod, table as table_mod
from model_training.errors import DataError

THRESHOLD = 0.5


@dataclass
class Config:
    hidden: tuple = (16, 8)
    alpha: float = 1e-3          # L2 penalty
    epochs: int = 60
    patience: int = 8            # epochs without a better held-out loss before stopping
    batch_size: int = 256
    learning_rate: float = 2e-3
    holdout: float = 0.15        # share of training runs held out for early stopping
    row_every: int = 1           # train on every n-th tick (features still see every tick)

    def to_dict(self):
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


@dataclass
class FloatModel:
    """The trained float model: standardization and dense layers (ReLU, then logistic)."""

    spec: dict
    mean: np.ndarray
    std: np.ndarray
    weights: list                # per layer (inputs, units), as scikit-learn holds them
    biases: list
    threshold: float = THRESHOLD
    consecutive: int = 1         # "stop" answers in a row that end a toast
    history: list = field(default_factory=list)   # per epoch: (train loss, held-out loss)
    holdout: list = field(default_factory=list)   # names of the early-stopping runs

    def standardize(self, x):
        return (np.asarray(x, np.float64) - self.mean) / self.std

    def prob(self, x):
        """P(keep toasting) for raw feature rows."""
        h = self.standardize(x)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return 1.0 / (1.0 + np.exp(-h[:, 0]))

    def macs(self):
        """Multiply-accumulates per decision (the dense layers)."""
        return int(sum(w.size for w in self.weights))

    def parameters(self):
        return int(sum(w.size + b.size for w, b in zip(self.weights, self.biases)))


def _log_loss(p, y):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def fit(runs, spec, config=None, seed=0, progress=None):
    """Train on runs; returns a FloatModel. progress(n) is called once per epoch."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    config = config or Config()
    fit_runs, held = runs, []
    if config.holdout > 0 and len(runs) >= 5:
        fit_runs, held = runs_mod.split(runs, (1 - config.holdout, config.holdout), seed)
    train = table_mod.build(fit_runs, spec)
    val = table_mod.build(held, spec) if held else None
    if config.row_every > 1:
        train = train.select(np.arange(len(train)) % config.row_every == 0)
    if len(np.unique(train.y)) < 2:
        raise DataError("the training runs hold only one label: no stop (or no continue) "
                        "ticks to learn from")
    mean = train.x.mean(axis=0)
    std = train.x.std(axis=0)
    std[std == 0] = 1.0
    xs = (train.x - mean) / std
    clf = MLPClassifier(hidden_layer_sizes=tuple(config.hidden), alpha=config.alpha,
                        batch_size=min(config.batch_size, len(xs)),
                        learning_rate_init=config.learning_rate, random_state=seed,
                        shuffle=True)
    best, best_loss, waited, history = None, np.inf, 0, []
    for _ in range(config.epochs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.partial_fit(xs, train.y, classes=[0, 1])
        model = FloatModel(spec, mean, std, [w.copy() for w in clf.coefs_],
                           [b.copy() for b in clf.intercepts_])
        train_loss = float(clf.loss_)
        val_loss = _log_loss(model.prob(val.x), val.y) if val is not None else train_loss
        history.append((round(train_loss, 5), round(val_loss, 5)))
        if progress:
            progress(1)
        if val_loss < best_loss - 1e-5:
            best, best_loss, waited = model, val_loss, 0
        else:
            waited += 1
            if waited >= config.patience:
                break
    best.history = history
    best.holdout = [r.name for r in held]
    return best


def leave_one_run_out(runs, spec, config=None, seed=0, progress=None, consecutive=1):
    """Each run decided by a float model trained on all the others, beside the timer
    baseline trained on the same others: (per-run rows, summary) as stop_time.score."""
    from model_training import stop_time

    config = config or Config()
    rows = []
    for i, run in enumerate(runs):
        others = runs[:i] + runs[i + 1:]
        model = fit(others, spec, config, seed)
        keep = stop_time.float_keep(model, [run])
        rows += stop_time.score([run], keep, stop_time.timer(others), consecutive)[0]
        if progress:
            progress(1)
    return rows, stop_time.summarize(rows)
