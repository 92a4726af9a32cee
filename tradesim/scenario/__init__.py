"""Scenarios: the schema (`schema`), YAML loading with positions, `extends:` and `--set`
(`loading`), and the cross-field checks (`checks`).

Everything a user needs is re-exported here: `from tradesim.scenario import Scenario`.
"""

from tradesim.scenario.loading import (
    dump_scenario,
    load_scenario,
    scenario_files,
    scenario_from_dict,
    scenario_from_yaml,
)
from tradesim.scenario.schema import (
    _SHOCK_MODELS,
    SHOCK_TYPES,
    CapacityShock,
    CurrencySpec,
    DemandShock,
    EmbargoShock,
    ExchangeRateShock,
    Parameters,
    PriceCapShock,
    RegionSpec,
    RouteCapacityShock,
    SanctionShock,
    Scenario,
    SectorSpec,
    SettlementPolicyShock,
    SettlementRiskShock,
    Shock,
    TariffShock,
    TradeCostShock,
    WorldPriceShock,
)

__all__ = [
    "SHOCK_TYPES",
    "_SHOCK_MODELS",
    "CapacityShock",
    "CurrencySpec",
    "DemandShock",
    "EmbargoShock",
    "ExchangeRateShock",
    "Parameters",
    "PriceCapShock",
    "RegionSpec",
    "RouteCapacityShock",
    "SanctionShock",
    "Scenario",
    "SectorSpec",
    "SettlementPolicyShock",
    "SettlementRiskShock",
    "Shock",
    "TariffShock",
    "TradeCostShock",
    "WorldPriceShock",
    "dump_scenario",
    "load_scenario",
    "scenario_files",
    "scenario_from_dict",
    "scenario_from_yaml",
]
