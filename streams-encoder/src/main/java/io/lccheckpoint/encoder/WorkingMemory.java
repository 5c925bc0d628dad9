package io.lccheckpoint.encoder;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The share of the encoder's memory budget for chunks being coded (DESIGN.md §6), shared by all stream threads of an
 * instance. A chunk's cost is modelled as {@code FIXED + perValue × values} (its record, the values, the state read and
 * written, the codec's scratch and output); {@code EncoderMemoryTest} measures the bytes a chunk really allocates
 * against the model. A chunk that does not fit waits until others finish; one larger than the whole pool runs alone.
 */
final class WorkingMemory {
    static final long FIXED = 64 << 10;
    static final long PER_VALUE_FLOAT32 = 48;
    static final long PER_VALUE_FLOAT64 = 2 * PER_VALUE_FLOAT32;

    private final long capacity;
    private final long maxWaitNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private long inUse;
    private long peak;
    private long waits;
    private long waitNanos;
    private long overruns;

    WorkingMemory(long capacity, long maxWaitMillis) {
        this.capacity = capacity;
        this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(maxWaitMillis);
    }

    static long cost(int values, boolean float64) {
        return FIXED + (float64 ? PER_VALUE_FLOAT64 : PER_VALUE_FLOAT32) * values;
    }

    long capacity() {
        return capacity;
    }

    /**
     * Takes {@code cost} bytes, waiting while they do not fit; returns what it took (to give back). After waiting
     * {@code maxWait} (kept under the consumer's poll interval) it goes on anyway and counts an overrun.
     */
    long acquire(long cost) throws InterruptedException {
        long taken = Math.min(cost, capacity);
        lock.lock();
        try {
            if (inUse + taken > capacity) {
                waits++;
                long start = System.nanoTime();
                long remaining = maxWaitNanos;
                while (inUse + taken > capacity && remaining > 0) {
                    remaining = released.awaitNanos(remaining);
                }
                waitNanos += System.nanoTime() - start;
                if (inUse + taken > capacity) {
                    overruns++;
                }
            }
            inUse += taken;
            peak = Math.max(peak, inUse);
            return taken;
        } finally {
            lock.unlock();
        }
    }

    void release(long taken) {
        lock.lock();
        try {
            inUse -= taken;
            released.signalAll();
        } finally {
            lock.unlock();
        }
    }

    long inUse() {
        lock.lock();
        try {
            return inUse;
        } finally {
            lock.unlock();
        }
    }

    long peak() {
        lock.lock();
        try {
            return peak;
        } finally {
            lock.unlock();
        }
    }

    long waits() {
        lock.lock();
        try {
            return waits;
        } finally {
            lock.unlock();
        }
    }

    double waitMillis() {
        lock.lock();
        try {
            return waitNanos / 1e6;
        } finally {
            lock.unlock();
        }
    }

    long overruns() {
        lock.lock();
        try {
            return overruns;
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code work} holding {@code cost} bytes of the pool (waiting for them as {@link #acquire} does). */
    void within(long cost, Runnable work) {
        long taken;
        try {
            taken = acquire(cost);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new org.apache.kafka.streams.errors.StreamsException("interrupted while waiting for memory", e);
        }
        try {
            work.run();
        } finally {
            release(taken);
        }
    }

    /** Reports this pool on a task's metrics (group lcckpt-encoder, tag task-id): in use, peak, waits, overruns. */
    void reportTo(org.apache.kafka.streams.processor.api.ProcessorContext<?, ?> context) {
        java.util.Map<String, String> tags = java.util.Map.of("task-id", context.taskId().toString());
        gauge(context, "memory-in-use-bytes", "Bytes of the memory budget held by chunks being coded (the instance's pool)", tags, this::inUse);
        gauge(context, "memory-peak-bytes", "Most bytes of the pool held at once", tags, this::peak);
        gauge(context, "memory-waits-total", "Chunks that waited for memory", tags, this::waits);
        gauge(context, "memory-overruns-total", "Chunks that went on after waiting the longest allowed (the budget was exceeded)", tags, this::overruns);
    }

    private static void gauge(org.apache.kafka.streams.processor.api.ProcessorContext<?, ?> context, String name, String description,
                              java.util.Map<String, String> tags, java.util.function.LongSupplier value) {
        org.apache.kafka.common.metrics.Sensor sensor = context.metrics().addSensor("lcckpt-" + name + "-" + context.taskId(),
                org.apache.kafka.common.metrics.Sensor.RecordingLevel.INFO);
        sensor.add(new org.apache.kafka.common.MetricName(name, "lcckpt-encoder", description, tags), new org.apache.kafka.common.metrics.MeasurableStat() {
            @Override
            public void record(org.apache.kafka.common.metrics.MetricConfig config, double ignored, long now) {
            }

            @Override
            public double measure(org.apache.kafka.common.metrics.MetricConfig config, long now) {
                return value.getAsLong();
            }
        });
    }
}
