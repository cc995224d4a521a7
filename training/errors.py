"""The one exception type for user mistakes: the CLI prints it as one line and exits 2."""


class StanceError(ValueError):
    """A user-facing error: bad data, bad config, bad model directory or bad predict input.

    The message is complete on its own (file, line, field, what is valid), so the CLI prints
    it without a traceback.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler stopping the job), raised where the process is so that a run ends the
    way Ctrl-C ends it: MLflow run KILLED, staging directory removed, previous model kept."""
