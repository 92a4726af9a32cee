import tradesim


def test_public_api_is_pinned():
    assert sorted(tradesim.__all__) == sorted(
        [
            "Attribution",
            "CalibrationError",
            "ComparisonError",
            "CalibrationReport",
            "Comparison",
            "EnsembleResult",
            "Scenario",
            "ScenarioError",
            "SimulationError",
            "SensitivityResult",
            "SimulationResult",
            "ThinRouteWarning",
            "TradesimError",
            "__version__",
            "annual_bilateral",
            "attribute",
            "base_scenario",
            "calibrate",
            "compare",
            "currency_shares",
            "in_currency",
            "load_scenario",
            "paired_metrics",
            "run_ensemble",
            "scenario_from_dict",
            "sensitivity",
            "shock_groups",
            "simulate",
            "sweep",
            "welfare",
            "thin_routes",
            "write_outputs",
        ]
    )
    for name in tradesim.__all__:
        assert hasattr(tradesim, name), name


def test_error_hierarchy():
    assert issubclass(tradesim.ScenarioError, tradesim.TradesimError)
    assert issubclass(tradesim.ScenarioError, ValueError)
    assert issubclass(tradesim.SimulationError, tradesim.TradesimError)
    assert issubclass(tradesim.CalibrationError, tradesim.TradesimError)


def test_import_has_no_heavy_side_effects():
    import subprocess
    import sys

    code = "import sys, tradesim; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert out.stderr == ""


def test_import_is_lazy_and_names_resolve():
    """`import tradesim` loads no heavy library (issue 16: at most 0.3 s); a public name
    loads its module on first use; an unknown name is an AttributeError."""
    import subprocess
    import sys

    code = (
        "import sys, tradesim\n"
        "heavy = ('xarray', 'pandas', 'scipy', 'pydantic', 'simpy', 'dask', 'jinja2')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "from tradesim import simulate, Scenario\n"
        "print('xarray' in sys.modules, simulate.__module__, Scenario.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[]", "True tradesim.analysis.simulate Scenario"]
    assert set(tradesim.__all__) <= set(dir(tradesim))
    try:
        _ = tradesim.no_such_name
    except AttributeError as e:
        assert "no_such_name" in str(e)
    else:
        raise AssertionError("expected AttributeError")
