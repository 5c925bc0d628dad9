package io.lccheckpoint.producer;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;

/**
 * A step's receipt failed: the step was not committed (nothing of it is visible to readers). The first failure poisons
 * the producer: later steps fail with it as their cause, and {@code publish} throws
 * {@link ProducerPoisonedException} until {@code resume(step, state)} starts a new generation from the last committed
 * step. When {@link #fenced()}, another producer with the same {@code transactional.id} took the job over: resuming here
 * cannot help; close this producer.
 */
public class StepFailedException extends KafkaException {
    private final String job;
    private final long step;

    public StepFailedException(String job, long step, String message, Throwable cause) {
        super(message, cause);
        this.job = job;
        this.step = step;
    }

    public String job() {
        return job;
    }

    public long step() {
        return step;
    }

    /** Whether another producer with this transactional.id fenced this one. */
    public boolean fenced() {
        return isFencing(getCause());
    }

    static boolean isFencing(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
                return true;
            }
        }
        return false;
    }
}
