package io.lccheckpoint.producer.internals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The steps published and not yet committed, bounded in bytes ({@code lcckpt.buffer.memory}) as Kafka's
 * {@code BufferPool} bounds a producer's records: a step reserves its raw size in KiB permits first, waiting at most
 * {@code max.block.ms}, and gives them back once its transaction committed or failed. A step larger than the whole
 * buffer takes all of it, so one step is always admitted.
 */
public final class StepQueue {
    private final BlockingQueue<PendingStep> steps = new LinkedBlockingQueue<>();
    private final Semaphore permits;
    private final int totalPermits;

    public StepQueue(long bufferBytes) {
        this.totalPermits = (int) Math.min(Integer.MAX_VALUE, Math.max(1, bufferBytes / 1024));
        this.permits = new Semaphore(totalPermits);
    }

    /** The permits a snapshot of float[], double[] and long[] values takes. */
    public int permitsFor(Map<String, Object> snapshot) {
        long bytes = 0;
        for (Object value : snapshot.values()) {
            bytes += value instanceof float[] f ? 4L * f.length : value instanceof long[] l ? 8L * l.length : 8L * ((double[]) value).length;
        }
        return (int) Math.min(totalPermits, Math.max(1, (bytes + 1023) / 1024));
    }

    /** Takes {@code count} permits, waiting at most {@code maxBlockMs}; false when they did not free up in time. */
    public boolean reserve(int count, long maxBlockMs) throws InterruptedException {
        return permits.tryAcquire(count, maxBlockMs, TimeUnit.MILLISECONDS);
    }

    /** Queues a step whose permits are reserved. */
    public void add(PendingStep step) {
        steps.add(step);
    }

    /** The steps waiting: the first within {@code pollMs} (none if none came), and every other one already waiting. */
    public List<PendingStep> next(long pollMs) throws InterruptedException {
        List<PendingStep> batch = new ArrayList<>();
        PendingStep first = steps.poll(pollMs, TimeUnit.MILLISECONDS);
        if (first != null) {
            batch.add(first);
            steps.drainTo(batch);
        }
        return batch;
    }

    /** Gives back the permits of steps that are committed or failed. */
    public void release(List<PendingStep> done) {
        permits.release(done.stream().mapToInt(PendingStep::permits).sum());
    }

    /** Waits until every queued step has given its permits back. */
    public void awaitIdle() throws InterruptedException {
        permits.acquire(totalPermits);
        permits.release(totalPermits);
    }

    public boolean isEmpty() {
        return steps.isEmpty();
    }

    /** Takes every waiting step out (giving up): their permits go back and they are returned, to be failed. */
    public List<PendingStep> clear() {
        List<PendingStep> dropped = new ArrayList<>();
        steps.drainTo(dropped);
        release(dropped);
        return dropped;
    }
}
