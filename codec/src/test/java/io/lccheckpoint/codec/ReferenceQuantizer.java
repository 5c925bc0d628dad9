package io.lccheckpoint.codec;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * A slow, obviously-correct statement of E + P (DESIGN.md §2.2-2.3) to compare the codec against: group values by
 * (sign, exponent field), keep the 2^x − 1 groups of largest exponent (positive first on ties), represent each by the
 * midpoint of its smallest and largest magnitude, send the rest to the zero bucket (value −0.0, the identity of +).
 */
final class ReferenceQuantizer {
    private ReferenceQuantizer() {
    }

    static float[] quantize(float[] delta, int promotionBits) {
        TreeMap<Integer, List<Integer>> byKey = new TreeMap<>();
        for (int i = 0; i < delta.length; i++) {
            int key = Float.floatToRawIntBits(delta[i]) >>> 23;
            byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
        }
        List<Integer> order = new ArrayList<>(byKey.keySet());
        order.sort((a, b) -> (a & 0xFF) != (b & 0xFF) ? Integer.compare(b & 0xFF, a & 0xFF) : Integer.compare(a >>> 8, b >>> 8));
        int keep = promotionBits == 0 ? order.size() : Math.min(order.size(), (1 << promotionBits) - 1);
        float[] q = new float[delta.length];
        java.util.Arrays.fill(q, -0.0f);
        for (int rank = 0; rank < keep; rank++) {
            List<Integer> members = byKey.get(order.get(rank));
            float lo = Float.POSITIVE_INFINITY;
            float hi = 0;
            for (int i : members) {
                lo = Math.min(lo, Math.abs(delta[i]));
                hi = Math.max(hi, Math.abs(delta[i]));
            }
            float mid = lo + (hi - lo) * 0.5f;
            float rep = (order.get(rank) >>> 8) != 0 ? -mid : mid;
            for (int i : members) {
                q[i] = rep;
            }
        }
        return q;
    }

    /**
     * The same for a 16-bit type (FORMAT.md §9): the type's own sign and exponent fields (float16: exponent 0 for
     * everything below 2^-14), representatives rounded to the type.
     */
    static float[] quantize(float[] delta, int promotionBits, ValueType type) {
        int bias = (1 << (type.exponentBits - 1)) - 1;
        TreeMap<Integer, List<Integer>> byKey = new TreeMap<>();
        for (int i = 0; i < delta.length; i++) {
            double magnitude = Math.abs((double) delta[i]);
            int exponent = magnitude < Math.scalb(1.0, 1 - bias) ? 0 : Math.getExponent(magnitude) + bias;
            int key = (Float.floatToRawIntBits(delta[i]) >>> 31) << type.exponentBits | exponent;
            byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
        }
        int exponentMask = (1 << type.exponentBits) - 1;
        List<Integer> order = new ArrayList<>(byKey.keySet());
        order.sort((a, b) -> (a & exponentMask) != (b & exponentMask) ? Integer.compare(b & exponentMask, a & exponentMask)
                : Integer.compare(a >>> type.exponentBits, b >>> type.exponentBits));
        int keep = promotionBits == 0 ? order.size() : Math.min(order.size(), (1 << promotionBits) - 1);
        float[] q = new float[delta.length];
        java.util.Arrays.fill(q, -0.0f);
        for (int rank = 0; rank < keep; rank++) {
            List<Integer> members = byKey.get(order.get(rank));
            float lo = Float.POSITIVE_INFINITY;
            float hi = 0;
            for (int i : members) {
                lo = Math.min(lo, Math.abs(delta[i]));
                hi = Math.max(hi, Math.abs(delta[i]));
            }
            float mid = SixteenBitFloats.round(type, lo + (hi - lo) * 0.5f);
            float rep = (order.get(rank) >>> type.exponentBits) != 0 ? -mid : mid;
            for (int i : members) {
                q[i] = rep;
            }
        }
        return q;
    }

    static double[] quantize(double[] delta, int promotionBits) {
        TreeMap<Integer, List<Integer>> byKey = new TreeMap<>();
        for (int i = 0; i < delta.length; i++) {
            int key = (int) (Double.doubleToRawLongBits(delta[i]) >>> 52);
            byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
        }
        List<Integer> order = new ArrayList<>(byKey.keySet());
        order.sort((a, b) -> (a & 0x7FF) != (b & 0x7FF) ? Integer.compare(b & 0x7FF, a & 0x7FF) : Integer.compare(a >>> 11, b >>> 11));
        int keep = promotionBits == 0 ? order.size() : Math.min(order.size(), (1 << promotionBits) - 1);
        double[] q = new double[delta.length];
        java.util.Arrays.fill(q, -0.0);
        for (int rank = 0; rank < keep; rank++) {
            List<Integer> members = byKey.get(order.get(rank));
            double lo = Double.POSITIVE_INFINITY;
            double hi = 0;
            for (int i : members) {
                lo = Math.min(lo, Math.abs(delta[i]));
                hi = Math.max(hi, Math.abs(delta[i]));
            }
            double mid = lo + (hi - lo) * 0.5;
            double rep = (order.get(rank) >>> 11) != 0 ? -mid : mid;
            for (int i : members) {
                q[i] = rep;
            }
        }
        return q;
    }
}
