package io.lccheckpoint.codec;

/**
 * A float tensor coded exactly travels as its bit patterns, in the integer type of its width (the pipeline's exact
 * carrier): these are the conversions both ways, sign-extended as the exact types hold them ({@link ValueType}).
 */
public final class BitPatterns {
    private BitPatterns() {
    }

    /** float32 values as their 32-bit patterns (raw: a NaN keeps its payload). */
    public static long[] of(float[] values) {
        long[] bits = new long[values.length];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    /** float64 values as their 64-bit patterns (raw). */
    public static long[] of(double[] values) {
        long[] bits = new long[values.length];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = Double.doubleToRawLongBits(values[i]);
        }
        return bits;
    }

    /** The float32 values of 32-bit patterns (the low 32 bits of each long). */
    public static float[] floats(long[] bits) {
        float[] values = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            values[i] = Float.intBitsToFloat((int) bits[i]);
        }
        return values;
    }

    /** The float64 values of 64-bit patterns. */
    public static double[] doubles(long[] bits) {
        double[] values = new double[bits.length];
        for (int i = 0; i < bits.length; i++) {
            values[i] = Double.longBitsToDouble(bits[i]);
        }
        return values;
    }

    /** The values of a 16-bit type's patterns (the low 16 bits of each long), as float32 values of the type. */
    public static float[] sixteenBit(ValueType type, long[] bits) {
        short[] halves = new short[bits.length];
        for (int i = 0; i < bits.length; i++) {
            halves[i] = (short) bits[i];
        }
        return SixteenBitFloats.fromBits(type, halves);
    }
}
