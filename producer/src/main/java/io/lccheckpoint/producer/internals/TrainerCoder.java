package io.lccheckpoint.producer.internals;

import io.lccheckpoint.codec.BadValueException;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.ValueType;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

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

    private final CodecOptions options;
    private final ChunkEncoder encoder;

    public TrainerCoder(CodecOptions options) {
        this.options = options;
        this.encoder = new ChunkEncoder(options);
    }

    /** The options as the records name them ({@code codecOptions}), so the encoder can check it would code alike. */
    public String describe() {
        return options.describe();
    }

    /** Codes values [from, to) of {@code current − previous} (float[] or double[]) against {@code state}, which advances. */
    public Coded code(Object current, Object previous, int from, int to, ChunkState state) throws BadValueException {
        long begin = System.nanoTime();
        long cpuBegin = THREAD_CPU.getCurrentThreadCpuTime();
        byte[] record = current instanceof float[] f ? encoder.encode(delta(f, (float[]) previous, from, to), state).record()
                : encoder.encode(delta((double[]) current, (double[]) previous, from, to), state).record();
        return new Coded(record, System.nanoTime() - begin, THREAD_CPU.getCurrentThreadCpuTime() - cpuBegin);
    }

    /** Codes values [0, to) as a first step would, on a scratch state: what coding costs here, the result thrown away. */
    public Coded probe(ValueType type, Object current, Object previous, int to) throws BadValueException {
        ChunkState scratch = current instanceof float[] ? ChunkState.ofFloats(type, new float[to], new float[to]) : ChunkState.float64(new double[to]);
        return code(current, previous, 0, to, scratch);
    }

    // float32 and float64 twins: Java's primitive arrays share no type, and a generic version would box every value

    private static float[] delta(float[] current, float[] before, int from, int to) {
        float[] delta = new float[to - from];
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
