"""Helper modules the tests share, not tests: the NumPy references (np_reference), the
pages' command blocks (readme_blocks), a script run with a real fault (fault_run, run as
a program), what the machine offers (machine). Tests import them as ``helpers.<name>``:
pytest puts tests/ on sys.path (conftest.py is there, tests/ has no __init__.py)."""
