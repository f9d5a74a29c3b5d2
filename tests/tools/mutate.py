"""Mutation testing: does the test suite notice a one-line semantic change?

Each mutant below replaces one exact piece of text in one file of the project (the two
scripts, tf1_compat/, run_safety/, the notebooks) by a plausible mistake. For each mutant the repository is copied to a
temporary folder (the working tree is never touched), the mutant applied there, and the
tests chosen for it run with a timeout. A mutant is

  killed    a selected test failed (or the run timed out: a mutant that makes a short test
            train for minutes is noticed too),
  survived  every selected test passed: the suite cannot tell the mistake from the code.

Every mutant must apply by exact string match, exactly once: when the code changes and a
target text is gone, the script says so and stops before running anything.

    python tests/tools/mutate.py                 # every mutant, one after another (30-60 min on 2 cores)
    python tests/tools/mutate.py --list          # the mutants and their tests, nothing run
    python tests/tools/mutate.py --only clf-keep-best-always,reg-no-reset
    python tests/tools/mutate.py --all-tests     # each mutant against the whole suite (slow)
    python tests/tools/mutate.py --no-oracle     # without tests/test_tf115.py (no Python 3.7)

The last line is the summary: "mutants: N  killed: K  survived: S (ids)". The exit status
is 0 when every mutant was killed, 1 when one survived, 2 when a mutant did not apply or the
unmutated baseline fails its tests.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLF = 'mnist_lstm_classifier.py'
REG = 'sin_cos_lstm_regressor.py'

# Test selections (pytest node ids, relative to the repository)
KEEP = 'tests/test_keep_the_best.py'
DEFAULTS = 'tests/test_defaults.py'
CLASSIFIER = 'tests/test_classifier.py'
REGRESSOR = 'tests/test_regressor.py'
FIDELITY = 'tests/test_fidelity.py'
INPUT = 'tests/test_input_data.py'
BAD = 'tests/test_bad_input.py'
ANYDIR = 'tests/test_any_directory.py'
NOTEBOOK = 'tests/test_notebook.py'
PLUMBING = 'tests/test_run_safety.py'
CKPTS = 'run_safety/checkpoints.py'
CLI = 'run_safety/cli.py'
REFERENCE = 'tests/test_tf115_reference.py'
ORACLE = 'tests/test_tf115.py'
PLOT = f'{REGRESSOR}::test_regressor_plot_shows_target_cos_and_the_first_rows_prediction'
DURABLE = 'tests/test_checkpoint_durability.py'
REQ = 'run_safety/requirements.py'
REQ_TESTS = 'tests/test_requirements.py'
NOISE_TESTS = 'tests/test_tensorflow_noise.py'
NOTEBOOKS = 'tests/test_notebooks.py'
F_CLF = [f'{FIDELITY}::test_classifier_logits_match_numpy_lstm',
         f'{FIDELITY}::test_classifier_two_output_methods_agree',
         f'{FIDELITY}::test_adam_hyperparameters_are_tf1_defaults',
         f'{FIDELITY}::test_initializers_are_the_tutorials']
F_REG = [f'{FIDELITY}::test_regressor_step_matches_numpy',
         f'{FIDELITY}::test_carried_state_is_a_true_continuation',
         f'{FIDELITY}::test_regressor_graph_names_are_tf1s',
         f'{FIDELITY}::test_adam_hyperparameters_are_tf1_defaults']
F_LOOP_REG = f'{FIDELITY}::test_regressor_default_loop_200_iterations_10_costs'
F_READER = [f'{FIDELITY}::test_reader_split_scaling_and_labels',
            f'{FIDELITY}::test_next_batch_order_and_epoch_boundary_at_call_430',
            f'{FIDELITY}::test_same_seed_same_batches']
F_SEQ = [f'{FIDELITY}::test_sequence_loss_default_softmax',
         f'{FIDELITY}::test_sequence_loss_custom_loss_called_with_keywords',
         f'{FIDELITY}::test_sequence_loss_unequal_lengths_raise']


def M(id, path, old, new, tests, why):
    return dict(id=id, path=path, old=old, new=new, tests=tests, why=why)


MUTANTS = [
    # ---------------------------------------------------------------- keep the best
    M('clf-keep-best-always', CLF, 'if score > max_acc:', 'if True:', [KEEP, CLASSIFIER],
      'save at every print, not only on a new best (reviewer)'),
    M('clf-keep-last', CLF, 'if score > max_acc:',
      'if score > max_acc or run.save(saver, sess, step) is None:',
      [KEEP, CLASSIFIER],
      'keep the last checkpoint while printing (and reporting) the best (reviewer)'),
    M('clf-keep-ties', CLF, 'if score > max_acc:', 'if score >= max_acc:', [KEEP, CLASSIFIER],
      'a tie with the best so far also saves (the tutorial: strictly better)'),
    M('clf-no-restore', CLF, '        saver.restore(sess, best)\n', '        pass\n',
      [KEEP, CLASSIFIER], 'test the final weights, not the restored best checkpoint (reviewer)'),
    # checkpoints.TrainingRun.save deletes the previous best itself (the Saver's
    # max_to_keep no longer matters: it saves with write_state=False)
    M('clf-keep-five', CKPTS, '            if self.best is not None:\n                self._delete(self.best)\n',
      '            pass\n', [KEEP, CLASSIFIER, PLUMBING], 'keep every saved checkpoint instead of only the best'),
    M('clf-absolute-paths', CKPTS, """    lines = [f'model_checkpoint_path: "{current}"']""",
      """    lines = [f'model_checkpoint_path: "{os.path.abspath(os.path.join(folder, current))}"']""",
      [KEEP, DEFAULTS, PLUMBING], 'the checkpoint index names an absolute path'),
    M('clf-no-adopt-old', CKPTS, '            if self.kept is not None:\n                self._delete(self.kept)\n            self.kept = None',
      '            pass\n            self.kept = None', [CLASSIFIER, PLUMBING],
      "finish() leaves an older run's model beside the new one"),
    M('clf-best-acc-is-score', CLF, 'progress.saved(step, test_acc)',
      'progress.saved(step, score)', [KEEP],
      'with --select-on validation, report the validation score as the batch accuracy'),
    M('clf-best-validation-wrong', CLF, "result['best_validation_accuracy'] = max_acc",
      "result['best_validation_accuracy'] = test_accuracy", [KEEP],
      'report the test accuracy as the best validation accuracy'),
    # ---------------------------------------------------------------- evaluate()
    M('clf-eval-counts-padding', CLF, 'correct += int(np.sum(hits[:real]))',
      'correct += int(np.sum(hits))', [KEEP], 'the padded images count as hits (reviewer)'),
    M('clf-eval-divides-by-padded', CLF, '    return correct / n\n',
      '    return correct / (math.ceil(n / g.batch_size) * g.batch_size)\n', [KEEP],
      'divide by the padded count (reviewer)'),
    M('clf-eval-skips-last-batch', CLF, 'for start in range(0, n, g.batch_size):',
      'for start in range(0, n - g.batch_size + 1, g.batch_size):', [KEEP],
      'the last, partial batch is never evaluated'),
    # ---------------------------------------------------------------- --select-on validation
    M('clf-validation-on-test', CLF, 'score = evaluate(self.sess, self.g, self.mnist.validation)',
      'score = evaluate(self.sess, self.g, self.mnist.test)', [KEEP],
      '--select-on validation scores on the test set (reviewer)'),
    M('clf-validation-ignored', CLF, "        if args.select_on == 'validation':\n"
      "            score = evaluate",
      "        if args.select_on == 'never':\n            score = evaluate",
      [KEEP], '--select-on validation picks on the batch accuracy'),
    M('clf-validation-not-saved-on', CLF, '            self.line += f\'  validation accuracy {score:.4f}\'\n',
      '            self.line += f\'  validation accuracy {score:.4f}\'; score = test_acc\n',
      [KEEP], 'prints the validation accuracy but picks on the batch accuracy'),
    # ---------------------------------------------------------------- defaults and flags
    M('clf-lr-default', CLF, "default=lr, help='learning rate", "default=0.01, help='learning rate",
      [DEFAULTS], 'classifier --lr default 0.01 (reviewer)'),
    M('clf-lr-constant', CLF, 'lr = 0.001  #', 'lr = 0.002  #', [DEFAULTS] + F_CLF,
      "the module's learning rate (build_graph's default too)"),
    M('clf-iters-default', CLF, 'training_iters = 100000  #', 'training_iters = 10000  #',
      [DEFAULTS], '--training-iters default 10000'),
    M('clf-batch-default', CLF, 'default=batch_size,', 'default=64,', [DEFAULTS],
      '--batch-size default 64'),
    M('clf-hidden-default', CLF, 'default=n_hidden_units,', 'default=64,', [DEFAULTS],
      '--hidden-units default 64'),
    M('clf-ckpt-dir-default', CLF, "default='ckptRNN'", "default='ckpt'", [DEFAULTS],
      '--ckpt-dir default ckpt (reviewer)'),
    M('clf-logdir-default', CLF, "default=os.path.join('logs', 'mnist_lstm_classifier')",
      "default='logs'", [DEFAULTS], '--logdir default logs'),
    M('clf-train-ignores-lr', CLF, '    g = build_graph(args.lr, args.batch_size, args.hidden_units, '
      'args.static_unroll, args.fast)\n    # max_to_keep=1',
      '    g = build_graph(lr, args.batch_size, args.hidden_units, args.static_unroll, args.fast)\n'
      '    # max_to_keep=1', [DEFAULTS], 'train() builds with the default lr'),
    M('clf-loop-bound', CLF, 'while step * args.batch_size < args.training_iters:',
      'while step * args.batch_size <= args.training_iters:', [CLASSIFIER],
      'one step too many'),
    M('clf-print-cadence', CLF, 'if step % 20 == 0:', 'if step % 10 == 0:', [CLASSIFIER],
      'print every 10 steps'),
    # ---------------------------------------------------------------- classifier graph
    M('clf-forget-bias', CLF, "BasicLSTMCell(n_hidden_units, forget_bias=1.0",
      "BasicLSTMCell(n_hidden_units, forget_bias=0.0", F_CLF, 'forget bias 0'),
    M('clf-first-output', CLF, "results = tf.matmul(outputs[-1], weights['out'])",
      "results = tf.matmul(outputs[0], weights['out'])", F_CLF, 'method 2 on the first step'),
    M('clf-cost-sum', CLF, 'cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits',
      'cost = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits', F_CLF,
      'summed, not averaged, cost'),
    M('clf-accuracy-vs-itself', CLF, 'tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1))',
      'tf.equal(tf.argmax(pred, 1), tf.argmax(pred, 1))', [KEEP] + F_CLF,
      'accuracy compares the prediction with itself'),
    # ---------------------------------------------------------------- regressor
    M('reg-no-reset', REG, '    BATCH_START = 0  # every run starts', '    pass  # every run starts',
      [REGRESSOR, F_LOOP_REG], 'train() does not reset BATCH_START (reviewer)'),
    M('reg-lr-default', REG, "default=LR, help='learning rate", "default=0.01, help='learning rate",
      [DEFAULTS], 'regressor --lr default 0.01 (reviewer)'),
    M('reg-lr-constant', REG, 'LR = 0.006  #', 'LR = 0.01  #', [DEFAULTS] + F_REG,
      "the module's LR (LSTMRNN's default too)"),
    M('reg-cell-size-default', REG, 'default=CELL_SIZE,', 'default=20,', [DEFAULTS],
      '--cell-size default 20 (reviewer)'),
    M('reg-batch-default', REG, 'default=BATCH_SIZE,', 'default=25,', [DEFAULTS],
      '--batch-size default 25'),
    M('reg-time-steps-default', REG, 'default=TIME_STEPS,', 'default=10,', [DEFAULTS],
      '--time-steps default 10'),
    M('reg-iterations-default', REG, 'default=ITERATIONS,', 'default=100,', [DEFAULTS],
      '--iterations default 100'),
    M('reg-logdir-default', REG, "p.add_argument('--logdir', default='logs'",
      "p.add_argument('--logdir', default='log'", [DEFAULTS], '--logdir default log'),
    M('reg-train-ignores-cell-size', REG,
      'model = LSTMRNN(args.time_steps, INPUT_SIZE, OUTPUT_SIZE, args.cell_size,',
      'model = LSTMRNN(args.time_steps, INPUT_SIZE, OUTPUT_SIZE, CELL_SIZE,', [DEFAULTS],
      'train() builds with the default cell size'),
    M('reg-state-not-carried', REG, 'if i == 0 or args.reset_state:', 'if True:',
      [REGRESSOR, F_LOOP_REG], 'the zero state every batch'),
    M('reg-window-step', REG, '    BATCH_START += time_steps\n', '    BATCH_START += 1\n',
      [REGRESSOR] + F_REG, 'batches overlap instead of continuing each other'),
    M('reg-cost-mean', REG, '                self.batch_size,\n                name=\'average_cost\')',
      '                self.batch_size * self.n_steps,\n                name=\'average_cost\')',
      F_REG, 'the cost divided by all points, not the batch size'),
    M('input-scale', 'tf1_compat/input_data.py', 'numpy.float32(1.0 / 255.0), dtype',
      'numpy.float32(1.0 / 256.0), dtype', [INPUT] + F_READER, 'pixels scaled by 1/256'),
    M('input-no-reshuffle', 'tf1_compat/input_data.py',
      '            if shuffle:\n                self._shuffle()\n            # Start next epoch',
      '            if False:\n                self._shuffle()\n            # Start next epoch',
      [INPUT] + F_READER, 'no fresh shuffle at the epoch boundary'),
    M('input-boundary-index', 'tf1_compat/input_data.py',
      'self._index_in_epoch = batch_size - rest_num_examples',
      'self._index_in_epoch = batch_size', [INPUT] + F_READER, 'the new epoch skips examples'),
    M('input-seed-truncation', 'tf1_compat/input_data.py', 'else seed % (2**31 - 1))',
      'else seed % (2**31))',
      [INPUT], "the seed is not truncated as TF 1.x's get_seed did"),
    M('input-validation-split', 'tf1_compat/input_data.py',
      'validation_images = train_images[:validation_size]',
      'validation_images = train_images[-validation_size:]', [INPUT] + F_READER,
      'validation taken from the end of the training images'),
    M('seq2seq-no-weights', 'tf1_compat/legacy_seq2seq.py', 'log_perp_list.append(crossent * weight)',
      'log_perp_list.append(crossent)', F_SEQ, 'the weights are ignored'),
    M('seq2seq-epsilon', 'tf1_compat/legacy_seq2seq.py', 'total_size += 1e-12',
      'total_size += 1e-6', F_SEQ, 'a larger epsilon in the averaging'),
    M('cli-lr-zero-accepted', 'run_safety/cli.py', 'if not math.isfinite(value) or value <= 0:',
      'if not math.isfinite(value) or value < 0:', [f'{BAD}::test_classifier_bad_flag'],
      '--lr 0 is accepted'),
    M('cli-nan-not-checked', 'run_safety/cli.py', '    if not math.isfinite(value):\n        raise UserError(f\'the cost',
      '    if False:\n        raise UserError(f\'the cost',
      [f'{BAD}::test_nan_cost_stops_and_keeps_the_good_checkpoint',
       f'{BAD}::test_regressor_nan_cost_names_the_iteration'], 'a NaN cost trains on'),
    # ---------------------------------------------------------------- the checkpoint folder
    M('ckpt-no-run-lock', CKPTS, 'self._lock.acquire(timeout=0)', 'None', [PLUMBING],
      'a second training run in the same folder is not refused (no lock)'),
    M('ckpt-run-lock-waits', CKPTS, 'self._lock.acquire(timeout=0)',
      'self._lock.acquire(timeout=10)', [PLUMBING],
      'a second run waits for the first instead of being refused at once'),
    M('ckpt-index-order', CKPTS,
      """lines += [f'all_model_checkpoint_paths: "{n}"' for n in listed]""",
      """lines += [f'all_model_checkpoint_paths: "{n}"' for n in reversed(listed)]""",
      [PLUMBING], "the index lists the newest checkpoint first (TF's order: oldest first)"),
    M('ckpt-clean-removes-listed', CKPTS, 'if not ours or entry in own:', 'if not ours:',
      [f'{BAD}::test_nan_cost_stops_and_keeps_the_good_checkpoint', PLUMBING],
      "a new run deletes the finished run's model when it starts"),
    M('ckpt-collision-overwrites', CKPTS, 'if new == self.kept:', 'if False:', [PLUMBING],
      "a rerun saving the kept model's step writes over the kept model's files"),
    M('ckpt-eval-does-not-wait', CKPTS, '        acquire(lock, timeout)\n',
      '        lock = None\n', [PLUMBING],
      '--eval reads the index without waiting for a save in progress'),
    # ---------------------------------------------------------------- durability: power cuts, EIO
    M('ckpt-no-fsync-before-commit', CKPTS,
      '            fsync_path(os.path.join(folder, n))\n', '            pass\n',
      [f'{DURABLE}::test_a_power_cut_at_any_point_of_a_run_leaves_a_complete_model',
       f'{DURABLE}::test_each_file_is_fsynced_before_the_index_rename_and_the_folder_after',
       f'{DURABLE}::test_a_power_cut_during_a_real_rerun_leaves_a_model_eval_restores'],
      "the index is renamed in before TF's files (never fsynced by TF) are on the disk"),
    M('ckpt-no-folder-fsync-after-rename', CLI,
      "        for folder in {os.path.dirname(path) or '.' for path in paths}:\n"
      "            fsync_folder(folder)\n", '',
      [f'{DURABLE}::test_each_file_is_fsynced_before_the_index_rename_and_the_folder_after'],
      'the folder is not fsynced after the index rename, so the old model may be deleted first'),
    M('ckpt-delete-before-commit', CKPTS,
      '        with held(self._save_lock):\n            try:\n                write_index(self.folder, self.best',
      '        with held(self._save_lock):\n            if self.kept is not None:\n'
      '                self._delete(self.kept)\n            try:\n                write_index(self.folder, self.best',
      [f'{DURABLE}::test_each_file_is_fsynced_before_the_index_rename_and_the_folder_after'],
      "finish() deletes the previous model before its commit is on the disk"),
    M('ckpt-read-error-is-no-index', CKPTS, '    except OSError as e:\n        raise UnreadableIndex(',
      '    except OSError as e:\n        return None, None\n        raise UnreadableIndex(',
      [f'{DURABLE}::test_a_read_error_on_the_index_stops_the_run_and_changes_nothing'],
      'an index that cannot be read is taken for an empty one (and the model is removed)'),
    M('ckpt-garbage-deleted', CKPTS, '                    self._set_aside()\n',
      '                    pass\n', [f'{DURABLE}::test_a_garbage_index_moves_the_model_aside_never_deletes_it'],
      "a garbage index's model files are deleted as orphans instead of moved aside"),
    M('ckpt-save-waits-blind', CKPTS,
      '        with held(self._save_lock):  # a signal still stops a wait on a stopped --eval',
      '        with self._save_lock:', [f'{DURABLE}::test_sigterm_stops_a_run_waiting_for_a_stopped_eval'],
      'save() waits for the save lock with a plain blocking acquire: SIGTERM waits too'),
    M('ckpt-cleanup-error-escapes', CKPTS,
      "        except OSError as e:\n            warn(f'could not remove the unlisted",
      "        except ValueError as e:\n            warn(f'could not remove the unlisted",
      [f'{DURABLE}::test_a_failed_cleanup_after_the_commit_is_a_warning'],
      'an error in the clean-up after the commit ends the run with a traceback'),
    M('ckpt-failed-save-removes-listed', CKPTS, '                if self._listed(new):', '                if False:',
      [f'{DURABLE}::test_a_failing_disk_call_at_any_point_keeps_a_model'],
      'a save failing after its index rename removes the files the index now names'),
    M('ckpt-failed-collision-removes-listed', CKPTS, '                    if self._listed(moved):',
      '                    if False:', [f'{DURABLE}::test_a_failing_disk_call_at_any_point_keeps_a_model'],
      "a failure after the rename of a rerun's collision commit removes the kept model's new name"),
    M('reg-outputs-one-rename-each', 'run_safety/outputs.py',
      "    return os.name == 'posix' or _try_symlink(folder)", '    return False',
      [f'{DURABLE}::test_kill_9_between_the_regressors_writes_leaves_one_set'],
      "the PNG, GIF and CSV are renamed in one by one (a kill between mixes two runs)"),
    M('cli-output-not-escaped', CLI, "    with deferred_signals(), _escaped_output():",
      "    with deferred_signals():", [f'{DURABLE}::test_unencodable_output_is_printed_escaped'],
      'a name the terminal cannot encode crashes the final print'),
    # ---------------------------------------------------------------- signals, exit, memory
    M('cli-never-interrupted', CLI, '    if _received:\n        raise Interrupted(_received[0], message)',
      '    if False:\n        raise Interrupted(_received[0], message)',
      [f'{BAD}::test_ctrl_c_keeps_the_best_checkpoint', PLUMBING],
      'check_interrupted never raises: Ctrl-C is ignored'),
    M('cli-second-signal-waits', CLI, 'if len(_received) > 1:', 'if len(_received) > 2:',
      [PLUMBING], 'a second Ctrl-C does not stop a stuck run at once'),
    M('cli-broken-pipe-status', CLI, 'sys.exit(141)', 'sys.exit(1)', [PLUMBING],
      'stdout closed early (| head) exits 1, not 141'),
    M('cli-memory-check-flipped', CLI, 'if needed > total:', 'if needed < total:',
      [CLASSIFIER, PLUMBING], 'the memory check refuses the sizes that fit'),
    M('input-data-dir-beside-first', 'tf1_compat/input_data.py',
      '    if holds_mnist(DEFAULT_DATA_DIR):\n        return DEFAULT_DATA_DIR\n',
      '    if holds_mnist(DEFAULT_DATA_DIR) and not holds_mnist(os.path.join(os.path.dirname('
      'os.path.abspath(script)), DEFAULT_DATA_DIR)):\n        return DEFAULT_DATA_DIR\n',
      [ANYDIR], "--data-dir's default prefers the data/ beside the script to the working directory's"),
    # ---------------------------------------------------------------- notebook, final line
    M('reg-inline-new-figure-per-frame', REG, 'shown.update(png_image(fig))',
      'display(png_image(fig))',
      [f'{NOTEBOOK}::test_regressor_plot_is_inline_one_figure_updated_per_frame'],
      'inline mode adds a new figure to the cell at every frame'),
    M('clf-final-line-names-batch', CLF, "chosen = f'validation accuracy {max_acc:.4f}' if "
      "args.select_on == 'validation'", "chosen = f'validation accuracy {max_acc:.4f}' if "
      "args.select_on == 'never'", [KEEP],
      'with --select-on validation the final line names the batch accuracy'),
    # ---------------------------------------------------------------- the Python matrix (noxfile.py)
    M('matrix-skip-ignored', 'noxfile.py', '        if version in leave_out:\n',
      '        if False:\n', ['tests/test_python_matrix.py'], 'MATRIX_SKIP leaves no version out'),
    M('matrix-other-version-taken', 'noxfile.py', 'elif probed[0] != version:', 'elif False:',
      ['tests/test_python_matrix.py'], "python3.X on PATH taken though it runs another version"),
    # ================================================================ by class of mistake
    # Each class below is a kind of mistake, with a mutant at every place it can be made;
    # the tests named are the ones that must see it (outcomes checked against an
    # independent reference, and the recorded TF 1.15 one, tests/test_tf115_reference.py:
    # no oracle needed).
    # Mutants of run_safety/checkpoints.py's commit and of the regressor's save_outputs
    # target the text before the durability rewrite; retarget them after that merge.
    # ---------------------------------------------------------------- file modes
    M('mode-chmod-removed', CLI, '            os.chmod(tmp, file_mode())', '            pass',
      [f'{REGRESSOR}::test_outputs_modes_follow_the_umask'],
      'outputs keep mkstemp\'s 0600, readable only by their owner'),
    M('mode-fixed-0644', CLI, 'os.chmod(tmp, file_mode())', 'os.chmod(tmp, 0o644)',
      [f'{REGRESSOR}::test_outputs_modes_follow_the_umask'], 'outputs 0644 whatever the umask'),
    M('mode-umask-ignored', CLI, 'os.chmod(tmp, file_mode())', 'os.chmod(tmp, 0o666)',
      [f'{REGRESSOR}::test_outputs_modes_follow_the_umask'], 'outputs world-writable'),
    # ---------------------------------------------------------------- boundaries
    M('bound-positive-int', CLI, '    if value <= 0:\n        raise argparse.ArgumentTypeError(f\'{value} must be a positive',
      '    if value < 0:\n        raise argparse.ArgumentTypeError(f\'{value} must be a positive',
      [f'{BAD}::test_each_validator_takes_its_smallest_value_and_refuses_the_next_below'],
      '--batch-size 0 accepted'),
    M('bound-positive-float-strict', CLI, 'if not math.isfinite(value) or value <= 0:',
      'if not math.isfinite(value) or value <= 1e-300:',
      [f'{BAD}::test_each_validator_takes_its_smallest_value_and_refuses_the_next_below'],
      'the smallest learning rates refused'),
    M('bound-non-negative-float', CLI, 'if not math.isfinite(value) or value < 0:',
      'if not math.isfinite(value) or value <= 0:',
      [f'{BAD}::test_each_validator_takes_its_smallest_value_and_refuses_the_next_below',
       f'{BAD}::test_pause_0_and_batch_of_1_are_accepted_by_both_scripts'], '--pause 0 refused'),
    M('bound-memory', CLI, 'if needed > total:', 'if needed >= total:',
      [f'{PLUMBING}::test_memory_check_accepts_exactly_the_machines_memory'],
      'sizes that need exactly the memory there is refused'),
    M('bound-batch-size', CLF, 'args.batch_size > mnist.train.num_examples',
      'args.batch_size >= mnist.train.num_examples',
      [f'{BAD}::test_batch_size_equal_to_the_training_images_trains_one_more_is_refused'],
      '--batch-size equal to the training images refused'),
    M('bound-batch-size-plus-one', CLF, 'args.batch_size > mnist.train.num_examples',
      'args.batch_size > mnist.train.num_examples + 1',
      [f'{BAD}::test_batch_size_equal_to_the_training_images_trains_one_more_is_refused'],
      'one image more than the training set accepted'),
    M('bound-validation-size-top', 'tf1_compat/input_data.py',
      'if not 0 <= validation_size <= len(train_images):',
      'if not 0 <= validation_size < len(train_images):',
      [f'{INPUT}::test_validation_size_from_0_to_every_training_image'],
      'every training image as validation refused'),
    M('bound-validation-size-bottom', 'tf1_compat/input_data.py',
      'if not 0 <= validation_size <= len(train_images):',
      'if not 0 < validation_size <= len(train_images):',
      [f'{INPUT}::test_validation_size_from_0_to_every_training_image'],
      'validation_size=0 refused'),
    M('bound-epoch-end', 'tf1_compat/input_data.py',
      'if start + batch_size > self._num_examples:', 'if start + batch_size >= self._num_examples:',
      [f'{INPUT}::test_batches_images_labels_and_epochs_follow_tf1s_shuffle'],
      'an epoch ends (and reshuffles) one batch early when the batch size divides it'),
    # ---------------------------------------------------------------- falsy zero
    M('zero-clf-seed', CLF, '        if args.seed is not None:\n            # Upstream',
      '        if args.seed:\n            # Upstream',
      [f'{CLASSIFIER}::test_classifier_seed_0_repeats_itself_and_differs_from_seed_1'],
      'classifier --seed 0 runs unseeded'),
    M('zero-reg-seed', REG, 'if args.seed is not None:', 'if args.seed:',
      [f'{REGRESSOR}::test_regressor_seed_0_repeats_itself_and_differs_from_seed_1'],
      'regressor --seed 0 runs unseeded'),
    M('zero-reader-seed', 'tf1_compat/input_data.py', 'RandomState(None if seed is None else',
      'RandomState(None if not seed else', [f'{INPUT}::test_batches_images_labels_and_epochs_follow_tf1s_shuffle'],
      'read_data_sets(seed=0) shuffles unseeded'),
    M('zero-best-step', CLF, 'if best_step is None:', 'if not best_step:',
      [f'{CLASSIFIER}::test_classifier_seed_0_repeats_itself_and_differs_from_seed_1'],
      'a run whose best is step 0 is told no checkpoint was saved'),
    # ---------------------------------------------------------------- the commit's order
    M('commit-delete-before-index', CKPTS,
      '            try:\n                write_index(self.folder, self.best, [self.best])\n'
      '            except OSError as e:\n                raise write_failed(os.path.join(self.folder, INDEX), e, self.flag) from None\n'
      '            if self.kept is not None:\n                self._delete(self.kept)\n',
      '            if self.kept is not None:\n                self._delete(self.kept)\n'
      '            try:\n                write_index(self.folder, self.best, [self.best])\n'
      '            except OSError as e:\n                raise write_failed(os.path.join(self.folder, INDEX), e, self.flag) from None\n',
      [f'{DURABLE}::test_model_survives_a_crash_at_every_step_of_a_commit'],
      'finish() deletes the kept model before the index names the new one'),
    M('commit-save-deletes-best-first', CKPTS,
      '            try:\n                saver.save(sess,',
      '            if self.best is not None:\n                self._delete(self.best)\n'
      '            try:\n                saver.save(sess,',
      [f'{DURABLE}::test_model_survives_a_crash_at_every_step_of_a_commit'],
      "save() deletes the run's previous best before the index names the new one"),
    # ---------------------------------------------------------------- plotted data
    M('plot-other-rows-prediction', REG, 'pred.flatten()[:args.time_steps]',
      'pred.flatten()[args.time_steps:2 * args.time_steps]', [PLOT],
      "another row's prediction against the first row's target"),
    M('plot-target-is-the-input', REG, "plt.plot(xs[0, :], res[0].flatten(), 'r'",
      "plt.plot(xs[0, :], seq[0].flatten(), 'r'", [PLOT], 'the sine drawn as the target'),
    M('plot-other-rows-points', REG, "plt.plot(xs[0, :], res[0]", "plt.plot(xs[1, :], res[0]",
      [PLOT], "the target drawn at another row's points"),
    M('plot-prediction-style', REG, "pred.flatten()[:args.time_steps], 'b--')",
      "pred.flatten()[:args.time_steps], 'r--')", [PLOT], 'the prediction drawn red like the target'),
    M('plot-png-not-the-figure', REG, "fig.savefig(files[0], format='png')",
      "plt.figure().savefig(files[0], format='png')", [PLOT], 'the PNG is an empty figure'),
    # ---------------------------------------------------------------- shuffle order
    M('shuffle-images-file-order', 'tf1_compat/input_data.py',
      'return self._images if self._order is None else self._images[self._order]',
      'return self._images', [f'{INPUT}::test_batches_images_labels_and_epochs_follow_tf1s_shuffle'],
      '.images in file order after a shuffle'),
    M('shuffle-labels-file-order', 'tf1_compat/input_data.py',
      'return self._labels if self._order is None else self._labels[self._order]',
      'return self._labels', [f'{INPUT}::test_batches_images_labels_and_epochs_follow_tf1s_shuffle'],
      '.labels in file order after a shuffle'),
    M('shuffle-despite-shuffle-false', 'tf1_compat/input_data.py',
      'if self._epochs_completed == 0 and start == 0 and shuffle:',
      'if self._epochs_completed == 0 and start == 0:',
      [f'{INPUT}::test_no_shuffle_batches_come_in_file_order_across_epochs'],
      'next_batch(shuffle=False) shuffles on its first call'),
    M('shuffle-from-file-order', 'tf1_compat/input_data.py',
      'self._order = perm if self._order is None else self._order[perm]', 'self._order = perm',
      [f'{INPUT}::test_batches_images_labels_and_epochs_follow_tf1s_shuffle'],
      "an epoch's shuffle applied to the file order, not to the current order as TF 1.x"),
    # ---------------------------------------------------------------- fidelity without the oracle
    M('fid-loss-summed-over-timesteps', REG,
      '            average_across_timesteps=True,\n            softmax_loss_function=self.ms_error,',
      '            average_across_timesteps=False,\n            softmax_loss_function=self.ms_error,',
      [f'{REFERENCE}::test_regressor_graph_and_loss_structure_are_tf115s'],
      'the regressor loss summed, not averaged, across timesteps'),
    M('fid-op-seed-off-by-one', 'tf1_compat/v1.py', 'random_seed._truncate_seed(graph.version))',
      'random_seed._truncate_seed(graph.version + 1))', [REFERENCE],
      "op seeds one off TF 1.x's: other initial weights for --seed 1"),
    M('fid-regressor-weight-stddev', REG, 'tf.random_normal_initializer(mean=0., stddev=1.,)',
      'tf.random_normal_initializer(mean=0., stddev=0.5,)', [REFERENCE],
      "the regressor's weights drawn with another stddev"),
    # ---------------------------------------------------------------- requirements and versions
    M('req-tf1-accepted', REQ, 'if version[0] != 2:', 'if version[0] > 2:', [REQ_TESTS],
      'TensorFlow 1.x let through to fail later'),
    M('req-keras-mismatch-accepted', REQ,
      'if needs_keras(tf_version) and keras and major_minor(keras) != version:',
      'if needs_keras(tf_version) and keras and major_minor(keras)[0] != version[0]:',
      [REQ_TESTS], 'a tf-keras of another minor version accepted'),
    M('req-newer-is-tested', REQ, 'if TESTED[0] <= version <= TESTED[1]:',
      'if TESTED[0] <= version:', [REQ_TESTS], 'a TensorFlow newer than the range runs without its warning'),
    M('req-keras-needed-everywhere', REQ,
      "if module == 'tf_keras' and installed('tensorflow') and not needs_keras(tf_version):",
      "if module == 'tf_keras' and not installed('tensorflow'):", [REQ_TESTS],
      'tf-keras demanded where Keras 2 is built into TensorFlow'),
    M('req-no-python-path', REQ, "return f'{and_list(missing)} {verb} missing for {python()}: {fix}'",
      "return f'{and_list(missing)} {verb} missing: {fix}'", [REQ_TESTS],
      'the missing-packages line does not say which Python'),
    M('req-help-refused', REQ, "if any(a in ('-h', '--help') for a in argv):", 'if False:',
      [REQ_TESTS], '--help refused when a package is missing'),
    M('req-exit-zero', REQ, "print(f'{name}: {refusal}', file=sys.stderr, flush=True)\n    sys.exit(1)",
      "print(f'{name}: {refusal}', file=sys.stderr, flush=True)\n    sys.exit(0)", [REQ_TESTS],
      'a run that cannot start exits 0'),
    M('nb-plan-reinstalls-keras', REQ, 'if not keras or major_minor(keras) != version:', 'if True:',
      [REQ_TESTS], "the notebooks' set-up installs tf-keras where the right one is there (Colab)"),
    # ---------------------------------------------------------------- TensorFlow's start-up lines
    M('noise-log-prefix-kept', 'tf1_compat/v1.py', 'message = line[log.end():] if log else line',
      'message = line', [NOISE_TESTS], "start-up lines with TensorFlow's log prefix get through"),
    M('noise-hold-swallows-all', 'tf1_compat/v1.py', 'kept = without_startup_noise(held.read())',
      "kept = b''", [NOISE_TESTS], 'every line written during the import lost, errors included'),
    M('noise-hold-keeps-all', 'tf1_compat/v1.py', 'kept = without_startup_noise(held.read())',
      'kept = held.read()', [NOISE_TESTS], 'the held start-up lines all passed on'),
    # ---------------------------------------------------------------- notebooks
    M('nb-failed-clone-traceback', 'notebooks/sin_cos_lstm_regressor.ipynb',
      'if not os.path.isdir(os.path.basename(REPOSITORY)):  # one line, no traceback',
      'if False:', [f'{NOTEBOOKS}::test_a_clone_that_fails_is_one_line_and_leaves_no_folder'],
      "the notebook's failed clone ends in a chdir traceback"),
]


def check_applies(mutants, root):
    """Every mutant's target occurs exactly once; return the problems."""
    problems = []
    ids = [m['id'] for m in mutants]
    if len(set(ids)) != len(ids):
        problems.append('duplicate mutant ids')
    for m in mutants:
        with open(os.path.join(root, m['path']), encoding='utf-8') as f:
            count = f.read().count(m['old'])
        if count != 1:
            problems.append(f"{m['id']}: the target text occurs {count} times in {m['path']} "
                            f"(expected once): {m['old']!r}")
    return problems


def copy_repository(dest):
    """The project's files (the working tree's, not git's), without caches and outputs."""
    ignore = shutil.ignore_patterns('.git', '__pycache__', '.pytest_cache', '.venv', '*.pyc',
                                    'events.out.tfevents.*', 'mnistRNNLSTM.ckpt*')
    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)


def run_tests(root, tests, timeout, stop_at_first=True, no_oracle=False):
    """(status, seconds, output): 'passed', 'failed', 'timeout' or 'error'.
    no_oracle: as on a machine without Python 3.7, the TF 1.15 oracle tests are left out."""
    # Headless: no display. MPLBACKEND is removed, not set to Agg: a Jupyter kernel
    # started with MPLBACKEND=Agg shows no inline figure (tests/test_notebook.py).
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
    env.pop('MPLBACKEND', None)
    env.pop('DISPLAY', None)
    env.pop('WAYLAND_DISPLAY', None)
    env.pop('PYTHONPATH', None)
    if no_oracle:
        env['TF115_ORACLE'] = '0'
    cmd = [sys.executable, '-m', 'pytest', '-q', '-rfE', '-p', 'no:cacheprovider',
           '-p', 'no:randomly', *(['-x'] if stop_at_first else []),
           *([f'--ignore={ORACLE}'] if no_oracle else []), *tests]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'')
        out = out.decode(errors='replace') if isinstance(out, bytes) else out
        return 'timeout', time.monotonic() - started, out
    seconds = time.monotonic() - started
    # pytest: 0 all passed, 1 some failed, 2 interrupted (a collection error),
    # 3 internal error, 4 usage error (e.g. a test id that does not exist), 5 nothing collected
    status = {0: 'passed', 1: 'failed', 2: 'failed'}.get(proc.returncode, 'error')
    return status, seconds, proc.stdout + proc.stderr


def failures(output):
    """The test ids pytest's short summary lists as failed or in error."""
    return [line.split(' ', 1)[1].split(' - ')[0] for line in output.splitlines()
            if line.startswith(('FAILED ', 'ERROR '))]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--list', action='store_true', help='list the mutants, run nothing')
    p.add_argument('--only', help='comma-separated mutant ids')
    p.add_argument('--timeout', type=float, default=600, help='seconds per mutant (default 600)')
    p.add_argument('--all-tests', action='store_true', help='run the whole suite per mutant')
    p.add_argument('--no-baseline', action='store_true',
                   help='skip the unmutated run of the selected tests')
    p.add_argument('--every-failure', action='store_true',
                   help='run all selected tests (no -x) and list every test that kills')
    p.add_argument('--json', help='also write the results to this file')
    p.add_argument('--no-oracle', action='store_true',
                   help='leave out tests/test_tf115.py (the TF 1.15 oracle), as on a machine '
                        'without Python 3.7: every mutant must still be killed')
    args = p.parse_args(argv)

    mutants = MUTANTS
    if args.only:
        wanted = args.only.split(',')
        unknown = set(wanted) - {m['id'] for m in MUTANTS}
        if unknown:
            p.error(f'unknown mutant ids: {sorted(unknown)}')
        mutants = [m for m in MUTANTS if m['id'] in wanted]
    problems = check_applies(MUTANTS, ROOT)
    if problems:
        print('mutants that no longer apply (update tests/tools/mutate.py to the code):',
              *problems, sep='\n  ', file=sys.stderr)
        return 2
    if args.list:
        for m in mutants:
            print(f"{m['id']:<30} {m['path']:<30} {m['why']}\n{'':<30} tests: {' '.join(m['tests'])}")
        print(f'{len(mutants)} mutants')
        return 0

    def selected(m):
        if args.all_tests:
            return ['tests']
        return [t for t in m['tests'] if not (args.no_oracle and t.startswith(ORACLE))]
    results = []
    with tempfile.TemporaryDirectory(prefix='mutate-') as scratch:
        if not args.no_baseline:
            base = os.path.join(scratch, 'baseline')
            copy_repository(base)
            tests = sorted({t for m in mutants for t in selected(m)})
            status, seconds, output = run_tests(base, tests, args.timeout * 3,
                                                no_oracle=args.no_oracle)
            print(f'baseline (no mutant): {status} in {seconds:.0f}s', flush=True)
            if status != 'passed':
                print(output[-3000:], file=sys.stderr)
                return 2
            shutil.rmtree(base)
        for n, m in enumerate(mutants, 1):
            copy = os.path.join(scratch, m['id'])
            copy_repository(copy)
            path = os.path.join(copy, m['path'])
            with open(path, encoding='utf-8') as f:
                text = f.read()
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text.replace(m['old'], m['new'], 1))
            status, seconds, output = run_tests(copy, selected(m), args.timeout,
                                                stop_at_first=not args.every_failure,
                                                no_oracle=args.no_oracle)
            shutil.rmtree(copy)
            verdict = {'failed': 'killed', 'timeout': 'killed', 'passed': 'survived'}.get(status, 'error')
            killers = failures(output) if status == 'failed' else []
            by = ', '.join(killers) or status
            results.append(dict(id=m['id'], verdict=verdict, status=status, killed_by=killers,
                                seconds=round(seconds, 1), why=m['why']))
            print(f"[{n}/{len(mutants)}] {verdict.upper():<8} {m['id']:<30} {seconds:5.0f}s  "
                  f"{by if verdict == 'killed' else m['why']}", flush=True)
            if verdict == 'error':
                print(output[-3000:], file=sys.stderr)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    killed = [r['id'] for r in results if r['verdict'] == 'killed']
    survived = [r['id'] for r in results if r['verdict'] == 'survived']
    errors = [r['id'] for r in results if r['verdict'] == 'error']
    print(f"mutants: {len(results)}  killed: {len(killed)}  survived: {len(survived)}"
          + (f" ({', '.join(survived)})" if survived else '')
          + (f"  errors: {len(errors)} ({', '.join(errors)})" if errors else ''))
    return 2 if errors else 1 if survived else 0


if __name__ == '__main__':
    sys.exit(main())
