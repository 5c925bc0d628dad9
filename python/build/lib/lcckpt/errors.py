"""Errors of the lc-checkpoint client."""


class LcckptError(Exception):
    """A checkpoint could not be taken or restored; the message names the job, step and tensor when it is about one."""


class StepFailed(LcckptError):
    """A published step was not committed (its future fails with this); later steps are refused until ``resume``.
    ``fenced``: another trainer took the job over."""

    def __init__(self, message, step=None, fenced=False):
        super().__init__(message)
        self.step = step
        self.fenced = fenced
