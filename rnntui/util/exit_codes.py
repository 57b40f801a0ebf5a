"""Process exit codes, one place for the CLI and the tests."""

OK = 0
TRAINING_FAILED = 1  # the run itself failed (NaN loss, an error inside TensorFlow)
BAD_INPUT = 2  # a broken preset, --set or option; the same code Click uses for usage errors
INTERRUPTED = 130  # stopped by a signal; a checkpoint was written
