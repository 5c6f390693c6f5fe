"""Every solver setting is validated, with an error that names it.

``ADMMiRNN(rho=0)`` used to end in a ZeroDivisionError and ``Adam(beta1=2)`` was accepted. Each
solver class now declares ``_parameter_constraints``; :class:`~skalm.ElmanRNNRegressor` checks
them (``Solver._validate_params``) before every fit, for a solver given by name or as an
instance.
"""

import dataclasses
import inspect
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skalm import ElmanRNNRegressor
from skalm._setup import make_solver
from skalm.solvers import (
    LBFGS,
    NAILM,
    NAILS,
    SOLVERS,
    ADMMiRNN,
    Adam,
    ALMBCDSolver,
    ClippedGradientDescent,
    GradientDescent,
    MiniBatchSGD,
    NesterovGradientDescent,
    get_solver_class,
)

# (solver class, setting, invalid value): out of range, wrong type, or an unknown option.
INVALID = [
    (ADMMiRNN, "rho", 0),
    (ADMMiRNN, "rho", -1.0),
    (ADMMiRNN, "rho_growth", 0.5),
    (ADMMiRNN, "max_rho", 0.0),
    (ADMMiRNN, "mu", -1e-5),
    (ADMMiRNN, "max_iter", 0),
    (Adam, "beta1", 2),
    (Adam, "beta1", 1.0),
    (Adam, "beta2", -0.1),
    (Adam, "epsilon", 0.0),
    (Adam, "learning_rate", 0),
    (Adam, "batch_size", 0),
    (Adam, "batch_size", 2.5),
    (GradientDescent, "learning_rate", -0.1),
    (GradientDescent, "learning_rate", "fast"),
    (GradientDescent, "tol", -1.0),
    (GradientDescent, "n_iter_no_change", 0),
    (GradientDescent, "verbose", "yes"),
    (ClippedGradientDescent, "clip_norm", 0.0),
    (NesterovGradientDescent, "momentum", 1.0),
    (NesterovGradientDescent, "momentum", -0.5),
    (MiniBatchSGD, "batch_size", 0),
    (MiniBatchSGD, "batch_size", None),
    (LBFGS, "memory", 0),
    (LBFGS, "max_fun", 0),
    (LBFGS, "gtol", -1e-6),
    (LBFGS, "max_iter", 1.5),
    (LBFGS, "blas_threads", 0),
    (NAILS, "max_line_search", -1),
    (NAILS, "linear_solver", "qr"),
    (NAILS, "max_dense_mb", 0),
    (NAILS, "cg_max_iter", 0),
    (NAILS, "cg_tol", -1.0),
    (NAILM, "damping", 0.0),
    (NAILM, "max_trials", 0),
    (ALMBCDSolver, "gamma0", 0.0),
    (ALMBCDSolver, "eta1", 1.0),
    (ALMBCDSolver, "eta3", 0.0),
    (ALMBCDSolver, "eps0", -0.1),
    (ALMBCDSolver, "eps_star", -1.0),
    (ALMBCDSolver, "max_gamma", 0.0),
    (ALMBCDSolver, "restart_bound", "auto"),
    (ALMBCDSolver, "acceleration", "anderson"),
    (ALMBCDSolver, "max_inner_iter", 0),
]


def _ids(case):
    cls, name, value = case
    return f"{cls.__name__}-{name}={value!r}"


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(20, 2))
    return X, X[:, 0] - 0.5 * X[:, 1]


@pytest.mark.parametrize("case", INVALID, ids=[_ids(c) for c in INVALID])
def test_an_invalid_setting_is_an_error_naming_it(case):
    cls, name, value = case
    solver = cls(**{name: value})
    with pytest.raises((ValueError, TypeError), match=f"'{name}' parameter of {cls.__name__}"):
        solver._validate_params()


@pytest.mark.parametrize("case", INVALID[:: 5], ids=[_ids(c) for c in INVALID[:: 5]])
def test_fit_checks_the_settings_of_a_solver_instance(case, data):
    cls, name, value = case
    est = ElmanRNNRegressor(n_hidden=2, solver=cls(**{name: value}))
    with pytest.raises((ValueError, TypeError), match=f"'{name}' parameter"):
        est.fit(*data)
    assert not hasattr(est, "weights_")


def test_admmirnn_rho_zero_is_no_longer_a_zero_division(data):
    est = ElmanRNNRegressor(n_hidden=2, solver=ADMMiRNN(rho=0))
    with pytest.raises(ValueError, match="'rho' parameter of ADMMiRNN"):
        est.fit(*data)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_every_setting_of_every_registered_solver_has_a_constraint(name):
    cls = SOLVERS[name]
    settings = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    missing = [p for p in settings if p not in cls._parameter_constraints]
    assert not missing, f"{cls.__name__} lacks constraints for {missing}"


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_settings_are_declared_once_as_keyword_only_fields(name):
    # The declaration (dataclass fields) is the constructor, get_params and the constraints.
    cls = SOLVERS[name]
    declared = {f.name for f in dataclasses.fields(cls)}
    params = inspect.signature(cls.__init__).parameters.values()
    assert {p.name for p in params if p.kind is p.KEYWORD_ONLY} == declared
    assert set(cls().get_params()) == declared == set(cls._parameter_constraints)
    with pytest.raises(TypeError, match="positional"):
        cls(cls().max_iter)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_the_defaults_are_valid(name):
    SOLVERS[name]()._validate_params()


@pytest.mark.parametrize("solver", [
    Adam(beta1=0.0, beta2=0.0, batch_size=None),
    NesterovGradientDescent(momentum=0.0),
    LBFGS(gtol=0.0, n_iter_no_change=None, blas_threads=None),
    ADMMiRNN(rho_growth=1.0, rho=np.float32(3.0)),
    NAILS(max_line_search=0, cg_tol=0.0),
    ALMBCDSolver(eps_star=0.0, restart_bound=-1.0, acceleration=None),
], ids=lambda s: type(s).__name__)
def test_values_at_closed_ends_are_accepted(solver):
    solver._validate_params()


def test_a_solver_named_by_string_keeps_its_own_defaults_unless_the_estimator_sets_them():
    """max_iter=None, tol=None, n_iter_no_change="auto" (the estimator's defaults) mean the
    solver class's own defaults; values set on the estimator reach a solver named by string.
    The oracle is each class's own default, read from a fresh instance."""
    for name in SOLVERS:
        own = get_solver_class(name)()
        solver = make_solver(ElmanRNNRegressor(solver=name))
        assert (solver.max_iter, solver.tol, solver.n_iter_no_change) == (
            own.max_iter, own.tol, own.n_iter_no_change
        )
        solver = make_solver(ElmanRNNRegressor(solver=name, max_iter=7, tol=0.5,
                                               n_iter_no_change=None))
        assert (solver.max_iter, solver.tol, solver.n_iter_no_change) == (7, 0.5, None)
    assert make_solver(ElmanRNNRegressor(solver=LBFGS())).max_iter == 500
    assert make_solver(ElmanRNNRegressor(solver=NAILS())).n_iter_no_change == 5


@pytest.mark.parametrize(
    "params, named",
    [
        ({"solver": "lbfgs", "gamma0": 2.0}, ["gamma0"]),
        ({"solver": "adam", "acceleration": None, "eta2": 0.5}, ["acceleration", "eta2"]),
        ({"solver": LBFGS(), "max_iter": 5}, ["max_iter"]),
        ({"activation": "relu", "leaky_slope": 0.2}, ["leaky_slope"]),
        ({"activation": "tanh", "elu_alpha": 2.0}, ["elu_alpha"]),
    ],
)
def test_settings_the_chosen_solver_or_activation_does_not_read_warn(params, named):
    X = np.random.RandomState(0).standard_normal((30, 2))
    y = X[:, 0]
    with pytest.warns(UserWarning, match="not read by") as record:
        ElmanRNNRegressor(n_hidden=3, random_state=0, **params).set_params(
            **({"max_iter": params.get("max_iter", 3)} if "max_iter" in params else {})
        ).fit(X, y)
    message = str([w for w in record if "not read by" in str(w.message)][0].message)
    assert all(f"{name}=" in message for name in named)
    assert record[0].filename == __file__  # points at the caller's line


def test_settings_that_are_read_do_not_warn():
    X = np.random.RandomState(0).standard_normal((30, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        ElmanRNNRegressor(n_hidden=3, gamma0=2.0, max_iter=3, random_state=0).fit(X, X[:, 0])
        ElmanRNNRegressor(n_hidden=3, solver="lbfgs", max_iter=3, tol=0.1,
                          random_state=0).fit(X, X[:, 0])
        ElmanRNNRegressor(n_hidden=3, activation="leaky_relu", leaky_slope=0.2, max_iter=3,
                          random_state=0).fit(X, X[:, 0])


def test_an_activation_instance_is_used_and_tunable():
    from sklearn.base import clone
    from skalm.activations import get_activation

    X = np.random.RandomState(1).standard_normal((40, 2))
    y = np.tanh(X[:, 0])
    est = ElmanRNNRegressor(n_hidden=3, activation=get_activation("leaky_relu", slope=0.3),
                            max_iter=3, random_state=0)
    assert est.get_params()["activation__slope"] == 0.3
    est.set_params(activation__slope=0.2)
    twin = ElmanRNNRegressor(n_hidden=3, activation="leaky_relu", leaky_slope=0.2,
                             max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(clone(est).fit(X, y).predict(X), twin.fit(X, y).predict(X))
    with pytest.raises(ValueError, match="slope"):
        est.set_params(activation__slope=2.0)
