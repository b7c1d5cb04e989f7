"""Exactness for the tiers that cannot resume mid-function (hostc and llvm): see `rerun`."""
