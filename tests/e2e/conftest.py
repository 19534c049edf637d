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
            src = model_source(model)
            out = tmp_path_factory.mktemp("rw-" + model.replace("/", "-")) / "out"
            before = hash_tree(src)
            cmd = [str(tfshrink), "rewrite", str(src), str(out)]
            t0 = time.time()
            try:
                p = subprocess.run(cmd, capture_output=True, text=True,
                                   timeout=600)
                rc, so, se = p.returncode, p.stdout, p.stderr
            except subprocess.TimeoutExpired as e:
                rc, so, se = -999, str(e.stdout or ""), "timeout after 600 s"
            cache[model] = Rewrite(model, src, out, cmd, rc, so, se,
                                   time.time() - t0, before, hash_tree(src))
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
