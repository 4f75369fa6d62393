"""Semantic leakage (Gonen et al. 2024, "Does Liking Yellow Imply Driving a School Bus?"): an unrelated concept in
the prompt leaking into the continuation. Probes, the paired Leak-Rate, its statistics, and the suite runner."""
from models.leakage.probes import LeakProbe, SuiteError, load_suite
from models.leakage.stats import bootstrap_ci, leak_rate, sign_test_p

__all__ = ["LeakProbe", "SuiteError", "load_suite", "leak_rate", "bootstrap_ci", "sign_test_p"]
