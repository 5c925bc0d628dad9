package io.lccheckpoint.bench;

import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.Corpus;

/** The benchmark's data: one chunk of SGD-like float32 deltas, after a warm-up chain so the residual is realistic. */
final class BenchmarkData {
    static final int VALUES = 4 * 1024 * 1024;
    static final double ACTIVE_FRACTION = 0.3;
    static final int WARM_UP_STEPS = 10;
    static final long SEED = 20261123L;

    final float[] initial;
    final float[] delta;
    final ChunkState warmState;

    BenchmarkData(CodecOptions options) {
        Corpus corpus = new Corpus(SEED);
        initial = corpus.sgdDeltas(VALUES, ACTIVE_FRACTION);
        ChunkState state = ChunkState.float32(initial);
        ChunkEncoder encoder = new ChunkEncoder(options);
        for (int step = 0; step < WARM_UP_STEPS; step++) {
            encoder.encode(corpus.sgdDeltas(VALUES, ACTIVE_FRACTION), state);
        }
        warmState = state;
        delta = corpus.sgdDeltas(VALUES, ACTIVE_FRACTION);
    }

    static long inputBytes() {
        return 4L * VALUES;
    }
}
