package io.lccheckpoint.codec;

/**
 * Classes of zero-run lengths (FORMAT.md §4.3). A run of r zeros is coded as v = r + 1 ≥ 1: v in 1..3 is class v − 1
 * with no extra bits; otherwise, with k = floor(log2 v) ≥ 2, the class is {@code 3 + 2(k − 2) + b} where b is the bit
 * of v just below its leading one, followed by the k − 1 low bits of v raw. Two classes per power of two keep the raw
 * bits close to uniform, so runs cost close to their entropy.
 */
final class RunLengthClasses {
    /** v ≤ 2^31 − 1 + 1, so k ≤ 31 and classes ≤ 3 + 58 + 1. */
    static final int MAX_CLASSES = 63;

    private RunLengthClasses() {
    }

    static int classOf(int v) {
        if (v < 4) {
            return v - 1;
        }
        int k = 31 - Integer.numberOfLeadingZeros(v);
        return 3 + 2 * (k - 2) + ((v >>> (k - 1)) & 1);
    }

    static int extraBits(int runClass) {
        return runClass < 3 ? 0 : (runClass - 3) / 2 + 1;
    }

    /** Smallest v of the class. */
    static long base(int runClass) {
        if (runClass < 3) {
            return runClass + 1;
        }
        int k = (runClass - 3) / 2 + 2;
        return (1L << k) | ((long) ((runClass - 3) & 1) << (k - 1));
    }
}
