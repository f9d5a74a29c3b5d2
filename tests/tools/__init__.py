"""Tools that test the tests, run by hand or from a test: the mutation run
(``mutate.py``) and the Ctrl-C soak (``ctrl_c_loop.py``). Not benchmarks (``bench/``
measures speed) and not collected by pytest (no ``test_`` files)."""
