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

    /** Extra bits and smallest v per class (tables: runs of mixed classes would make a branch mispredict). */
    private static final int[] EXTRA_BITS = new int[MAX_CLASSES];
    private static final long[] BASE = new long[MAX_CLASSES];

    static {
        for (int runClass = 0; runClass < MAX_CLASSES; runClass++) {
            if (runClass < 3) {
                BASE[runClass] = runClass + 1;
            } else {
                int k = (runClass - 3) / 2 + 2;
                EXTRA_BITS[runClass] = k - 1;
                BASE[runClass] = (1L << k) | ((long) ((runClass - 3) & 1) << (k - 1));
            }
        }
    }

    static int classOf(int v) {
        // both sides computed, then selected (no branch to mispredict); for v < 4 the second is meaningless
        int k = 31 - Integer.numberOfLeadingZeros(v);
        int large = 3 + 2 * (k - 2) + ((v >>> (k - 1)) & 1);
        return v < 4 ? v - 1 : large;
    }

    static int extraBits(int runClass) {
        return EXTRA_BITS[runClass];
    }

    /** Smallest v of the class. */
    static long base(int runClass) {
        return BASE[runClass];
    }
}
