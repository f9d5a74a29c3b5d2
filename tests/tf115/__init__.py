"""The TF 1.15 oracle (oracle.py) and the plain TF 1.x code it runs."""
