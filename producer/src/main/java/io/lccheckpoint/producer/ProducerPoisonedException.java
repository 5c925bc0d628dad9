package io.lccheckpoint.producer;

/**
 * {@code publish} after a step failed: the chain cannot go on from an uncommitted step. Its cause is the first failure;
 * {@link #lastCommittedStep} is the step to {@code resume(step, state)} from (-1 when none of this generation committed).
 */
public class ProducerPoisonedException extends IllegalStateException {
    private final String job;
    private final long lastCommittedStep;
    private final boolean fenced;

    public ProducerPoisonedException(String job, long lastCommittedStep, Throwable cause) {
        super("job " + job + ": an earlier step failed (" + cause.getMessage() + "); "
                + (StepFailedException.isFencing(cause)
                        ? "another producer with this transactional.id took the job over: close this one"
                        : "resume(step, state) from the last committed step (" + lastCommittedStep + ") to start a new generation"), cause);
        this.job = job;
        this.lastCommittedStep = lastCommittedStep;
        this.fenced = StepFailedException.isFencing(cause);
    }

    public String job() {
        return job;
    }

    public long lastCommittedStep() {
        return lastCommittedStep;
    }

    /** Whether another producer with this transactional.id fenced this one (resuming here cannot help). */
    public boolean fenced() {
        return fenced;
    }
}
