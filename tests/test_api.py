import tradesim


def test_public_api_is_pinned():
    assert sorted(tradesim.__all__) == sorted(
        [
            "Attribution",
            "CalibrationError",
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
