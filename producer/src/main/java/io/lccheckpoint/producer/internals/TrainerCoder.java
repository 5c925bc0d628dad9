package io.lccheckpoint.producer.internals;

import io.lccheckpoint.codec.BadValueException;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.ValueType;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.errors.InterruptException;

/**
 * The codec's stages run on the trainer (split=trainer, DESIGN.md §6): codes a chunk's delta against its state with
 * the codec module, and measures what that cost in wall and CPU time, which split=auto plans with. The bytes are the
 * codec's own; nothing here codes.
 *
 * <p>A step's chunks are coded on up to {@code lcckpt.codec.threads} threads ({@link #codeAll}). Each chunk has its own
 * state and each thread its own encoders, and a chunk's record is a pure function of its options, delta and state, so the
 * records are the same bytes for any thread count; they are returned in the step's order.
 */
public final class TrainerCoder implements AutoCloseable {
    private static final ThreadMXBean THREAD_CPU = ManagementFactory.getThreadMXBean();

    /** A coded chunk and what it cost the calling thread. */
    public record Coded(byte[] record, long nanos, long cpuNanos) {
    }

    /** One chunk of a step to code: values [from, to) of {@code current − previous} against {@code state}. */
    public record Chunk(TensorSpec spec, Object current, Object previous, int from, int to, ChunkState state) {
    }

    /** A chunk coded, or the bad value that refused it (its state untouched). */
    public record Outcome(Coded coded, BadValueException error) {
    }

    /** A step's chunks coded: each chunk's outcome in order, the wall time of the whole and the CPU time of all threads. */
    public record Step(List<Outcome> outcomes, long nanos, long cpuNanos) {
    }

    private final CodecOptions defaults;
    /** null with one thread: the caller's thread codes. */
    private final ExecutorService pool;
    /** Per thread, one encoder per options in use: the job's, and each tensor's own (lcckpt.codec.tensor.options). */
    private final ThreadLocal<Map<CodecOptions, ChunkEncoder>> encoders = ThreadLocal.withInitial(HashMap::new);

    /**
     * Codes with {@code defaults} (lcckpt.codec.*) every tensor that has no options of its own, a step's chunks on up to
     * {@code threads} threads (named after {@code job}; one thread: the caller's).
     */
    public TrainerCoder(CodecOptions defaults, int threads, String job) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.defaults = defaults;
        AtomicInteger count = new AtomicInteger();
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads, runnable -> {
            Thread thread = new Thread(runnable, "lcckpt-codec-" + job + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Codes a step's chunks, each as {@link #code} would, on the coder's threads. Every chunk is coded, also
     * after one that a bad value refuses (the caller fails the step at the first refused chunk in order).
     */
    public Step codeAll(List<Chunk> chunks) {
        long begin = System.nanoTime();
        List<Outcome> outcomes = new ArrayList<>(chunks.size());
        if (pool == null || chunks.size() < 2) {
            for (Chunk chunk : chunks) {
                outcomes.add(outcome(chunk));
            }
        } else {
            List<Future<Outcome>> pending = new ArrayList<>(chunks.size());
            for (Chunk chunk : chunks) {
                pending.add(pool.submit(() -> outcome(chunk)));
            }
            try {
                for (Future<Outcome> future : pending) {
                    outcomes.add(future.get());
                }
            } catch (InterruptedException e) {
                pending.forEach(future -> future.cancel(true));
                throw new InterruptException(e);
            } catch (ExecutionException e) {
                pending.forEach(future -> future.cancel(true));
                if (e.getCause() instanceof RuntimeException runtime) {
                    throw runtime;
                }
                if (e.getCause() instanceof Error error) {
                    throw error;
                }
                throw new IllegalStateException(e.getCause());
            }
        }
        long cpuNanos = 0;
        for (Outcome outcome : outcomes) {
            cpuNanos += outcome.coded() == null ? 0 : outcome.coded().cpuNanos();
        }
        return new Step(outcomes, System.nanoTime() - begin, cpuNanos);
    }

    private Outcome outcome(Chunk chunk) {
        try {
            return new Outcome(code(chunk.spec(), chunk.current(), chunk.previous(), chunk.from(), chunk.to(), chunk.state()), null);
        } catch (BadValueException e) {
            return new Outcome(null, e);
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    /** The options a tensor's float chunks are coded with: its own, or the job's. */
    public CodecOptions options(TensorSpec spec) {
        return spec.options() != null ? spec.options() : defaults;
    }

    /** The options as the records name them ({@code codecOptions}), so the encoder can check it would code alike. */
    public String describe(TensorSpec spec) {
        return options(spec).describe();
    }

    /**
     * Codes values [from, to) of {@code current − previous} (float[], double[], or long[] of an exact tensor) against
     * {@code state}, which advances.
     */
    public Coded code(TensorSpec spec, Object current, Object previous, int from, int to, ChunkState state) throws BadValueException {
        ChunkEncoder encoder = encoders.get().computeIfAbsent(options(spec), ChunkEncoder::new);
        long begin = System.nanoTime();
        long cpuBegin = THREAD_CPU.getCurrentThreadCpuTime();
        byte[] record = current instanceof float[] f ? encoder.encode(delta(f, (float[]) previous, from, to), state).record()
                : current instanceof long[] l ? encoder.encode(delta(l, (long[]) previous, from, to), state).record()
                : encoder.encode(delta((double[]) current, (double[]) previous, from, to), state).record();
        return new Coded(record, System.nanoTime() - begin, THREAD_CPU.getCurrentThreadCpuTime() - cpuBegin);
    }

    /** Codes values [0, to) as a first step would, on a scratch state: what coding costs here, the result thrown away. */
    public Coded probe(TensorSpec spec, Object current, Object previous, int to) throws BadValueException {
        ValueType type = spec.valueType();
        ChunkState scratch = current instanceof float[] ? ChunkState.ofFloats(type, new float[to], new float[to])
                : current instanceof long[] ? ChunkState.exact(type, new long[to]) : ChunkState.float64(new double[to]);
        return code(spec, current, previous, 0, to, scratch);
    }

    // float32, float64 and exact (long) twins: Java's primitive arrays share no type, and a generic version would box every value

    private static float[] delta(float[] current, float[] before, int from, int to) {
        float[] delta = new float[to - from];
        for (int i = from; i < to; i++) {
            delta[i - from] = current[i] - before[i];
        }
        return delta;
    }

    private static long[] delta(long[] current, long[] before, int from, int to) {
        long[] delta = new long[to - from];
        for (int i = from; i < to; i++) {
            delta[i - from] = current[i] - before[i];
        }
        return delta;
    }

    private static double[] delta(double[] current, double[] before, int from, int to) {
        double[] delta = new double[to - from];
        for (int i = from; i < to; i++) {
            delta[i - from] = current[i] - before[i];
        }
        return delta;
    }
}
