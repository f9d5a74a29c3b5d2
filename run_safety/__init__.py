"""This project's run-safety layer: what keeps a run from losing a model or ending in a
traceback. None of it existed in TensorFlow 1.x or the tutorial.

* ``run_safety.checkpoints``: the checkpoint folder kept as a database keeps its files
  (a lock per folder, durable commits, nothing of a finished model ever deleted).
* ``run_safety.cli``: flag types, one-line errors and exit statuses, atomic writes,
  signals that wait for a safe point.
* ``run_safety.early_exit``: a signal before ``main()`` starts is one line, not a
  traceback.
* ``run_safety.requirements``: a missing package is one line, not a traceback; the
  TensorFlow versions tested (2.16-2.21) and what happens outside them; the notebooks'
  set-up cell.

Must not hold: the model, or stand-ins for TF 1.x APIs (those are in ``tf1_compat/``).
"""
