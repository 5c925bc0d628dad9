package io.lccheckpoint.codec;

/**
 * bfloat16 and float16 as the codec holds them: float32 values that are exactly representable in the type
 * (FORMAT.md §1). Rounding is IEEE 754 round-to-nearest-even; a value at or past the type's overflow threshold rounds
 * to an infinity, NaN stays NaN. A restore calls {@link #toBits} to write a tensor of the type.
 */
public final class SixteenBitFloats {
    /** float16: |x| ≥ 65520 (the midpoint between 65504 and 2^16) rounds to infinity. */
    private static final float FLOAT16_OVERFLOW = 65520f;
    /** bfloat16: |x| ≥ 2^128 − 2^119 (the midpoint past its largest finite value) rounds to infinity. */
    private static final float BFLOAT16_OVERFLOW = Float.intBitsToFloat(0x7F7F_8000);

    private SixteenBitFloats() {
    }

    /** {@code value} rounded to the type (round-to-nearest-even), as the float32 that holds it exactly. */
    public static float round(ValueType type, float value) {
        int bits = Float.floatToRawIntBits(value);
        if (type == ValueType.BFLOAT16) {
            // add half an ulp minus one, plus the lsb of the kept part (ties to even), then cut the low 16 bits
            return value != value ? value : Float.intBitsToFloat((bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF_0000);
        }
        checkSixteenBit(type);
        float magnitude = Math.abs(value);
        if (magnitude < 0x1p-14f) {
            // float16 subnormals are the multiples of 2^-24: scaling by 2^24 is exact, rint rounds half to even
            return (float) (Math.rint(value * 0x1p24) * 0x1p-24);
        }
        if (!(magnitude < FLOAT16_OVERFLOW)) {
            return value != value ? value : Math.copySign(Float.POSITIVE_INFINITY, value);
        }
        return Float.intBitsToFloat((bits + 0xFFF + ((bits >>> 13) & 1)) & ~0x1FFF);
    }

    /** Rounds {@code values[0..n)} in place. */
    static void round(ValueType type, float[] values, int n) {
        for (int i = 0; i < n; i++) {
            values[i] = round(type, values[i]);
        }
    }

    /** True if {@code value} is exactly a value of the type (NaN and infinities included). */
    public static boolean isRepresentable(ValueType type, float value) {
        return Float.floatToRawIntBits(round(type, value)) == Float.floatToRawIntBits(value) || value != value;
    }

    /** The type's bits of {@code values}, each rounded to nearest-even first: what a restore writes for the tensor. */
    public static short[] toBits(ValueType type, float[] values) {
        short[] out = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = bitsOf(type, round(type, values[i]));
        }
        return out;
    }

    /** The values of the type's bits, as float32 (exact). */
    public static float[] fromBits(ValueType type, short[] bits) {
        float[] out = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            out[i] = valueOf(type, bits[i]);
        }
        return out;
    }

    /** The 16 bits of a value already representable in the type. */
    static short bitsOf(ValueType type, float value) {
        int bits = Float.floatToRawIntBits(value);
        if (type == ValueType.BFLOAT16) {
            return (short) (bits >>> 16);
        }
        int sign = (bits >>> 16) & 0x8000;
        float magnitude = Math.abs(value);
        if (magnitude < 0x1p-14f) {
            return (short) (sign | (int) (magnitude * 0x1p24f));
        }
        if (!Float.isFinite(value)) {
            return (short) (sign | (value != value ? 0x7E00 : 0x7C00));
        }
        return (short) (sign | (((bits >>> 23) & 0xFF) - 112) << 10 | ((bits >>> 13) & 0x3FF));
    }

    static float valueOf(ValueType type, short bits) {
        if (type == ValueType.BFLOAT16) {
            return Float.intBitsToFloat((bits & 0xFFFF) << 16);
        }
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F;
        int fraction = bits & 0x3FF;
        if (exponent == 0) {
            return Float.intBitsToFloat(sign | Float.floatToRawIntBits(fraction * 0x1p-24f));
        }
        if (exponent == 31) {
            return Float.intBitsToFloat(sign | 0x7F80_0000 | fraction << 13);
        }
        return Float.intBitsToFloat(sign | (exponent + 112) << 23 | fraction << 13);
    }

    /** The float32 value at or past which rounding to the type gives an infinity. */
    static float overflowThreshold(ValueType type) {
        return type == ValueType.BFLOAT16 ? BFLOAT16_OVERFLOW : FLOAT16_OVERFLOW;
    }

    private static void checkSixteenBit(ValueType type) {
        if (type != ValueType.FLOAT16) {
            throw new IllegalArgumentException(type + " is not a 16-bit type");
        }
    }
}
