package io.lccheckpoint.eval;

import io.lccheckpoint.codec.ChunkDecoder;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.ValueType;

/**
 * LC-Checkpoint through the real codec (the same records the pipeline stores): the delta of every iteration with error
 * feedback, coded per chunk; the restore applies the records to the stored initial state, as the restorer does.
 */
public final class LcCheckpoint implements CheckpointScheme {
    private final String name;
    private final CodecOptions options;
    private final int chunkValues;
    private final ValueType type;
    private ChunkEncoder encoder;
    private ChunkState[] chunks;
    private float[] previous;
    private float[] restored;
    private int lastIteration;
    private final ChunkDecoder decoder = new ChunkDecoder();

    public LcCheckpoint(String name, CodecOptions options, int chunkValues) {
        this(name, options, chunkValues, ValueType.FLOAT32);
    }

    /**
     * Chunks of {@code type}: float32, or a 16-bit type whose states are float32 values of the type (a bf16 trainer's
     * weights; FORMAT.md §1).
     */
    public LcCheckpoint(String name, CodecOptions options, int chunkValues, ValueType type) {
        if (type == ValueType.FLOAT64) {
            throw new IllegalArgumentException("the evaluation's models are float32 vectors");
        }
        this.name = name;
        this.options = options;
        this.chunkValues = chunkValues;
        this.type = type;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void start(float[] initial) {
        encoder = new ChunkEncoder(options);
        int count = (initial.length + chunkValues - 1) / chunkValues;
        chunks = new ChunkState[count];
        for (int c = 0; c < count; c++) {
            float[] values = slice(initial, c);
            chunks[c] = ChunkState.ofFloats(type, values, new float[values.length]);
        }
        previous = initial.clone();
        restored = initial.clone();
        lastIteration = 0;
    }

    @Override
    public long checkpoint(int iteration, float[] state) {
        long bytes = 0;
        for (int c = 0; c < chunks.length; c++) {
            int from = c * chunkValues;
            float[] delta = new float[chunks[c].size()];
            for (int i = 0; i < delta.length; i++) {
                delta[i] = state[from + i] - previous[from + i];
            }
            byte[] record = encoder.encode(delta, chunks[c]).record();
            bytes += record.length;
            // what a restore does: apply the record to the reconstruction it was made against
            float[] part = slice(restored, c);
            decoder.apply(record, part);
            System.arraycopy(part, 0, restored, from, part.length);
        }
        System.arraycopy(state, 0, previous, 0, state.length);
        lastIteration = iteration;
        return bytes;
    }

    private float[] slice(float[] values, int chunk) {
        int from = chunk * chunkValues;
        float[] part = new float[Math.min(chunkValues, values.length - from)];
        System.arraycopy(values, from, part, 0, part.length);
        return part;
    }

    @Override
    public float[] restore() {
        return restored.clone();
    }

    @Override
    public int restoredIteration() {
        return lastIteration;
    }
}
