"""Fuzzing fit, predict and score, and an invalid value of every parameter.

The contract: whatever a data pipeline hands over, :class:`ElmanRNNRegressor` either fits,
with finite weights, and predicts and scores finite values, or raises a ValueError or
TypeError whose message names the offending argument (``X``, ``y``, ``sequence_id``,
``initial_state``, ``sample_weight`` or the parameter). Nothing else: no other exception, no
NaN weights, no NaN predictions.

Every case is built from a handful of structural draws (shape, dtype, where a NaN or inf
goes, magnitude, ...), and the generator knows which arguments it spoiled:

* ``bad``: arguments that are certainly invalid -- the call must raise, naming one of them;
* ``maybe``: arguments that are valid but extreme (entries of 1e150) -- the call may fit (and
  then everything must be finite) or raise naming one of them;
* a case with neither must fit.

Distinct cases are counted by signature: the structural draws, *not* the random data, so
two cases that differ only in their random numbers count once. After the module's tests, the
fixture ``number_of_distinct_cases`` prints the count per category and, when the whole module
ran, asserts there were at least 500 (whatever the order the tests ran in).
``SKALM_FUZZ_SCALE=10`` multiplies the hypothesis example counts;
``SKALM_FUZZ_RANDOM=1`` draws new examples instead of the fixed (derandomized) ones CI uses.
"""

import os
import re
import sys
import warnings
from collections import Counter, defaultdict
from numbers import Integral

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skalm import ElmanRNNRegressor
from skalm._compat import Interval, make_constraint
from skalm.solvers import SOLVERS

#: category -> set of case signatures tried.
CASES = defaultdict(set)
#: (category, "ok" or "raised") -> number of calls.
OUTCOMES = Counter()
#: parametrized test function -> number of its cases that finished.
FINISHED = Counter()

#: Every fit is tiny: hundreds of them run in seconds.
TINY = dict(n_hidden=2, max_iter=2, max_inner_iter=3, random_state=0)

_SCALE = max(1, int(os.environ.get("SKALM_FUZZ_SCALE", "1")))
_RANDOM = os.environ.get("SKALM_FUZZ_RANDOM") == "1"


def fuzz_settings(max_examples):
    return settings(
        max_examples=max_examples * _SCALE,
        deadline=None,
        derandomize=not _RANDOM,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much],
    )


def names(message, argument):
    """True when ``message`` contains ``argument`` as a whole word (``X``, not ``X_train``)."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(argument)}(?![A-Za-z0-9_])",
                     message) is not None


def check_contract(category, signature, call, bad=(), maybe=()):
    """Run ``call`` (which returns arrays) under the contract; return "ok" or "raised".

    ConvergenceWarning is expected (the caps are tiny). A call that succeeds must not emit a
    RuntimeWarning from skalm (numpy overflow, or the estimator's "forward pass
    overflowed"); one that raises may (scikit-learn's finiteness check of [inf, -inf] warns
    before it raises).
    """
    CASES[category].add(signature)
    bad, maybe = set(bad), set(maybe)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("always", RuntimeWarning)
        try:
            outputs = call()
        except (ValueError, TypeError) as exc:
            allowed = bad | maybe
            message = str(exc)
            assert allowed, f"{signature}: a valid case raised {exc!r}"
            assert any(names(message, a) for a in allowed), (
                f"{signature}: the error names none of {sorted(allowed)}: {message!r}"
            )
            OUTCOMES[category, "raised"] += 1
            return "raised"
    assert not bad, f"{signature}: invalid {sorted(bad)} accepted"
    for out in outputs:
        out = np.asarray(out, dtype=float)
        assert np.all(np.isfinite(out)), f"{signature}: non-finite output {out!r}"
    leaked = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
              and "sklearn" not in w.filename]  # r2_score overflowing to -inf warns
    assert not leaked, f"{signature}: RuntimeWarning {leaked}"
    OUTCOMES[category, "ok"] += 1
    return "ok"


def fit_predict_score(X, y, sequence_id=None, **params):
    """fit, then predict and score on the same rows; every number the user gets back."""
    est = ElmanRNNRegressor(**{**TINY, **params}).fit(X, y, sequence_id=sequence_id)
    n_rows = len(X)
    pred = est.predict(X, sequence_id=sequence_id)
    assert pred.shape[0] == n_rows
    pred_zero = est.predict(X, initial_state="zeros")
    score = est.score(X, y, sequence_id=sequence_id)
    # R^2 of a single row is undefined (NaN, with a warning), as for every sklearn regressor.
    # R^2 is unbounded below: -inf is its value when the residuals exceed the variance of y
    # by more than the float range (an untrained model of X * 1e150 scored on y * 1e-150).
    scores = []
    if n_rows >= 2:
        assert not np.isnan(score) and score != np.inf, score
        scores = [score] if score != -np.inf else []
    return [*est.weights_, est.hidden_state_, pred, pred_zero, scores]


# -- building inputs ------------------------------------------------------------------------
#: kinds that are never numeric data, whatever the values
ALWAYS_BAD_KINDS = {"object_none", "complex", "str_alpha"}
#: kinds that carry a NaN/inf or the magnitude of the draw (the integer kinds do not)
FLOAT_KINDS = {"float64", "float32", "object", "str_num"}
SPECIALS = {"none": None, "nan": np.nan, "inf": np.inf, "-inf": -np.inf}


def make_array(rng, shape, kind, special, special_at, scale, const_col=False):
    """An array of ``shape`` and ``kind``; returns (array, bad, maybe) for its argument."""
    base = rng.standard_normal(shape) * scale
    if const_col and base.ndim == 2 and base.shape[1]:
        base[:, 0] = 3.0 * scale
    size = base.size
    if special != "none" and size and kind in FLOAT_KINDS:
        base.flat[special_at % size] = SPECIALS[special]
    if kind == "float64":
        arr = base
    elif kind == "float32":
        with np.errstate(over="ignore"):
            arr = base.astype(np.float32)  # 1e150 overflows to inf: then it is invalid data
    elif kind == "int64":
        arr = rng.randint(-5, 6, size=shape).astype(np.int64)
    elif kind == "uint8":
        arr = rng.randint(0, 256, size=shape).astype(np.uint8)
    elif kind == "bool":
        arr = rng.randint(0, 2, size=shape).astype(bool)
    elif kind == "object":
        arr = base.astype(object)
    elif kind == "object_none":
        arr = base.astype(object)
        if size:
            arr.flat[special_at % size] = None
    elif kind == "complex":
        arr = base.astype(complex) + 1j
    elif kind == "str_num":
        arr = base.astype(str)
    elif kind == "str_alpha":
        arr = np.full(shape, "abc")
    else:  # pragma: no cover
        raise AssertionError(kind)
    if kind in ALWAYS_BAD_KINDS and size:
        return arr, True, False
    with np.errstate(all="ignore"):
        as_float = np.asarray(arr, dtype=float) if kind not in ALWAYS_BAD_KINDS else None
    bad = as_float is not None and not np.all(np.isfinite(as_float))
    maybe = (not bad) and kind in FLOAT_KINDS and scale > 1e100
    return arr, bad, maybe


#: Aspects of a case that can be spoiled, with their invalid and valid choices. A case
#: spoils none of them half of the time (so that half of the cases must fit), else one or two.
DATA_ASPECTS = {
    "T": ([0], [1, 1, 2, 3, 5, 8, 13, 24]),
    "n": ([0], [1, 1, 2, 3]),
    "X_layout": (["1d", "3d", "scalar"], ["2d", "2d", "2d", "list"]),
    "X_kind": (["object_none", "complex", "str_alpha"],
               ["float64", "float64", "float64", "float32", "int64", "uint8", "bool", "object",
                "str_num"]),
    "X_special": (["nan", "inf", "-inf"], ["none"]),
    "y_layout": (["3d", "2d0"], ["1d", "1d", "1d", "2d1", "2d2", "list"]),
    "y_len": ([-1, 1], [0]),  # offset from T
    "y_kind": (["object_none", "complex", "str_alpha"],
               ["float64", "float64", "float64", "float32", "int64", "bool", "object",
                "str_num"]),
    "y_special": (["nan", "inf", "-inf"], ["none"]),
    "sid": (["nan", "None", "long", "2d"],
            ["none", "none", "none", "blocks", "distinct", "strings", "floats"]),
}
#: valid but extreme magnitudes come up as often as plain ones
SCALES = [1.0, 1.0, 1.0, 1e6, 1e-6, 1e150, 1e-150, 1e-300]


def draw_aspects(draw, aspects):
    spoiled = draw(st.one_of(
        st.just(frozenset()),
        st.frozensets(st.sampled_from(sorted(aspects)), min_size=1, max_size=2),
    ))
    return {name: draw(st.sampled_from(choices[0] if name in spoiled else choices[1]))
            for name, choices in aspects.items()}


@st.composite
def data_cases(draw):
    """fit/predict/score inputs: X, y and sequence_id of every shape, dtype and content."""
    d = draw_aspects(draw, DATA_ASPECTS)
    d["y_len"] += d["T"]
    d["X_scale"] = draw(st.sampled_from(SCALES))
    d["y_scale"] = draw(st.sampled_from(SCALES))
    d["X_const"] = draw(st.booleans())
    d["X_at"], d["y_at"], d["sid_at"] = (draw(st.integers(0, 999)) for _ in range(3))
    seed = draw(st.integers(0, 2**16))
    return d, seed


def build_data_case(d, seed):
    rng = np.random.RandomState(seed)
    T, n = d["T"], d["n"]
    bad, maybe = set(), set()

    X, x_bad, x_maybe = make_array(rng, (T, n), d["X_kind"], d["X_special"], d["X_at"],
                                   d["X_scale"], d["X_const"])
    layout = d["X_layout"]
    if layout == "list":
        X = X.tolist()
    elif layout == "1d":
        X, x_bad = X.reshape(-1), True
    elif layout == "3d":
        X, x_bad = X[..., None], True
    elif layout == "scalar":
        X, x_bad = 3.0, True
    if T == 0 or n == 0:
        x_bad = True
    if x_bad:
        bad.add("X")
    elif x_maybe:
        maybe.add("X")

    T_y = max(d["y_len"], 0)
    ylay = d["y_layout"]
    shape = {"1d": (T_y,), "list": (T_y,), "2d1": (T_y, 1), "2d2": (T_y, 2), "3d": (T_y, 1, 1),
             "2d0": (T_y, 0)}[ylay]
    y, y_bad, y_maybe = make_array(rng, shape, d["y_kind"], d["y_special"], d["y_at"],
                                   d["y_scale"])
    if ylay == "list":
        y = y.tolist()
    if ylay in ("3d", "2d0") or T_y == 0:
        y_bad = True
    if y_bad:
        bad.add("y")
    elif y_maybe:
        maybe.add("y")
    if T_y != T:
        bad |= {"X", "y"}

    sid_kind = d["sid"]
    sid = None
    if sid_kind != "none":
        blocks = np.sort(rng.randint(0, 3, size=T))
        sid = {
            "blocks": blocks[::-1] * 7,  # labels need not be sorted
            "distinct": np.arange(T),
            "strings": np.array(["seq-a", "seq-b", "seq-c"])[blocks],
            "floats": blocks * 0.5,
            "nan": blocks * 0.5,
            "None": blocks.astype(object),
            "long": np.zeros(T + 1),
            "2d": blocks[:, None],
        }[sid_kind]
        if sid_kind in ("nan", "None") and T:
            sid[d["sid_at"] % T] = np.nan if sid_kind == "nan" else None
        if sid_kind in ("nan", "None") and T or sid_kind in ("long", "2d"):
            bad.add("sequence_id")
    signature = ("data", tuple(sorted(d.items())))
    return X, y, sid, bad, maybe, signature


@fuzz_settings(260)
@given(data_cases())
def test_fuzz_fit_predict_score_inputs(case):
    d, seed = case
    X, y, sid, bad, maybe, signature = build_data_case(d, seed)
    check_contract("fit/predict/score inputs", signature,
                   lambda: fit_predict_score(X, y, sequence_id=sid), bad, maybe)


# -- predict and score of a fitted model ----------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(30, 2))
    y = np.convolve(X[:, 0], [0.5, 0.3, 0.2])[:30] + 0.1 * X[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ElmanRNNRegressor(**TINY).fit(X, y), X, y


PREDICT_ASPECTS = {
    "T": ([0], [1, 2, 5, 12, 30]),
    "n": ([0, 1, 3], [2]),
    "X_layout": (["1d", "3d"], ["2d", "2d", "2d", "list"]),
    "X_kind": (["object_none", "complex", "str_alpha"],
               ["float64", "float64", "float32", "int64", "bool", "object", "str_num"]),
    "X_special": (["nan", "inf", "-inf"], ["none"]),
    "y_layout": (["2d2", "none"], ["1d", "1d", "2d1", "list"]),
    "y_len": ([-1, 1], [0]),
    "y_kind": (["object_none", "complex", "str_alpha"],
               ["float64", "float64", "float32", "int64", "bool", "object", "str_num"]),
    "y_special": (["nan", "inf"], ["none"]),
    "initial_state": (["previous", "array_nan", "array_3", "array_str"],
                      [None, None, "auto", "zeros", "continue", "array", "list"]),
    "sample_weight": (["short", "nan", "2d", "str"], [None, None, "ones", "random"]),
    "sid": (["nan", "long"], ["none", "none", "blocks", "strings"]),
}


@st.composite
def predict_cases(draw):
    d = draw_aspects(draw, PREDICT_ASPECTS)
    d["y_len"] += d["T"]
    d["X_scale"] = draw(st.sampled_from([1.0, 1.0, 1e-150, 1e6]))
    d["negative_weights"] = draw(st.booleans())  # r2_score may take them or name them
    d["X_at"], d["y_at"] = draw(st.integers(0, 999)), draw(st.integers(0, 999))
    return d, draw(st.integers(0, 2**16))


def build_predict_case(d, seed, n_hidden):
    rng = np.random.RandomState(seed)
    T, n = d["T"], d["n"]
    bad, maybe = set(), set()
    X, x_bad, _ = make_array(rng, (T, n), d["X_kind"], d["X_special"], d["X_at"], d["X_scale"])
    if d["X_layout"] == "list":
        X = X.tolist()
    elif d["X_layout"] in ("1d", "3d"):
        X, x_bad = (X.reshape(-1) if d["X_layout"] == "1d" else X[..., None]), True
    if x_bad or T == 0 or n != 2:
        bad.add("X")

    y = None
    if d["y_layout"] == "none":
        bad.add("y")
    else:
        T_y = max(d["y_len"], 0)
        shape = {"1d": (T_y,), "list": (T_y,), "2d1": (T_y, 1), "2d2": (T_y, 2)}[d["y_layout"]]
        y, y_bad, _ = make_array(rng, shape, d["y_kind"], d["y_special"], d["y_at"], 1.0)
        if d["y_layout"] == "list":
            y = y.tolist()
        # the model has one output: a 2-output y cannot be scored against it
        if y_bad or T_y == 0 or d["y_layout"] == "2d2":
            bad.add("y")
        if T_y != T:
            bad.add("y")  # the lengths: the message names X and y

    h = d["initial_state"]
    initial_state = {
        "array": np.linspace(-1, 1, n_hidden), "array_nan": np.full(n_hidden, np.nan),
        "array_3": np.zeros(n_hidden + 1), "array_str": np.array(["a"] * n_hidden),
        "list": [0.5] * n_hidden,
    }.get(h, h)
    if h in ("previous", "array_nan", "array_3", "array_str"):
        bad.add("initial_state")

    sw = d["sample_weight"]
    sample_weight = None
    if sw is not None:
        sample_weight = {
            "ones": np.ones(T), "random": rng.uniform(0.1, 2, size=T),
            "short": np.ones(T + 1), "nan": np.full(T, np.nan), "2d": np.ones((T, 2)),
            "str": np.array(["w"] * T),
        }[sw]
        if sw in ("short", "2d") or (T and sw in ("nan", "str")):
            bad.add("sample_weight")
        if sw in ("ones", "random") and d["negative_weights"]:
            sample_weight = -sample_weight
            maybe.add("sample_weight")

    sid = {"none": None, "blocks": np.repeat([0, 1], [T // 2, T - T // 2]),
           "nan": np.full(T, np.nan), "long": np.zeros(T + 1),
           "strings": np.array(["a"] * T)}[d["sid"]]
    if d["sid"] == "long" or (d["sid"] == "nan" and T):
        bad.add("sequence_id")
    signature = ("predict", tuple(sorted(d.items(), key=lambda kv: kv[0])))
    return X, y, initial_state, sample_weight, sid, bad, maybe, signature


@fuzz_settings(150)
@given(predict_cases())
def test_fuzz_predict_and_score_of_a_fitted_model(fitted, case):
    est, _, _ = fitted
    d, seed = case
    X, y, h0, sw, sid, bad, maybe, signature = build_predict_case(d, seed, est.n_hidden)
    check_contract("predict inputs", signature,
                   lambda: [est.predict(X, sequence_id=sid, initial_state=h0)],
                   bad - {"y", "sample_weight"})
    # score has no initial_state argument (it follows the estimator's rule)
    score_bad = bad - {"initial_state"}
    if len(X) < 2 and not score_bad:
        # R^2 of one row is undefined: NaN with sklearn's UndefinedMetricWarning, no error
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = est.score(X, y, sample_weight=sw, sequence_id=sid)
        assert np.isnan(score)
        return
    check_contract("score inputs", signature,
                   lambda: [est.score(X, y, sample_weight=sw, sequence_id=sid)],
                   score_bad, maybe)


# -- pandas ---------------------------------------------------------------------------------
@st.composite
def pandas_cases(draw):
    d = {}
    d["T"] = draw(st.sampled_from([1, 3, 10, 20]))
    d["columns"] = draw(st.sampled_from(["strings", "strings", "strings", "none", "ints",
                                         "mixed"]))
    valid = ["float"] * 8 + ["int", "bool", "Int64", "category_num", "datetime"]
    bad = ["Int64_na", "Float64_na", "category_str", "string", "nan"]
    d["col_kinds"] = tuple(draw(st.lists(st.sampled_from(valid + bad), min_size=1,
                                         max_size=3)))
    d["y_type"] = draw(st.sampled_from(["Series", "DataFrame1", "DataFrame2", "ndarray",
                                        "Series_na", "Series_Int64"]))
    d["predict_with"] = draw(st.sampled_from(["same", "ndarray", "renamed", "reordered"]))
    d["sid"] = draw(st.sampled_from(["none", "Series", "Series_na"]))
    return d, draw(st.integers(0, 2**16))


def build_pandas_case(pd, d, seed):
    rng = np.random.RandomState(seed)
    T = d["T"]
    bad, maybe, cols = set(), set(), {}
    for j, kind in enumerate(d["col_kinds"]):
        v = rng.standard_normal(T)
        col = {
            "float": v, "int": rng.randint(-3, 4, size=T), "bool": v > 0,
            "Int64": pd.array(rng.randint(-3, 4, size=T), dtype="Int64"),
            "Int64_na": pd.array([None] + list(rng.randint(-3, 4, size=T - 1)), dtype="Int64"),
            "Float64_na": pd.array([None] + list(v[1:]), dtype="Float64"),
            "category_str": pd.Categorical(np.array(["lo", "hi"])[(v > 0).astype(int)]),
            "category_num": pd.Categorical((v > 0).astype(int)),
            "string": np.array(["x"] * T, dtype=object),
            "datetime": pd.date_range("2020-01-01", periods=T),
            "nan": np.where(np.arange(T) == T - 1, np.nan, v),
        }[kind]
        cols[j] = col
        if kind in ("Int64_na", "Float64_na", "category_str", "string", "nan"):
            bad.add("X")
        if kind in ("category_num", "datetime"):  # alone, a datetime column is read as ns
            maybe.add("X")
    n = len(cols)
    names_ = {"strings": [f"c{j}" for j in range(n)], "none": None,
              "ints": list(range(n)), "mixed": [f"c{j}" if j % 2 else j for j in range(n)]}
    columns = names_[d["columns"]]
    X = pd.DataFrame({j: cols[j] for j in range(n)})
    if columns is not None:
        X.columns = columns
    if d["columns"] == "mixed" and n > 1:
        bad.add("X")
    y0 = rng.standard_normal(T)
    y = {
        "Series": pd.Series(y0, name="target"),
        "DataFrame1": pd.DataFrame({"t": y0}),
        "DataFrame2": pd.DataFrame({"t": y0, "u": -y0}),
        "ndarray": y0,
        "Series_na": pd.Series(np.where(np.arange(T) == 0, np.nan, y0)),
        "Series_Int64": pd.Series(pd.array(rng.randint(0, 3, size=T), dtype="Int64")),
    }[d["y_type"]]
    if d["y_type"] == "Series_na":
        bad.add("y")
    sid = {"none": None, "Series": pd.Series(np.repeat([1, 2], [T // 2, T - T // 2])),
           "Series_na": pd.Series(pd.array([None] * T, dtype="Int64"))}[d["sid"]]
    if d["sid"] == "Series_na":
        bad.add("sequence_id")
    Xp = {"same": X, "ndarray": X.to_numpy(), "renamed": X.add_suffix("_new"),
          "reordered": X[X.columns[::-1]]}[d["predict_with"]]
    predict_bad = set()
    named = d["columns"] == "strings"
    if named and d["predict_with"] == "renamed":
        predict_bad.add("X")
    if named and d["predict_with"] == "reordered" and n > 1:
        predict_bad.add("X")
    # fitted without names and predicted with them (or the reverse): sklearn only warns
    signature = ("pandas", tuple(sorted(d.items())))
    return X, y, sid, Xp, bad, maybe, predict_bad, signature


@fuzz_settings(60)
@given(pandas_cases())
def test_fuzz_pandas_inputs(case):
    pd = pytest.importorskip("pandas")
    d, seed = case
    X, y, sid, Xp, bad, maybe, predict_bad, signature = build_pandas_case(pd, d, seed)

    def call():
        est = ElmanRNNRegressor(**TINY).fit(X, y, sequence_id=sid)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "X does not have valid feature names"
            try:
                pred = est.predict(Xp)
            except (ValueError, TypeError) as exc:
                assert predict_bad, f"{signature}: predict raised {exc!r}"
                assert names(str(exc), "X"), str(exc)
                pred = est.predict(X)
            else:
                assert not predict_bad, f"{signature}: predict accepted {Xp.columns}"
        score = est.score(X, y, sequence_id=sid)
        return [*est.weights_, pred] + ([[score]] if len(X) >= 2 else [])

    check_contract("pandas inputs", signature, call, bad, maybe)


# -- the named input cases, one each --------------------------------------------------
def _named_input_cases():
    rng = np.random.RandomState(3)
    X = rng.uniform(-1, 1, size=(12, 2))
    y = X[:, 0] - 0.5 * X[:, 1]
    Xn, Xi, yn, yi = X.copy(), X.copy(), y.copy(), y.copy()
    Xn[4, 1], Xi[7, 0], yn[2], yi[5] = np.nan, -np.inf, np.nan, np.inf
    const = X.copy()
    const[:, 1] = 5.0
    sid = np.repeat([0, 1], 6)
    return [
        # (case, X, y, sequence_id, bad, maybe)
        ("1-D X", X[:, 0], y, None, {"X"}, ()),
        ("3-D X", X[:, :, None], y, None, {"X"}, ()),
        ("scalar X", 1.0, y, None, {"X"}, ()),
        ("empty X and y", np.empty((0, 2)), np.empty(0), None, {"X"}, ()),
        ("X without columns", np.empty((12, 0)), y, None, {"X"}, ()),
        ("T = 1", X[:1], y[:1], None, (), ()),
        ("T = 2", X[:2], y[:2], None, (), ()),
        ("X longer than y", X, y[:-1], None, {"X", "y"}, ()),
        ("y longer than X", X[:-1], y, None, {"X", "y"}, ()),
        ("sequence_id too short", X, y, sid[:-1], {"sequence_id"}, ()),
        ("sequence_id 2-D", X, y, sid[:, None], {"sequence_id"}, ()),
        ("sequence_id scalar", X, y, 0, {"sequence_id"}, ()),
        ("sequence_id with NaN", X, y, np.where(sid == 1, np.nan, 0.0), {"sequence_id"}, ()),
        ("one sequence per row", X, y, np.arange(12), (), ()),
        ("int X", (X * 10).astype(int), y, None, (), ()),
        ("int y", X, (y * 10).astype(int), None, (), ()),
        ("bool X", X > 0, y, None, (), ()),
        ("bool y", X, y > 0, None, (), ()),
        ("object X of floats", X.astype(object), y, None, (), ()),
        ("object y of floats", X, y.astype(object), None, (), ()),
        ("complex X", X.astype(complex), y, None, {"X"}, ()),
        ("complex y", X, y.astype(complex), None, {"y"}, ()),
        ("string X", np.full(X.shape, "a"), y, None, {"X"}, ()),
        ("string y", X, np.full(y.shape, "a"), None, {"y"}, ()),
        ("numeric string X", X.astype(str), y, None, (), ()),
        ("NaN in X", Xn, y, None, {"X"}, ()),
        ("-inf in X", Xi, y, None, {"X"}, ()),
        ("NaN in y", X, yn, None, {"y"}, ()),
        ("inf in y", X, yi, None, {"y"}, ()),
        ("constant column", const, y, None, (), ()),
        ("constant X", np.ones_like(X), y, None, (), ()),
        ("constant y", X, np.full_like(y, 4.0), None, (), ()),
        ("X * 1e150", X * 1e150, y, None, (), {"X"}),
        ("y * 1e150", X, y * 1e150, None, (), {"y"}),
        ("X, y * 1e150", X * 1e150, y * 1e150, None, (), {"X", "y"}),
        ("X * 1e-150", X * 1e-150, y, None, (), ()),
        ("y * 1e-150", X, y * 1e-150, None, (), ()),
        ("X, y * 1e-150", X * 1e-150, y * 1e-150, None, (), ()),
        ("X * 1e300", X * 1e300, y, None, (), {"X"}),
        ("float32 X and y", X.astype(np.float32), y.astype(np.float32), None, (), ()),
        ("y of shape (T, 1)", X, y[:, None], None, (), ()),
        ("y of shape (T, 0)", X, np.empty((12, 0)), None, {"y"}, ()),
        ("y None", X, None, None, {"y"}, ()),
        ("X None", None, y, None, {"X"}, ()),
        ("ragged X", [[1.0, 2.0], [3.0]] * 6, y, None, {"X"}, ()),
        ("X of dicts", np.array([[{}, {}]] * 12, dtype=object), y, None, {"X"}, ()),
    ]


NAMED_CASES = _named_input_cases()


@pytest.mark.parametrize("case", NAMED_CASES, ids=[c[0] for c in NAMED_CASES])
def test_named_input_case(case):
    name, X, y, sid, bad, maybe = case
    check_contract("named input cases", name,
                   lambda: fit_predict_score(X, y, sequence_id=sid), bad, maybe)
    FINISHED["test_named_input_case"] += 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # TINY stops at 2
def test_named_input_cases_with_pandas():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(5)
    values = rng.uniform(-1, 1, size=(12, 2))
    target = values[:, 0]
    for label, frame in [("DataFrame with column names", pd.DataFrame(values, columns=["a", "b"])),
                         ("DataFrame without column names", pd.DataFrame(values))]:
        outcome = check_contract("named input cases", label,
                                 lambda: fit_predict_score(frame, pd.Series(target)))
        assert outcome == "ok"
    est = ElmanRNNRegressor(**TINY).fit(pd.DataFrame(values, columns=["a", "b"]), target)
    assert list(est.feature_names_in_) == ["a", "b"]


# -- an invalid value of every parameter ------------------------------------------------------
#: Candidates tried against every parameter; those its constraints reject are its cases.
_POOL = [-1, np.nan, np.inf, "invalid", None, 1j]


def _invalid_values(param):
    constraints = [make_constraint(c) for c in ElmanRNNRegressor._parameter_constraints[param]]
    candidates = list(_POOL)
    for c in constraints:
        if isinstance(c, Interval):  # the bounds themselves and just outside them
            for bound in (c.left, c.right):
                if bound is not None:
                    candidates += [bound, bound - 1, bound + 0.5]
    out, seen = [], set()
    for value in candidates:
        key = (type(value).__name__, repr(value))
        if key in seen or any(c.is_satisfied_by(value) for c in constraints):
            continue
        seen.add(key)
        out.append(value)
    return out


PARAMS = sorted(ElmanRNNRegressor().get_params(deep=False))
INVALID_CASES = [(p, v) for p in PARAMS for v in _invalid_values(p)]


def test_every_parameter_has_invalid_cases():
    """A new parameter needs constraints that reject something, or this test fails."""
    assert set(ElmanRNNRegressor._parameter_constraints) == set(PARAMS)
    per_param = Counter(p for p, _ in INVALID_CASES)
    missing = [p for p in PARAMS if per_param[p] == 0]
    assert not missing, f"no invalid value found for {missing}"


@pytest.fixture(scope="module")
def small_data():
    rng = np.random.RandomState(1)
    X = rng.uniform(-1, 1, size=(10, 2))
    return X, X[:, 0] + 0.1 * X[:, 1]


@pytest.mark.parametrize("param, value", INVALID_CASES,
                         ids=[f"{p}={v!r}" for p, v in INVALID_CASES])
def test_invalid_parameter_value(small_data, param, value):
    X, y = small_data
    check_contract("invalid parameter values", (param, type(value).__name__, repr(value)),
                   lambda: fit_predict_score(X, y, **{param: value}), bad={param})
    FINISHED["test_invalid_parameter_value"] += 1


#: Solver instances: the settings a solver shares with the estimator (its estimator_params)
#: obey the estimator's constraints; three invalid values of each, for every solver.
SOLVER_CASES = [
    (name, setting, value)
    for name in sorted(SOLVERS)
    for setting in SOLVERS[name].estimator_params
    if setting in ElmanRNNRegressor._parameter_constraints
    for value in _invalid_values(setting)[:3]
]


@pytest.mark.parametrize("name, setting, value", SOLVER_CASES,
                         ids=[f"{n}-{s}={v!r}" for n, s, v in SOLVER_CASES])
def test_invalid_setting_of_a_solver_instance(small_data, name, setting, value):
    X, y = small_data
    solver = SOLVERS[name](**{setting: value})  # solvers store their settings as given
    check_contract("invalid solver instance settings", (name, setting, repr(value)),
                   lambda: fit_predict_score(X, y, solver=solver), bad={setting})
    FINISHED["test_invalid_setting_of_a_solver_instance"] += 1


# -- random parameter combinations: valid, extreme and invalid values -------------------------
def _valid_values(param):
    """(normal, extreme) valid values, from the parameter's constraints."""
    constraints = [make_constraint(c) for c in ElmanRNNRegressor._parameter_constraints[param]]
    normal, extreme = [], []
    for c in constraints:
        if isinstance(c, Interval):
            integral = c.type is Integral
            lo = c.left if c.left is not None else -10
            if integral:
                start = lo if c.closed in ("left", "both") else lo + 1
                normal += [start + 1, start + 2]
                extreme += [start]
            elif c.right is None:
                normal += [lo + 0.5, lo + 2.0]
                extreme += [lo + 1e-300, 1e300] + ([lo] if c.closed in ("left", "both") else [])
            else:
                normal += [lo + 0.25 * (c.right - lo), lo + 0.75 * (c.right - lo)]
                extreme += [lo + 1e-300, c.right - 1e-12]
        elif hasattr(c, "options"):
            normal += sorted(c.options)
        elif type(c).__name__ == "_NoneConstraint":
            normal.append(None)
        elif type(c).__name__ == "_Booleans":
            normal += [False, True]
        elif type(c).__name__ == "_RandomStates":
            normal += [0, 7, None, np.random.RandomState(2)]
        elif type(c).__name__ == "_VerboseHelper":
            normal += [0, False]
    return normal, extreme


VALID = {p: _valid_values(p) for p in PARAMS}
#: parameters left at TINY's value: size and caps (the extreme of a cap is a slow fit)
_FIXED = {"n_hidden", "max_iter", "max_inner_iter", "verbose"}


@st.composite
def parameter_cases(draw):
    chosen = draw(st.lists(st.sampled_from([p for p in PARAMS if p not in _FIXED]),
                           min_size=1, max_size=4, unique=True))
    params, kinds = {}, {}
    for p in chosen:
        normal, extreme = VALID[p]
        invalid = [v for q, v in INVALID_CASES if q == p]
        kind = draw(st.sampled_from(["normal"] * 3 + ["extreme"] * 2 + ["invalid"]))
        pool = {"normal": normal, "extreme": extreme or normal, "invalid": invalid}[kind]
        i = draw(st.integers(0, len(pool) - 1))
        params[p], kinds[p] = pool[i], kind if kind != "extreme" or extreme else "normal"
    return params, kinds


@fuzz_settings(100)
@given(parameter_cases())
def test_fuzz_parameter_combinations(small_data, case):
    params, kinds = case
    X, y = small_data
    bad = {p for p, k in kinds.items() if k == "invalid"}
    maybe = {p for p, k in kinds.items() if k == "extreme"}
    if params.get("early_stopping") is True:
        maybe |= {"validation_fraction", "early_stopping"}  # 10 rows may be too few
    signature = tuple(sorted((p, repr(v)) for p, v in params.items()))
    check_contract("parameter combinations", signature,
                   lambda: fit_predict_score(X, y, **params), bad, maybe)


# -- the count ------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def number_of_distinct_cases(request):
    """After the module's tests, in whatever order they ran: print the distinct cases tried
    per category and, when the module ran whole, assert there were at least 500.

    A module-scoped fixture's teardown runs after the last test of the module, so the count
    does not depend on the order of the tests; a shortfall is reported as an error in that
    teardown."""
    yield
    total = sum(len(s) for s in CASES.values())
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        sys.stdout.write(f"\n[skalm fuzz] {total} distinct cases tried:\n")
        for category in sorted(CASES):
            sys.stdout.write(
                f"[skalm fuzz]   {len(CASES[category]):5d}  {category} (calls: "
                f"{OUTCOMES[category, 'ok']} fitted/predicted, {OUTCOMES[category, 'raised']} "
                "raised a ValueError/TypeError naming the argument)\n"
            )
        # a full run: every hypothesis test drew cases and every parametrized case finished
        expected = {"test_named_input_case": len(NAMED_CASES),
                    "test_invalid_parameter_value": len(INVALID_CASES),
                    "test_invalid_setting_of_a_solver_instance": len(SOLVER_CASES)}
        partial = {k: (FINISHED[k], n) for k, n in expected.items() if FINISHED[k] != n}
        for category in ("fit/predict/score inputs", "predict inputs", "parameter combinations"):
            if not CASES[category]:
                partial[category] = 0
        if partial:
            sys.stdout.write(f"[skalm fuzz] partial run ({partial}): not checked against 500\n")
            return
    assert total >= 500, f"only {total} distinct cases"
