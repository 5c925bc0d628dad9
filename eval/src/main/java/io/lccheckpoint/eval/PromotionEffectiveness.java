package io.lccheckpoint.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The paper's priority-promotion check (its Fig. 5): take the delta of m iterations, zero out the values of one exponent
 * bucket at a time, and measure the relative change in the loss of {@code base + delta}. If promotion is right to keep
 * the largest exponents, zeroing them costs the most.
 */
public final class PromotionEffectiveness {
    /** One bucket: its unbiased exponent, its share of the delta's values, and the relative loss error without it. */
    public record Bucket(int exponent, double fraction, double relativeLossError) {
    }

    private PromotionEffectiveness() {
    }

    public static List<Bucket> measure(LogisticRegression model, FashionMnist evaluation, int count, float[] base, float[] after) {
        int n = base.length;
        float[] delta = new float[n];
        TreeMap<Integer, Integer> buckets = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            delta[i] = after[i] - base[i];
            buckets.merge(exponent(delta[i]), 1, Integer::sum);
        }
        model.setParameters(after);
        double reference = model.loss(evaluation, count);
        List<Bucket> result = new ArrayList<>();
        for (var bucket : buckets.descendingMap().entrySet()) {
            float[] without = new float[n];
            for (int i = 0; i < n; i++) {
                without[i] = exponent(delta[i]) == bucket.getKey() ? base[i] : base[i] + delta[i];
            }
            model.setParameters(without);
            double loss = model.loss(evaluation, count);
            result.add(new Bucket(bucket.getKey(), (double) bucket.getValue() / n, Math.abs(loss - reference) / reference));
        }
        model.setParameters(after);
        return result;
    }

    /** Unbiased exponent of |value| (sign and exponent bits name a codec bucket; here both signs together). */
    static int exponent(float value) {
        return ((Float.floatToRawIntBits(value) >>> 23) & 0xFF) - 127;
    }
}
