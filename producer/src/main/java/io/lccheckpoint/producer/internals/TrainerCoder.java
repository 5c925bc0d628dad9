package io.lccheckpoint.producer.internals;

import io.lccheckpoint.codec.BadValueException;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.ValueType;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Map;

/**
 * The codec's stages run on the trainer (split=trainer, DESIGN.md §6): codes a chunk's delta against its state with
 * the codec module, and measures what that cost in wall and CPU time, which split=auto plans with. The bytes are the
 * codec's own; nothing here codes.
 */
public final class TrainerCoder {
    private static final ThreadMXBean THREAD_CPU = ManagementFactory.getThreadMXBean();

    /** A coded chunk and what it cost the calling thread. */
    public record Coded(byte[] record, long nanos, long cpuNanos) {
    }

    private final CodecOptions defaults;
    /** One encoder per options in use: the job's, and each tensor's own (lcckpt.codec.tensor.options). */
    private final Map<CodecOptions, ChunkEncoder> encoders = new HashMap<>();

    /** Codes with {@code defaults} (lcckpt.codec.*) every tensor that has no options of its own. */
    public TrainerCoder(CodecOptions defaults) {
        this.defaults = defaults;
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
        ChunkEncoder encoder = encoders.computeIfAbsent(options(spec), ChunkEncoder::new);
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
