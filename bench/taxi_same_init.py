"""Same start, same model: el's and legacy tf.estimator's wide & deep from identical weights.

Run:  .venv/bin/python -m bench.taxi_same_init [--seeds 0,1] [--steps 3000]

bench/taxi_wide_deep.py compares el and the legacy estimator as users run them: each draws
its own random initial weights for a seed, so their AUCs differ by the luck of the draw
(about +-0.002 per seed at 3,000 steps). This benchmark removes the draw to compare the
implementations: for each seed, the legacy peer (TF 2.15, `bench/legacy_taxi_wide_deep.py`
in `.venv-legacy`) writes its initial DNN variables; both estimators then start their DNN
from them (el through `WarmStartSettings` with `var_name_to_prev_var_name`, reading the
legacy name-based checkpoint; the linear part starts at zeros in both) and train the same
steps on the same batches (same shuffle seed), with the same feature columns and
optimizers (Ftrl on the linear part, Adagrad on the DNN, at the rates given). The table
shows both AUCs and how far apart the two models' eval predictions are.

Identical arithmetic would give identical predictions; float rounding differs between
the two (TF 2.15 graph kernels vs TF 2.21 functions) and training amplifies it slowly.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from console import quiet_tensorflow

quiet_tensorflow()  # an entry point: TensorFlow's start-up lines stay out of the output

import estimator_lib as el

# isort: split
import keras
import numpy as np

from bench import taxi_wide_deep as twd

# (linear Ftrl rate, DNN Adagrad rate): el's defaults, and tensorflow-estimator's defaults.
RATES = {"el defaults": (0.2, 0.05), "tf.estimator defaults": (0.005, 0.001)}


def legacy_dnn_name(name: str) -> str:
    """The legacy estimator's name of an el wide & deep DNN variable."""
    for el_prefix, legacy_prefix in (("dnn_input/", "dnn/input_from_feature_columns/input_layer/"),
                                     ("dnn_hiddenlayer_", "dnn/hiddenlayer_"),
                                     ("dnn_logits/", "dnn/logits/")):
        if name.startswith(el_prefix):
            return legacy_prefix + name[len(el_prefix):]
    raise ValueError(f"{name!r} is not a DNN variable of el's wide & deep model.")


def _legacy(python: str, config: str, *args: str) -> dict:
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "legacy_taxi_wide_deep.py")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env.pop("PYTHONPATH", None)
    done = subprocess.run([python, script, "--config", config, *args], capture_output=True,
                          text=True, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"legacy peer failed (rc {done.returncode}): {done.stderr[-3000:]}")
    return json.loads(lines[-1])


def run_pair(python: str, config: str, meta: dict, seed: int, steps: int,
             rates: tuple[float, float], el_dnn_names: list[str], work: str) -> dict:
    """Both estimators from legacy's initial DNN for `seed`; their eval AUCs and predictions.

    `el_dnn_names`: every DNN variable of el's model, each warm-started from its legacy name.
    """
    init_dir = tempfile.mkdtemp(dir=work)
    names = _legacy(python, config, "--model-dir", init_dir, "--seed", str(seed),
                    "--write-dnn-init")["dnn_variables"]
    legacy = _legacy(python, config, "--model-dir", tempfile.mkdtemp(dir=work),
                     "--seed", str(seed), "--steps", str(steps), "--warmup", str(steps // 10),
                     "--linear-lr", repr(rates[0]), "--dnn-lr", repr(rates[1]),
                     "--warm-start", init_dir, "--no-cost")

    renames = {n: legacy_dnn_name(n) for n in el_dnn_names}
    missing = sorted(set(renames.values()) - set(names))
    if missing:
        raise RuntimeError(f"legacy init has no {missing}; it has {names}")
    linear, dnn = twd.el_columns(meta)
    estimator = el.DNNLinearCombinedClassifier(
        model_dir=tempfile.mkdtemp(dir=work), linear_feature_columns=linear,
        dnn_feature_columns=dnn, dnn_hidden_units=twd.HIDDEN,
        linear_optimizer=keras.optimizers.Ftrl(rates[0]),
        dnn_optimizer=keras.optimizers.Adagrad(rates[1]),
        config=el.RunConfig(tf_random_seed=seed),
        warm_start_from=el.WarmStartSettings(init_dir, vars_to_warm_start=list(renames),
                                             var_name_to_prev_var_name=renames))
    estimator.train(twd.make_input_fn(meta["train"], train=True, seed=seed,
                                      buffer=meta["num_train"]), max_steps=steps)
    eval_fn = twd.make_input_fn(meta["eval"], train=False)
    ours = np.array([p["logistic"][0] for p in estimator.predict(eval_fn)], np.float64)
    theirs = np.array(legacy["probabilities"], np.float64)
    labels = np.asarray(meta["eval_labels"], np.float64)
    gap = np.abs(ours - theirs)
    el_quality, legacy_quality = twd.quality(labels, ours), twd.quality(labels, theirs)
    return {"seed": seed, "steps": steps, "rates": rates,
            "el_auc": el_quality["auc"], "legacy_auc": legacy_quality["auc"],
            "el_log_loss": el_quality["log_loss"], "legacy_log_loss": legacy_quality["log_loss"],
            "max_abs_diff": float(gap.max()), "mean_abs_diff": float(gap.mean())}


def el_dnn_variable_names(meta: dict, work: str) -> list[str]:
    """The DNN variables of el's wide & deep model (one step of a throwaway model)."""
    linear, dnn = twd.el_columns(meta)
    estimator = el.DNNLinearCombinedClassifier(
        model_dir=tempfile.mkdtemp(dir=work), linear_feature_columns=linear,
        dnn_feature_columns=dnn, dnn_hidden_units=twd.HIDDEN,
        config=el.RunConfig(tf_random_seed=0))
    estimator.train(twd.make_input_fn(meta["train"], train=True, buffer=meta["num_train"]),
                    max_steps=1)
    return [n for n in estimator.get_variable_names() if n.startswith("dnn_")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--steps", default="300,3000", help="comma-separated step counts")
    parser.add_argument("--legacy-python", default=".venv-legacy/bin/python")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(),
                                                           "el_bench_taxi_wide_deep"))
    args = parser.parse_args(argv)
    if not os.path.exists(args.legacy_python):
        print(f"No legacy python at {args.legacy_python!r}: make it with "
              "`../shared/tools/make-legacy-venv .venv-legacy`.", file=sys.stderr)
        return 2
    meta = twd.ensure_data(args.data_dir)
    work = tempfile.mkdtemp(prefix="el_bench_same_init_")
    config = twd.write_legacy_config(meta, os.path.join(work, "config.json"))
    el_dnn_names = el_dnn_variable_names(meta, work)
    rows = []
    for label, rates in RATES.items():
        for steps in [int(s) for s in args.steps.split(",")]:
            for seed in [int(s) for s in args.seeds.split(",")]:
                row = run_pair(args.legacy_python, config, meta, seed, steps, rates, el_dnn_names,
                               work)
                row["label"] = label
                twd.log(f"{label} seed {seed} steps {steps}: el AUC {row['el_auc']:.5f}, "
                        f"legacy {row['legacy_auc']:.5f}, max |dp| {row['max_abs_diff']:.1e}")
                rows.append(row)
    print("| rates (Ftrl, Adagrad) | steps | seed | el AUC | legacy AUC | el - legacy | "
          "el log loss | legacy log loss | max abs p diff | mean abs p diff |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['label']} {r['rates']} | {r['steps']} | {r['seed']} | {r['el_auc']:.5f} | "
              f"{r['legacy_auc']:.5f} | {r['el_auc'] - r['legacy_auc']:+.5f} | "
              f"{r['el_log_loss']:.5f} | {r['legacy_log_loss']:.5f} | "
              f"{r['max_abs_diff']:.1e} | {r['mean_abs_diff']:.1e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
