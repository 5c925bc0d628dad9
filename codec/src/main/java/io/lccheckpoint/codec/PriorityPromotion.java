package io.lccheckpoint.codec;

import java.util.Arrays;

/**
 * Maps exponent buckets to symbols (DESIGN.md §2.3). With x promotion bits, the {@code 2^x − 1} present buckets of
 * largest exponent become symbols 1..k, ordered by exponent (descending), then sign (positive first); every other
 * bucket merges into symbol 0, the zero bucket. With x = 0 (E only) every present bucket is a symbol 0..k−1 in that
 * same order and there is no zero bucket.
 */
final class PriorityPromotion {
    static final int NO_KEY = -1;

    final int[] keyToSymbol = new int[ValueType.FLOAT64.keyCount()];
    final int[] symbolKey = new int[ValueType.FLOAT64.keyCount() + 1];
    final long[] symbolCounts = new long[ValueType.FLOAT64.keyCount() + 1];
    int symbolCount;
    boolean hasZeroSymbol;

    void assign(long[] keyCounts, ValueType type, int promotionBits) {
        int exponentMask = (1 << type.exponentBits) - 1;
        int keyCount = type.keyCount();
        int limit = promotionBits == 0 ? Integer.MAX_VALUE : (1 << promotionBits) - 1;
        hasZeroSymbol = promotionBits > 0;
        int next = 0;
        if (hasZeroSymbol) {
            symbolKey[0] = NO_KEY;
            symbolCounts[0] = 0;
            next = 1;
        }
        Arrays.fill(keyToSymbol, 0, keyCount, 0);
        int kept = 0;
        // walk exponents from the largest down; within one exponent the positive bucket first
        for (int exponent = exponentMask; exponent >= 0; exponent--) {
            for (int sign = 0; sign <= 1; sign++) {
                int key = (sign << type.exponentBits) | exponent;
                long count = keyCounts[key];
                if (count == 0) {
                    continue;
                }
                if (kept < limit) {
                    keyToSymbol[key] = next;
                    symbolKey[next] = key;
                    symbolCounts[next] = count;
                    next++;
                    kept++;
                } else {
                    keyToSymbol[key] = 0;
                    symbolCounts[0] += count;
                }
            }
        }
        symbolCount = next;
    }
}
