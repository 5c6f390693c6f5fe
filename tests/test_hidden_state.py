"""The ``initial_state="auto"`` rule, one test per row of its decision table, stepping
with ``predict(..., return_state=True)``, and the warning for sequence labels that come back.

Every oracle is a plain numpy loop over the time steps with the fitted weights, run from the
state the row should start from (zero, a training state, or ``hidden_state_``): never
skalm's own forward pass.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA, FastICA
from sklearn.metrics import r2_score
from sklearn.model_selection import TimeSeriesSplit, cross_validate
from sklearn.pipeline import make_pipeline

from _cases import walk_series
from skalm import ElmanRNNRegressor, RNNEnsembleRegressor
from skalm._state import HiddenStateWarning, TrainingRows

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(n_hidden=6, max_iter=15, random_state=0)
T_TRAIN = 120


def _series(T=160, n=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(T, n))
    y = np.zeros(T)
    for t in range(T):
        y[t] = X[t, 0] + 0.8 * (X[t - 1, 0] if t else 0) - 0.5 * (X[t - 2, 1] if t > 1 else 0)
    return X, y


#: The activations written out here, independent of skalm's strategies.
SIGMA = {"relu": lambda u: np.maximum(u, 0.0), "tanh": np.tanh}


def by_hand(est, X, h0=None, starts=()):
    """(predictions, hidden states): h_t = sigma(W h_{t-1} + V x_t + b), reset at starts."""
    sigma = SIGMA[est.activation_.name]
    W, V, b = est.recurrent_weights_, est.input_weights_, est.hidden_bias_
    A, c = est.output_weights_, est.output_bias_
    h = np.zeros(W.shape[0]) if h0 is None else np.array(h0, dtype=float)
    H, Y = [], []
    for t in range(len(X)):
        if t in starts:
            h = np.zeros(W.shape[0])
        h = sigma(W @ h + V @ np.asarray(X[t], float) + b)
        H.append(h)
        Y.append(A @ h + c)
    return np.array(Y).ravel(), np.array(H)


@pytest.fixture(scope="module")
def data():
    return _series()


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return ElmanRNNRegressor(**FAST).fit(X[:T_TRAIN], y[:T_TRAIN])


@pytest.fixture(scope="module")
def whole(data, fitted):
    """The paper's protocol: one recurrence from zero through training and later rows."""
    return by_hand(fitted, data[0])


# -- rows of the decision table -------------------------------------------------------------
@pytest.mark.parametrize("rows, label", [
    (slice(0, T_TRAIN), "the training X"),
    (slice(0, 50), "a prefix"),
    (slice(0, None), "training rows stacked with the rows after them"),
    (slice(50, T_TRAIN), "a suffix"),
    (slice(30, 70), "a block inside the training rows"),
    (slice(50, None), "a suffix stacked with the rows after it"),
    (slice(T_TRAIN, None), "the rows right after training"),
    (slice(T_TRAIN - 1, T_TRAIN), "one row: the last training row"),
    (slice(T_TRAIN, T_TRAIN + 1), "one row: the first row after training"),
])
def test_rows_start_from_their_state_in_the_series(data, fitted, whole, rows, label):
    X, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", HiddenStateWarning)
        got = fitted.predict(X[rows])
    assert_allclose(got, whole[0][rows], rtol=1e-10, atol=1e-12, err_msg=label)


def test_the_test_could_tell_the_states_apart(data, fitted, whole):
    """The rows above would give other predictions from another state."""
    X, _ = data
    from_zero, _ = by_hand(fitted, X[50:T_TRAIN])
    continued, _ = by_hand(fitted, X[:50], h0=fitted.hidden_state_)
    assert np.max(np.abs(from_zero - whole[0][50:T_TRAIN])) > 1e-3
    assert np.max(np.abs(continued - whole[0][:50])) > 1e-3


@pytest.mark.parametrize("change", ["float32", "F order", "relative 1e-9", "float32 fit"])
def test_copies_that_differ_by_rounding_or_dtype_are_the_training_rows(data, change):
    X, y = data
    X_train = X[:T_TRAIN]
    if change == "float32 fit":  # trained in float32, predicted from the float64 rows
        est = ElmanRNNRegressor(**FAST).fit(X_train.astype(np.float32), y[:T_TRAIN])
        X_copy = X_train.astype(np.float32).astype(np.float64)
        want, _ = by_hand(est, X_copy)
        rtol = 1e-5
    else:
        est = ElmanRNNRegressor(**FAST).fit(X_train, y[:T_TRAIN])
        X_copy = {
            "float32": lambda: X_train.astype(np.float32),
            "F order": lambda: np.asfortranarray(X_train),
            "relative 1e-9": lambda: X_train * (1 + 1e-9),
        }[change]()
        want, _ = by_hand(est, X_train)
        rtol = 1e-5 if change == "float32" else 1e-7
    with warnings.catch_warnings():
        warnings.simplefilter("error", HiddenStateWarning)
        got = est.predict(X_copy)
    assert_allclose(got, want, rtol=rtol, atol=rtol)
    # not the continuation (the test can tell)
    continued, _ = by_hand(est, X_train, h0=est.hidden_state_)
    assert np.max(np.abs(continued - want)) > 1e-3


@pytest.mark.parametrize("make, match", [
    (lambda X: X[:T_TRAIN:2], "first row of X is training row 0"),
    (lambda X: X[:T_TRAIN][::-1], r"rows 1 and 2 of X are training rows \(118 and 117\)"),
    (lambda X: np.vstack([X[T_TRAIN:], X[:T_TRAIN]]), "does not start with training rows"),
    (lambda X: X[:T_TRAIN] * 1.001, "changed copy"),
    (lambda X: np.vstack([X[:40], X[T_TRAIN:]]), "first row of X is training row 0"),
])
def test_rows_it_cannot_place_warn_and_continue(data, fitted, make, match):
    X, _ = data
    X_new = make(X)
    with pytest.warns(HiddenStateWarning, match=match):
        got = fitted.predict(X_new)
    want, _ = by_hand(fitted, X_new, h0=fitted.hidden_state_)
    assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_ambiguous_rows_warn(data):
    """Training rows that repeat: a block that occurs twice cannot be placed."""
    X, y = data
    X = X[:T_TRAIN].copy()
    X[80:90] = X[20:30]
    est = ElmanRNNRegressor(**FAST).fit(X, y[:T_TRAIN])
    with pytest.warns(HiddenStateWarning, match="2 offsets"):
        got = est.predict(X[20:30])
    want, _ = by_hand(est, X[20:30], h0=est.hidden_state_)
    assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # the whole training X is never ambiguous
    with warnings.catch_warnings():
        warnings.simplefilter("error", HiddenStateWarning)
        assert_allclose(est.predict(X), by_hand(est, X)[0], rtol=1e-10, atol=1e-12)


def test_sequences_of_the_training_rows_are_kept_for_placed_rows(data):
    X, y = data
    X, y = X[:T_TRAIN], y[:T_TRAIN]
    sid = np.repeat([5, 2, 9], [40, 35, 45])
    est = ElmanRNNRegressor(**FAST).fit(X, y, sequence_id=sid)
    full, _ = by_hand(est, X, starts=(40, 75))
    for rows in (slice(0, None), slice(10, None), slice(50, 100), slice(40, 60), slice(75, None)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", HiddenStateWarning)
            assert_allclose(est.predict(X[rows]), full[rows], rtol=1e-10, atol=1e-12)


def test_state_before_every_training_row_is_recovered(data):
    """The stored states every sqrt(T) rows plus the recurrence give h before each row."""
    X, y = data
    sid = np.repeat([0, 1, 2], [33, 50, 37])
    est = ElmanRNNRegressor(**FAST).fit(X[:T_TRAIN], y[:T_TRAIN], sequence_id=sid)
    _, H = by_hand(est, X[:T_TRAIN], starts=(33, 83))
    rows = est._train_rows
    for k in range(T_TRAIN):
        h = rows.state_before(k, est.weights_, est.activation_)
        want = np.zeros(6) if k in (0, 33, 83) else H[k - 1]
        assert_allclose(np.zeros(6) if h is None else h, want, rtol=1e-10, atol=1e-12)


def test_rows_after_training_are_not_compared_in_full(data, fitted, monkeypatch):
    """Cost: rows that share no row with the training X are told apart by the projections
    alone; no candidate offset is checked row by row."""
    X, _ = data
    calls = []
    original = TrainingRows._overlap_matches

    def counting(self, Xn, k):
        calls.append(k)
        return original(self, Xn, k)

    monkeypatch.setattr(TrainingRows, "_overlap_matches", counting)
    fitted.predict(X[T_TRAIN:])
    assert calls == []
    fitted.predict(X[:T_TRAIN])
    assert calls == [0]


# -- inside scikit-learn's tools ------------------------------------------------------------
@pytest.mark.parametrize("transformer", [
    PCA(svd_solver="full"), FastICA(n_components=3, random_state=0, whiten="unit-variance"),
])
def test_pipeline_with_a_transformer_predicts_the_training_rows_from_zero(data, transformer):
    """fit_transform(X) and transform(X) differ by round-off: still the training rows."""
    X, y = data
    pipe = make_pipeline(transformer, ElmanRNNRegressor(**FAST)).fit(X[:T_TRAIN], y[:T_TRAIN])
    Z = pipe[0].transform(X)
    est = pipe[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", HiddenStateWarning)
        got_train = pipe.predict(X[:T_TRAIN])
        got_test = pipe.predict(X[T_TRAIN:])
    want, H = by_hand(est, Z[:T_TRAIN])
    assert_allclose(got_train, want, rtol=1e-8, atol=1e-10)
    assert_allclose(got_test, by_hand(est, Z[T_TRAIN:], h0=H[-1])[0], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("gap", [0, 4])
@pytest.mark.parametrize("with_pca", [False, True])
def test_cross_validate_time_series_split_scores_against_the_oracle(data, gap, with_pca):
    """Train scores: the training fold from zero. Test scores: the test fold from the state
    at the end of the training fold (with a gap, the gap rows are never passed: the state
    carries on from the end of the training fold, as documented)."""
    X, y = data
    cv = TimeSeriesSplit(n_splits=3, gap=gap)
    model = ElmanRNNRegressor(**FAST)
    if with_pca:
        model = make_pipeline(PCA(svd_solver="full"), model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HiddenStateWarning)
        res = cross_validate(model, X, y, cv=cv, return_train_score=True,
                             return_estimator=True)
    for (train, test), fitted, tr, te in zip(cv.split(X), res["estimator"],
                                             res["train_score"], res["test_score"]):
        est = fitted[-1] if with_pca else fitted
        Z = fitted[0].transform(X) if with_pca else X
        y_train, H = by_hand(est, Z[train])
        assert_allclose(tr, r2_score(y[train], y_train), rtol=1e-10)
        assert_allclose(te, r2_score(y[test], by_hand(est, Z[test], h0=H[-1])[0]), rtol=1e-10)


def test_time_stamps_show_a_gap_after_the_training_rows(data):
    """With a DataFrame the row index is read as time stamps: a test fold that does not
    start right after its training fold (TimeSeriesSplit(gap=k)) warns; one that does
    not."""
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    for gap, expect_warning in ((0, False), (4, True)):
        cv = TimeSeriesSplit(n_splits=3, gap=gap)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            res = cross_validate(ElmanRNNRegressor(**FAST), frame, y, cv=cv,
                                 return_estimator=True)
        hidden = [w for w in seen if issubclass(w.category, HiddenStateWarning)]
        assert bool(hidden) == expect_warning
        if expect_warning:
            assert f"{gap} steps after" in str(hidden[0].message)
        for (train, test), est, te in zip(cv.split(X), res["estimator"], res["test_score"]):
            _, H = by_hand(est, X[train])
            assert_allclose(te, r2_score(y[test], by_hand(est, X[test], h0=H[-1])[0]),
                            rtol=1e-10)


def test_ensemble_members_follow_the_rule(data):
    X, y = data
    member = ElmanRNNRegressor(n_hidden=4, max_iter=10)
    ens = RNNEnsembleRegressor(member, n_estimators=2, random_state=0)
    ens.fit(X[:T_TRAIN], y[:T_TRAIN])
    want = np.mean([by_hand(m, X)[0][50:] for m in ens.estimators_], axis=0)
    assert_allclose(ens.predict(X[50:]), want, rtol=1e-10, atol=1e-12)


# -- stepping -------------------------------------------------------------------------------
@pytest.mark.parametrize("start", ["continue", "zeros", "array"])
def test_stepping_row_by_row_equals_one_call(data, fitted, start):
    X, _ = data
    X_next = X[T_TRAIN:]
    h_start = {"continue": fitted.hidden_state_, "zeros": np.zeros(6),
               "array": np.linspace(0, 1, 6)}[start]
    want, H = by_hand(fitted, X_next, h0=h_start)
    h = h_start
    steps = []
    for t in range(len(X_next)):
        y_t, h = fitted.predict(X_next[t:t + 1], initial_state=h, return_state=True)
        steps.append(y_t)
    assert_allclose(np.concatenate(steps), want, rtol=1e-10, atol=1e-12)
    assert_allclose(h, H[-1], rtol=1e-10, atol=1e-12)
    # and in two pieces
    y1, h1 = fitted.predict(X_next[:15], initial_state=h_start, return_state=True)
    y2 = fitted.predict(X_next[15:], initial_state=h1)
    assert_allclose(np.concatenate([y1, y2]), want, rtol=1e-10, atol=1e-12)


def test_return_state_under_auto_is_the_state_after_the_last_row(data, fitted, whole):
    X, _ = data
    _, H = whole
    y, h = fitted.predict(X[:T_TRAIN], return_state=True)
    assert_allclose(h, H[T_TRAIN - 1], rtol=1e-10, atol=1e-12)
    assert_allclose(h, fitted.hidden_state_, rtol=1e-10, atol=1e-12)
    y, h = fitted.predict(X[T_TRAIN:], return_state=True)
    assert_allclose(h, H[-1], rtol=1e-10, atol=1e-12)
    assert y.shape == (len(X) - T_TRAIN,)


def test_ensemble_steps_with_its_stacked_state(data):
    """The averaged network's state is the members' states stacked: stepping row by row
    with it equals one call, and it is the members' by-hand states."""
    X, y = data
    ens = RNNEnsembleRegressor(ElmanRNNRegressor(n_hidden=4, max_iter=10), n_estimators=3,
                               random_state=0).fit(X[:T_TRAIN], y[:T_TRAIN])
    X_next = X[T_TRAIN:]
    start = np.concatenate([m.hidden_state_ for m in ens.estimators_])
    want = np.mean([by_hand(m, X_next, h0=m.hidden_state_)[0] for m in ens.estimators_], axis=0)
    h, steps = start, []
    for t in range(len(X_next)):
        y_t, h = ens.predict(X_next[t:t + 1], initial_state=h, return_state=True)
        steps.append(y_t)
    assert_allclose(np.concatenate(steps), want, rtol=1e-10, atol=1e-12)
    ends = np.concatenate([by_hand(m, X_next, h0=m.hidden_state_)[1][-1]
                           for m in ens.estimators_])
    assert_allclose(h, ends, rtol=1e-10, atol=1e-12)
    assert_allclose(ens.predict(X_next, initial_state="continue"), want, rtol=1e-10,
                    atol=1e-12)
    with pytest.raises(ValueError, match="initial_state"):
        ens.predict(X_next, initial_state=np.zeros(4))


# -- sequence labels that come back ------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("labels, n_warnings", [
    (np.tile([0, 1], 30), 1),                  # panel rows sorted by time: 60 runs
    (np.repeat([0, 1, 0], [20, 20, 20]), 1),   # a label that comes back
    (np.repeat(["a", "b", "c"], 20), 0),       # contiguous labels
    (np.repeat([2, 0, 1], 20), 0),             # unsorted but contiguous
])
def test_labels_that_come_back_warn(labels, n_warnings):
    X, y = walk_series()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        est = ElmanRNNRegressor(n_hidden=3, max_iter=2, random_state=0)
        est.fit(X, y, sequence_id=labels)
    mine = [w for w in seen if "sequence_id" in str(w.message)]
    assert len(mine) == n_warnings
    if n_warnings:
        assert issubclass(mine[0].category, UserWarning)
        assert mine[0].filename == __file__  # points at the caller's fit
        runs = 1 + int(np.sum(labels[1:] != labels[:-1]))
        assert f"({runs} in all" in str(mine[0].message)
        with pytest.warns(UserWarning, match="sequence_id"):
            est.predict(X, sequence_id=labels)
