package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Round trips over generated chunks: every shape of {@link Corpus.Shape} (zeros, ±0, subnormals, huge and tiny
 * exponents, one bucket, all zero, constant, random bits), sizes 1 .. 10^6, float32 and float64, every promotion
 * width and both entropy modes, two steps each so the residual is non-zero; bfloat16 and float16 chunks the same way. Each step is checked bit for bit against
 * {@link ReferenceQuantizer} and the decoder (via {@link EntropyModeContract#checkStep}).
 */
class CodecProperties {

    private static EntropyModeContract contract(int promotionBits, boolean zeroRun) {
        CodecOptions options = promotionBits == 0 ? CodecOptions.exponentOnly()
                : zeroRun ? CodecOptions.zeroRun(promotionBits) : CodecOptions.paper(promotionBits);
        return new EntropyModeContract() {
            @Override
            CodecOptions options() {
                return options;
            }
        };
    }

    @Property(tries = 300)
    void smallChunksRoundTrip(@ForAll Corpus.Shape shape, @ForAll @IntRange(min = 1, max = 5000) int n,
                              @ForAll @IntRange(min = 0, max = 8) int promotionBits, @ForAll boolean zeroRun,
                              @ForAll boolean float64, @ForAll long seed) {
        roundTrip(shape, n, promotionBits, zeroRun && promotionBits > 0, float64, seed);
    }

    @Property(tries = 12)
    void largeChunksRoundTrip(@ForAll Corpus.Shape shape, @ForAll @IntRange(min = 5000, max = 1_000_000) int n,
                              @ForAll @IntRange(min = 1, max = 8) int promotionBits, @ForAll boolean zeroRun,
                              @ForAll boolean float64, @ForAll long seed) {
        roundTrip(shape, n, promotionBits, zeroRun, float64, seed);
    }

    /**
     * With promotion, pass A skips values below a threshold that rises as larger buckets appear: here they appear late,
     * as magnitudes that rise along the chunk or as one block of far larger values at its end.
     */
    @Property(tries = 80)
    void bucketsThatAppearLateAreStillKept(@ForAll @IntRange(min = 2, max = 20_000) int n, @ForAll @IntRange(min = 1, max = 4) int promotionBits,
                                           @ForAll boolean zeroRun, @ForAll boolean float64, @ForAll boolean rising, @ForAll long seed) {
        EntropyModeContract contract = contract(promotionBits, zeroRun);
        Corpus corpus = new Corpus(seed);
        ChunkState floats = ChunkState.float32(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
        ChunkState doubles = ChunkState.float64(corpus.doubles(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
        for (int step = 0; step < 2; step++) {
            double[] values = corpus.doubles(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n);
            if (rising) {
                Double[] boxed = java.util.Arrays.stream(values).boxed().toArray(Double[]::new);
                java.util.Arrays.sort(boxed, java.util.Comparator.comparingDouble(Math::abs));
                values = java.util.Arrays.stream(boxed).mapToDouble(Double::doubleValue).toArray();
            } else {
                for (int i = Math.max(0, n - 1500); i < n; i++) {
                    values[i] *= 0x1p20;
                }
            }
            if (float64) {
                contract.checkStep(values, doubles);
            } else {
                float[] single = new float[n];
                for (int i = 0; i < n; i++) {
                    single[i] = (float) values[i];
                }
                contract.checkStep(single, floats);
            }
        }
    }

    private static void roundTrip(Corpus.Shape shape, int n, int promotionBits, boolean zeroRun, boolean float64, long seed) {
        EntropyModeContract contract = contract(promotionBits, zeroRun);
        Corpus corpus = new Corpus(seed);
        if (float64) {
            ChunkState state = ChunkState.float64(corpus.doubles(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
            contract.checkStep(corpus.doubles(shape, n), state);
            contract.checkStep(corpus.doubles(shape, n), state);
        } else {
            ChunkState state = ChunkState.float32(corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n));
            contract.checkStep(corpus.floats(shape, n), state);
            contract.checkStep(corpus.floats(shape, n), state);
        }
    }

    @Property(tries = 200)
    void sixteenBitChunksRoundTrip(@ForAll Corpus.Shape shape, @ForAll @IntRange(min = 1, max = 20000) int n,
                                   @ForAll @IntRange(min = 0, max = 8) int promotionBits, @ForAll boolean zeroRun,
                                   @ForAll boolean float16, @ForAll long seed) {
        EntropyModeContract contract = contract(promotionBits, zeroRun && promotionBits > 0);
        ValueType type = float16 ? ValueType.FLOAT16 : ValueType.BFLOAT16;
        Corpus corpus = new Corpus(seed);
        ChunkState state = EntropyModeContract.sixteenBitState(type, corpus.sixteenBitInitial(n, type));
        contract.checkSixteenBitStep(corpus.sixteenBit(shape, n, type), state);
        contract.checkSixteenBitStep(corpus.sixteenBit(shape, n, type), state);
    }

    @Property(tries = 200)
    void zeroRunModeIsNeverLargerThanHuffmanAndRebuildsTheSameState(
            @ForAll Corpus.Shape shape, @ForAll @IntRange(min = 1, max = 20000) int n,
            @ForAll @IntRange(min = 1, max = 8) int promotionBits, @ForAll long seed) {
        Corpus corpus = new Corpus(seed);
        float[] initial = corpus.floats(Corpus.Shape.MULTI_SCALE_GAUSSIAN, n);
        float[] delta = corpus.floats(shape, n);
        ChunkState huffmanState = ChunkState.float32(initial);
        ChunkState zeroRunState = ChunkState.float32(initial);
        EncodedChunk huffman = new ChunkEncoder(CodecOptions.paper(promotionBits)).encode(delta, huffmanState);
        EncodedChunk zeroRun = new ChunkEncoder(CodecOptions.zeroRun(promotionBits)).encode(delta, zeroRunState);
        assertThat(zeroRun.record().length).isLessThanOrEqualTo(huffman.record().length);
        // the entropy coder changes the bytes, never the quantization
        assertThat(zeroRunState).isEqualTo(huffmanState);
        assertThat(zeroRun.symbolCounts()).isEqualTo(huffman.symbolCounts());
    }
}
