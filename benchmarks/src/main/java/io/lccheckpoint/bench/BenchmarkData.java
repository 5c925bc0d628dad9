package io.lccheckpoint.bench;

import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.Corpus;

/**
 * The benchmark's data: 4 Mi float32 SGD-like deltas ({@link Corpus#sgdDeltas}), split into chunks of the given size,
 * each with a chunk state warmed up by a few steps so that the residual is realistic.
 */
final class BenchmarkData {
    static final int VALUES = 4 * 1024 * 1024;
    static final double ACTIVE_FRACTION = 0.3;
    static final int WARM_UP_STEPS = 10;
    static final long SEED = 20261123L;

    final int chunkValues;
    final float[][] delta;
    final ChunkState[] warmStates;

    BenchmarkData(CodecOptions options, int chunkValues) {
        if (VALUES % chunkValues != 0) {
            throw new IllegalArgumentException("chunk size must divide " + VALUES);
        }
        this.chunkValues = chunkValues;
        int chunks = VALUES / chunkValues;
        Corpus corpus = new Corpus(SEED);
        float[] initial = corpus.sgdDeltas(VALUES, ACTIVE_FRACTION);
        warmStates = new ChunkState[chunks];
        for (int c = 0; c < chunks; c++) {
            warmStates[c] = ChunkState.float32(slice(initial, c));
        }
        ChunkEncoder encoder = new ChunkEncoder(options);
        for (int step = 0; step < WARM_UP_STEPS; step++) {
            float[] stepDelta = corpus.sgdDeltas(VALUES, ACTIVE_FRACTION);
            for (int c = 0; c < chunks; c++) {
                encoder.encode(slice(stepDelta, c), warmStates[c]);
            }
        }
        float[] next = corpus.sgdDeltas(VALUES, ACTIVE_FRACTION);
        delta = new float[chunks][];
        for (int c = 0; c < chunks; c++) {
            delta[c] = slice(next, c);
        }
    }

    private float[] slice(float[] all, int chunk) {
        float[] out = new float[chunkValues];
        System.arraycopy(all, chunk * chunkValues, out, 0, chunkValues);
        return out;
    }

    static long inputBytes() {
        return 4L * VALUES;
    }
}
