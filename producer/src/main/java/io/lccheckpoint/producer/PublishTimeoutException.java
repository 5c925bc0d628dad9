package io.lccheckpoint.producer;

import org.apache.kafka.common.errors.TimeoutException;

/**
 * {@code publish} waited {@code max.block.ms} for buffer space ({@code lcckpt.buffer.memory}) and the steps in flight
 * did not commit in that time: the brokers are slow or away. Nothing of the step was taken; publishing the same step
 * again later is safe.
 */
public class PublishTimeoutException extends TimeoutException {
    private final String job;
    private final long step;

    /** @param sending what the producer's sender was doing meanwhile (e.g. "committing a transaction of 3 steps for 58.2 s") */
    public PublishTimeoutException(String job, long step, long waitedMs, String sending) {
        super("job " + job + ", step " + step + ": no buffer space within max.block.ms = " + waitedMs + " ms (lcckpt.buffer.memory is full of"
                + " steps not yet committed: are the brokers reachable? the sender is " + sending + "); the step was not taken, publish"
                + " it again or raise max.block.ms");
        this.job = job;
        this.step = step;
    }

    public String job() {
        return job;
    }

    public long step() {
        return step;
    }
}
