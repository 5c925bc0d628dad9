package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The zero-run mode goes below Huffman's floor of 1 bit per value when the zero bucket dominates, and stays close to
 * the order-0 Shannon entropy of the symbols (headers included). Sizes are properties of the coder, not timings.
 */
class SubBitModeTest {

    /** A chunk whose promoted symbols are i.i.d.: zero with probability 1 − p, else one of three larger buckets. */
    private static float[] sparse(Corpus corpus, int n, double p) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            double u = corpus.nextDouble();
            values[i] = u < p
                    ? (float) ((u < p / 2 ? 1 : -1) * (1 + corpus.nextDouble()) * (u < p / 4 ? 2 : 1))
                    : (float) (corpus.nextGaussian() * 1e-6);
        }
        return values;
    }

    @Test
    void beatsHuffmansFloorAndStaysWithinTenPercentOfTheEntropy() {
        Corpus corpus = new Corpus(17);
        int n = 1 << 20;
        for (double p : new double[] {0.1, 0.03, 0.01, 0.004}) {
            float[] delta = sparse(corpus, n, p);
            EncodedChunk huffman = new ChunkEncoder(CodecOptions.paper(2)).encode(delta, ChunkState.float32(new float[n]));
            EncodedChunk zeroRun = new ChunkEncoder(CodecOptions.zeroRun(2)).encode(delta, ChunkState.float32(new float[n]));
            assertThat(zeroRun.coding()).isEqualTo(Coding.ZERO_RUN);
            assertThat(huffman.bitsPerValue()).as("Huffman at p=%s", p).isGreaterThanOrEqualTo(1.0);
            assertThat(zeroRun.bitsPerValue()).as("zero-run at p=%s", p).isLessThan(1.0);
            double entropyBits = zeroRun.shannonBits();
            assertThat(zeroRun.record().length * 8.0).as("zero-run bits vs entropy at p=%s", p).isLessThanOrEqualTo(1.10 * entropyBits);
        }
    }

    @Test
    void fallsBackToHuffmanWhenZerosDoNotDominate() {
        Corpus corpus = new Corpus(19);
        int n = 100_000;
        float[] delta = sparse(corpus, n, 0.9);
        EncodedChunk chunk = new ChunkEncoder(CodecOptions.zeroRun(2)).encode(delta, ChunkState.float32(new float[n]));
        assertThat(chunk.coding()).isEqualTo(Coding.HUFFMAN);
    }
}
