"""jax-sysid on skalm's data arrays: run by a *separate* Python (one that has jax-sysid), not by
skalm's environment. Needs only numpy and jax-sysid; it never imports skalm or scikit-learn.

    /work/venv-jax/bin/python benchmarks/_jax_sysid_peer.py IN.npz OUT.json

``vs_peers.py --jax-python PATH`` writes ``IN.npz`` and reads ``OUT.json``; run by hand only to
debug. Setting up such an environment (jax-sysid 1.1.0 pins jax/jaxlib <= 0.4.31, scipy <= 1.14.1,
flax <= 0.10.4, so it does not share skalm's environment)::

    python -m venv /work/venv-jax && /work/venv-jax/bin/pip install jax-sysid

``IN.npz`` holds ``X_train, Y_train, X_test, Y_test`` (rows are time steps; the test rows follow
the training rows), the initial weights ``W0 (r, r), V0 (r, n), b0 (r,), A0 (m, r), c0 (m,)``,
and the settings ``rho_th, lbfgs_epochs, train_x0, rho_x0, repeats`` and optionally ``skip``
(add a feedthrough ``D u_k`` to the output, D starting at 0: skalm's ``skip_connection=True``).

What jax-sysid 1.1.0 optimises (read from its source, ``jax_sysid/_model.py`` ``Model.fit``,
``Model.loss``, ``_solvers.l2reg``, ``utils.lbfgs_options``)
------------------------------------------------------------------------------------------

Model: a discrete-time state-space model ``x(k+1) = f(x(k), u(k); th)``, ``y(k) = g(x(k), u(k);
th)``, states clipped to [-xsat, xsat] (xsat = 1000, never active here). We give it skalm's Elman
network *exactly*, through the generic ``Model(nx, ny, nu, state_fcn, output_fcn)`` with
``th = [W, V, b, A, c]`` and the state ``x(k) = h_{k-1}``::

    f(x, u) = relu(W x + V u + b)           (= h_k)
    g(x, u) = A relu(W x + V u + b) + c     (= yhat_k = A h_k + c)

so the predictions are skalm's for the same weights and ``x(0) = h_0``. (jax-sysid's ``RNN``
class cannot express this: its output network has its own parameters and reads ``x(k) =
h_{k-1}`` and ``u(k)``, i.e. ``y_k = C h_{k-1} + D u_k + ...``, a different model.)

Objective (``Model.fit`` with ``train_x0=True``, the default)::

    J(th, x0) = (1/N) sum_k ||yhat_k - y_k||^2  +  rho_th * sum_blocks ||block||_F^2
                + rho_x0 * ||x0||^2

* the loss is ``output_loss = sum((Yhat - Y)**2) / N``: the mean over time steps of the squared
  Euclidean error, skalm's (1/T) loss and the paper's TrainErr -- no 1/2, no division by m;
* ``rho_th`` (default 0.01; here 0.1) multiplies the plain sum of squares of *every* parameter
  array, biases included -- no 1/2. So it is skalm's objective R with ``lambda_A = lambda_W =
  lambda_V = lambda_b = lambda_c = rho_th`` (and lambda_u = 0 instead of skalm's 1e-8);
* ``train_x0=True`` adds the initial state ``x0`` (= h_0) to the variables with penalty
  ``rho_x0 * ||x0||^2`` (default rho_x0 = 0.001): jax-sysid fits the initial hidden state, skalm
  fixes h_0 = 0. With ``train_x0=False`` x0 = 0 and J is exactly skalm's R;
* solver: ``jaxopt.ScipyMinimize(method="L-BFGS-B")``, i.e. scipy's L-BFGS-B on J with the
  JAX gradient, ``maxfun = maxiter = lbfgs_epochs`` (so "500 epochs" = at most 500 function
  evaluations), ``maxcor = 10``, ``ftol = gtol = 1e-16`` (never stops early in practice),
  ``maxls = 20``; no Adam phase (``adam_epochs = 0``); float64 (jax_enable_x64 is switched on).

Errors reported: TrainErr = mean over training rows of the squared Euclidean error of a
simulation from the fitted x0 (0 when not trained); TestErr = the same over the test rows, the
simulation run on from the state at the end of the training rows (one simulation over all rows).

Timing: ``time.perf_counter`` around ``Model.fit`` (wall). The first fit in the process includes
tracing and XLA compilation of J and its gradient; jax-sysid builds new closures at every fit,
so later fits re-trace, but with JAX's persistent compilation cache (a fresh temporary directory,
minimum compile time 0) the compiled code is reused. ``fit_first_s`` is the first fit (what a
user pays once), ``fit_s`` the median of the ``repeats`` further fits (cache warm; their work
is identical), and ``jit_s = fit_first_s - fit_s`` the compilation overhead. One XLA thread
(``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``); pin the process with
``taskset`` from outside.
"""

import os
import sys
import tempfile

os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def main(path_in, path_out):
    import jax
    jax.config.update("jax_platform_name", "cpu")
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_compilation_cache_dir", tempfile.mkdtemp(prefix="jaxcache-"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    import jax.numpy as jnp
    import jax_sysid
    from jax_sysid.models import Model

    d = np.load(path_in)
    Xtr, Ytr, Xte, Yte = (np.asarray(d[k], dtype=np.float64)
                          for k in ("X_train", "Y_train", "X_test", "Y_test"))
    th0 = [np.asarray(d[k], dtype=np.float64) for k in ("W0", "V0", "b0", "A0", "c0")]
    rho_th = float(d["rho_th"])
    epochs = int(d["lbfgs_epochs"])
    train_x0 = bool(d["train_x0"])
    rho_x0 = float(d["rho_x0"])
    repeats = int(d["repeats"])
    skip = bool(d["skip"]) if "skip" in d else False
    r, n, m = th0[0].shape[0], Xtr.shape[1], Ytr.shape[1]
    if skip:
        th0.append(np.zeros((m, n)))  # D, the input-to-output (feedthrough) weights

    def state_fcn(x, u, th):
        W, V, b = th[0], th[1], th[2]
        return jnp.maximum(W @ x + V @ u + b, 0.0)

    def output_fcn(x, u, th):
        W, V, b, A, c = th[:5]
        y = A @ jnp.maximum(W @ x + V @ u + b, 0.0) + c
        return y + th[5] @ u if skip else y

    def one_fit():
        model = Model(r, m, n, state_fcn=state_fcn, output_fcn=output_fcn)
        model.loss(rho_x0=rho_x0, rho_th=rho_th, train_x0=train_x0)
        model.optimization(lbfgs_epochs=epochs, adam_epochs=0, iprint=-1)
        model.init(params=[th.copy() for th in th0], x0=np.zeros(r))
        with contextlib.redirect_stdout(io.StringIO()):  # "L-BFGS-B done in ... iterations."
            t0, c0 = time.perf_counter(), time.process_time()
            model.fit(Ytr, Xtr)
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        return model, elapsed, cpu

    model, first, first_cpu = one_fit()
    later = [one_fit()[1:] for _ in range(repeats)]
    times = [t for t, _ in later]
    cpus = [c for _, c in later]
    fit_s = float(np.median(times)) if times else float("nan")
    cpu_s = float(np.median(cpus)) if cpus else float("nan")

    x0 = np.asarray(model.x0, dtype=np.float64).reshape(-1)
    Yhat, _ = model.predict(x0, np.vstack([Xtr, Xte]))
    Yhat = np.asarray(Yhat)
    ntr = Xtr.shape[0]
    train_err = float(np.mean(np.sum((Yhat[:ntr] - Ytr) ** 2, axis=1)))
    test_err = float(np.mean(np.sum((Yhat[ntr:] - Yte) ** 2, axis=1)))
    th = [np.asarray(p, dtype=np.float64) for p in model.params]
    penalty = rho_th * sum(float(np.sum(p ** 2)) for p in th)
    out = dict(
        train_err=train_err, test_err=test_err, J=float(model.Jopt),
        R_skalm=train_err + penalty,  # skalm's R of the fitted weights (h_0 = x0)
        x0_norm=float(np.linalg.norm(x0)), fit_first_s=first, fit_s=fit_s,
        fit_all_s=[first] + times, jit_s=first - fit_s if times else float("nan"),
        cpu_first_s=first_cpu, cpu_s=cpu_s, cpu_all_s=[first_cpu] + cpus,
        jit_cpu_s=first_cpu - cpu_s if cpus else float("nan"),
        jax_sysid=getattr(jax_sysid, "__version__", None) or _dist_version("jax-sysid"),
        jax=jax.__version__, train_x0=train_x0, rho_th=rho_th, rho_x0=rho_x0,
        lbfgs_epochs=epochs, skip=skip,
    )
    with open(path_out, "w") as fh:
        json.dump(out, fh)


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # pragma: no cover
        return None


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
