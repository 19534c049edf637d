"""End-to-end tests: run the tfshrink binary, then load original and output
with real TensorFlow and compare every signature's outputs.

Environment:
  TFSHRINK_BIN              path to the binary (default <repo>/build/tfshrink);
                            if it does not exist every e2e test is skipped.
  TFSHRINK_E2E_FIXTURES     "committed" = use tests/fixtures/models as is;
                            default: regenerate them with generate.py into a
                            session temp dir (needs ~20 s).
  TFSHRINK_REALMODELS       override the real-model folder
                            (default <repo>/../shared/realmodels).

Run:  .venv/bin/python -m pytest tests/e2e -q -rs
"""

import hashlib
import importlib.util
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES_SRC = REPO / "tests" / "fixtures"
COMMITTED_MODELS = FIXTURES_SRC / "models"
REALMODELS = Path(os.environ.get("TFSHRINK_REALMODELS",
                                 REPO.parent / "shared" / "realmodels"))
LOADERS = ("tf2", "v1")

if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import tfcompare  # noqa: E402


def tfshrink_path():
    return Path(os.environ.get("TFSHRINK_BIN", REPO / "build" / "tfshrink"))


def fixture_names():
    spec = importlib.util.spec_from_file_location(
        "tfshrink_fixture_generate", FIXTURES_SRC / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return list(mod.FIXTURES)


def is_saved_model_dir(p):
    return (p / "saved_model.pb").is_file() or (p / "saved_model.pbtxt").is_file()


def real_model_names():
    if not REALMODELS.is_dir():
        return None
    return sorted(p.name for p in REALMODELS.iterdir()
                  if p.is_dir() and is_saved_model_dir(p))


# --------------------------------------------------------------------------
# collection
# --------------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: end-to-end test running the tfshrink binary and "
        "real TensorFlow")


def _model_params():
    params = [pytest.param("fx/" + n, id="fx-" + n) for n in fixture_names()]
    real = real_model_names()
    if real is None:
        params.append(pytest.param(
            "real/<missing>", id="real-models-missing",
            marks=pytest.mark.skip(
                reason="real models folder %s not found; real-model e2e "
                       "tests skipped" % REALMODELS)))
    else:
        params += [pytest.param("real/" + n, id="real-" + n) for n in real]
    return params


def pytest_generate_tests(metafunc):
    if "model" in metafunc.fixturenames:
        metafunc.parametrize("model", _model_params())
    if "loader" in metafunc.fixturenames:
        metafunc.parametrize("loader", LOADERS)


def pytest_collection_modifyitems(config, items):
    mine = [it for it in items if HERE in Path(str(it.fspath)).parents]
    if not mine:
        return
    reason = None
    binp = tfshrink_path()
    if not (binp.is_file() and os.access(binp, os.X_OK)):
        reason = ("tfshrink binary not found or not executable at %s "
                  "(build it, or set TFSHRINK_BIN)" % binp)
    elif importlib.util.find_spec("tensorflow") is None:
        reason = ("TensorFlow is not importable from %s (install "
                  "tests/fixtures/requirements.txt into a venv)" % sys.executable)
    for it in mine:
        it.add_marker(pytest.mark.e2e)
        if reason:
            it.add_marker(pytest.mark.skip(reason=reason))


# --------------------------------------------------------------------------
# session fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tfshrink():
    return tfshrink_path()


@pytest.fixture(scope="session")
def fixture_models_dir(tmp_path_factory):
    if os.environ.get("TFSHRINK_E2E_FIXTURES", "") == "committed":
        if not COMMITTED_MODELS.is_dir():
            pytest.fail("TFSHRINK_E2E_FIXTURES=committed but %s is missing"
                        % COMMITTED_MODELS)
        return COMMITTED_MODELS
    out = tmp_path_factory.mktemp("fixtures")
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, str(FIXTURES_SRC / "generate.py"), str(out)],
        capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        pytest.fail("fixture generation failed (exit %d):\n%s\n%s" % (
            proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    sys.stderr.write("\n[e2e] regenerated fixtures in %.1fs -> %s\n"
                     % (time.time() - t0, out))
    return out


@pytest.fixture(scope="session")
def tf_runner():
    runner = tfcompare.IsolatedRunner()
    yield runner
    runner.close()


def hash_tree(root):
    """{relative path: sha256} of every file (and symlink target) under root."""
    out = {}
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames
                                          if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "symlink:" + os.readlink(p)
            else:
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                out[rel] = h.hexdigest()
        for d in dirnames:
            rel = str((Path(dirpath) / d).relative_to(root))
            out.setdefault(rel + "/", "dir")
    return out


@dataclass
class Rewrite:
    model: str
    src: Path
    out: Path
    cmd: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    before: dict
    after: dict


def run_tfshrink(tfshrink, verb, src, out, args=(), model=None):
    """Runs `tfshrink VERB [ARGS] SRC OUT` -> Rewrite, with the hashes of SRC
    before and after."""
    before = hash_tree(src)
    cmd = [str(tfshrink), verb] + list(args) + [str(src), str(out)]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        rc, so, se = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, so, se = -999, str(e.stdout or ""), "timeout after 600 s"
    return Rewrite(model or str(src), src, out, cmd, rc, so, se,
                   time.time() - t0, before, hash_tree(src))


def fmt_run(r):
    return ("command: %s\nexit: %s\n--- stdout ---\n%s\n--- stderr ---\n%s"
            % (" ".join(r.cmd), r.returncode, r.stdout[-4000:],
               r.stderr[-4000:]))


def check_cli_output(r):
    """The command exited 0, left its input alone and wrote a SavedModel
    directory."""
    changed = sorted(k for k in set(r.before) | set(r.after)
                     if r.before.get(k) != r.after.get(k))
    if changed:
        pytest.fail("input directory %s was modified: %s" % (r.src, changed))
    if r.returncode != 0:
        pytest.fail("tfshrink %s failed\n%s" % (r.cmd[1], fmt_run(r)))
    if not r.out.is_dir():
        pytest.fail("no output directory %s\n%s" % (r.out, fmt_run(r)))
    if not is_saved_model_dir(r.out):
        pytest.fail("output has no saved_model.pb(txt): %s" % sorted(
            p.name for p in r.out.iterdir()))


def compare_outputs(model, loader, r, original_results, tf_runner, what,
                    check_new=None):
    """Every signature of r.out (`what`: "rewritten", "shrunk") answers via
    loader as the original does, or fails with the same error type. Skipped
    (with the reason), never passed, when the ORIGINAL does not load or run
    via loader or nothing was compared; check_new(orig, new) may fail first."""
    orig, hints = original_results(model, loader)
    load_errors = tfcompare.loader_load_errors(orig, loader)
    loaded_ok = [k for k in orig
                 if k[0] == loader and k[2] != tfcompare.LOAD_KEY]
    if load_errors and not loaded_ok:
        why = "; ".join("[%s] %s" % (",".join(t) or "-", m[:700])
                        for t, m in sorted(load_errors.items()))
        pytest.skip("%s: ORIGINAL does not load via %s in this TensorFlow: %s"
                    % (model, loader, why))
    if not loaded_ok:
        pytest.skip("%s: ORIGINAL has no runnable signature via %s"
                    % (model, loader))
    if r.returncode != 0:
        pytest.fail("tfshrink %s failed, nothing to compare\n%s"
                    % (r.cmd[1], fmt_run(r)))
    new = tf_runner.run(r.out, loader, hints)
    if check_new:
        check_new(orig, new)
    problems = tfcompare.compare_results(orig, new, loader)
    if problems:
        pytest.fail("%s: %d difference(s) between original and %s "
                    "via %s:\n  %s" % (model, len(problems), what, loader,
                                       "\n  ".join(problems[:40])),
                    pytrace=False)
    n_arrays = sum(1 for k, v in orig.items()
                   if k[0] == loader and not isinstance(v, tuple))
    if n_arrays == 0:
        # The output loaded and failed the same way, but nothing was
        # actually compared: report as skipped, not passed.
        by_msg = {}
        for k, v in sorted(orig.items(), key=repr):
            if k[0] == loader and isinstance(v, tuple):
                by_msg.setdefault(v[1][:400], []).append(k[2])
        why = "; ".join("%s: %s" % (",".join(sigs), msg)
                        for msg, sigs in by_msg.items())
        pytest.skip("%s: ORIGINAL loads via %s but no signature produced "
                    "outputs (%s matches): %s"
                    % (model, loader, what, why[:1500]))


@pytest.fixture(scope="session")
def model_source(fixture_models_dir):
    def resolve(model):
        kind, name = model.split("/", 1)
        p = (Path(fixture_models_dir) if kind == "fx" else REALMODELS) / name
        if not p.is_dir():
            pytest.fail("model directory %s does not exist" % p)
        return p
    return resolve


@pytest.fixture(scope="session")
def rewritten(tfshrink, model_source, tmp_path_factory):
    """rewritten(model) -> Rewrite, running `tfshrink rewrite IN OUT` once
    per model per session."""
    cache = {}

    def get(model):
        if model not in cache:
            out = tmp_path_factory.mktemp("rw-" + model.replace("/", "-")) / "out"
            cache[model] = run_tfshrink(tfshrink, "rewrite", model_source(model),
                                        out, model=model)
        return cache[model]
    return get


@pytest.fixture(scope="session")
def original_results(tf_runner, model_source):
    """original_results(model, loader) -> (results, hints), cached."""
    cache = {}
    hints_cache = {}

    def get(model, loader):
        if model not in hints_cache:
            hints_cache[model] = tf_runner.hints(model_source(model))
        key = (model, loader)
        if key not in cache:
            cache[key] = tf_runner.run(model_source(model), loader,
                                       hints_cache[model])
        return cache[key], hints_cache[model]
    return get
