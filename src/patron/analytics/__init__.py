"""The analytics core: pure functions and estimators over DataFrames with named columns.

Nothing in this package imports Django, so it can be tested on golden data with no
database, used in a notebook, and run on a bigger engine.
"""
