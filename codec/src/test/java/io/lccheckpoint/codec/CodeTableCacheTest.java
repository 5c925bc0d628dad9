package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CodeTableCacheTest {

    @Test
    void reusesTheCodeWhileTheRankOrderHoldsAndNeverChangesTheQuantization() {
        Corpus corpus = new Corpus(5);
        int n = 50_000;
        float[] initial = corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n);
        ChunkState cached = ChunkState.float32(initial);
        ChunkState fresh = ChunkState.float32(initial);
        ChunkEncoder withCache = new ChunkEncoder(CodecOptions.paper(2).withCodeTableReuse(true));
        ChunkEncoder without = new ChunkEncoder(CodecOptions.paper(2));
        ChunkDecoder decoder = new ChunkDecoder();
        float[] restored = initial.clone();
        int reused = 0;
        long cachedBytes = 0;
        long freshBytes = 0;
        for (int step = 0; step < 40; step++) {
            float[] delta = corpus.sgdDeltas(n, 0.3);
            EncodedChunk a = withCache.encode(delta, cached);
            EncodedChunk b = without.encode(delta, fresh);
            reused += a.codeTableReused() ? 1 : 0;
            cachedBytes += a.record().length;
            freshBytes += b.record().length;
            assertThat(b.codeTableReused()).isFalse();
            assertThat(Records.bits(cached.approxFloat())).isEqualTo(Records.bits(fresh.approxFloat()));
            // records stay self-contained: decodable without the cache
            decoder.apply(a.record(), restored);
        }
        assertThat(reused).as("steps that reused the cached code").isPositive();
        assertThat(cachedBytes).as("a stale code never beats the fresh optimal one").isGreaterThanOrEqualTo(freshBytes);
        assertThat(Records.bits(restored)).isEqualTo(Records.bits(cached.approxFloat()));
    }

    @Test
    void theCacheIsPartOfTheStateSoAPersistedStateGivesTheSameBytes() {
        Corpus corpus = new Corpus(6);
        int n = 20_000;
        ChunkState state = ChunkState.float32(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
        ChunkEncoder encoder = new ChunkEncoder(CodecOptions.paper(2).withCodeTableReuse(true));
        for (int step = 0; step < 5; step++) {
            encoder.encode(corpus.sgdDeltas(n, 0.3), state);
        }
        ChunkState persisted = ChunkState.ofFloat32(state.approxFloat().clone(), state.residualFloat().clone());
        persisted.restoreCachedCodeTable(state.cachedCodeTable());
        float[] delta = corpus.sgdDeltas(n, 0.3);
        byte[] original = encoder.encode(delta, state).record();
        byte[] afterRestart = new ChunkEncoder(CodecOptions.paper(2).withCodeTableReuse(true)).encode(delta, persisted).record();
        assertThat(afterRestart).isEqualTo(original);
    }
}
