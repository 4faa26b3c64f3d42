"""Customer lifetime value for non-contractual purchasing.

Pure Python (numpy, scipy, pandas, Ibis/DuckDB); never imports Django.

    from patron.analytics import clv
    s = clv.rfm_summary(tx, observation_end="1997-09-30", unit="W")
    bg = clv.BetaGeo().fit(s)          # or clv.ParetoNBD()
    gg = clv.GammaGamma().fit(s)
    value = clv.lifetime_value(bg, gg, s, horizon=52, discount_rate=0.0019)

See docs/analytics/clv.md.
"""

from ._base import CLVError, CLVInputError, ConvergenceError, FitDiagnostics, NotFittedError
from .bgnbd import BetaGeo
from .gammagamma import GammaGamma
from .paretonbd import ParetoNBD
from .simulate import simulate_bgnbd, simulate_spend
from .summary import UNIT_DAYS, rfm_summary, rfm_summary_expr
from .value import lifetime_value

__all__ = [
    "UNIT_DAYS",
    "BetaGeo",
    "CLVError",
    "CLVInputError",
    "ConvergenceError",
    "FitDiagnostics",
    "GammaGamma",
    "NotFittedError",
    "ParetoNBD",
    "lifetime_value",
    "rfm_summary",
    "rfm_summary_expr",
    "simulate_bgnbd",
    "simulate_spend",
]
