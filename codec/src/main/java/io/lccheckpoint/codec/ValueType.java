package io.lccheckpoint.codec;

/**
 * Element type of a chunk; the wire code is the {@code valueType} byte of FORMAT.md §2. The 16-bit types are held in
 * float32 arrays whose values are all representable in the type (FORMAT.md §1); their bucket keys are their own sign
 * and exponent fields, read from the float32 bits (see {@link #keyOf}). The integer types and bool are coded exactly
 * (FORMAT.md §4.5): held in long arrays, signed types sign-extended, UINT8 and BOOL zero-extended.
 */
public enum ValueType {
    FLOAT32(1, 4, 8, 1),
    FLOAT64(2, 8, 11, 1),
    /** bfloat16: float32's sign and exponent, 7 fraction bits. Format version 2 (FORMAT.md §7). */
    BFLOAT16(3, 2, 8, 2),
    /** IEEE 754 binary16: 5 exponent bits (bias 15), 10 fraction bits. Format version 2 (FORMAT.md §7). */
    FLOAT16(4, 2, 5, 2),
    /** Exact types (format version 3, FORMAT.md §4.5): two's complement integers, arithmetic modulo 2^(8B). */
    INT8(5, 1, 0, 3),
    INT16(6, 2, 0, 3),
    INT32(7, 4, 0, 3),
    INT64(8, 8, 0, 3),
    UINT8(9, 1, 0, 3),
    /** One byte per value, 0 or 1. */
    BOOL(10, 1, 0, 3);

    final int wireCode;
    final int bytes;
    final int exponentBits;
    /** The lowest format version that can express a record of this type: what the encoder writes. */
    final int formatVersion;

    ValueType(int wireCode, int bytes, int exponentBits, int formatVersion) {
        this.wireCode = wireCode;
        this.bytes = bytes;
        this.exponentBits = exponentBits;
        this.formatVersion = formatVersion;
    }

    /** Number of distinct bucket keys: sign bit + biased exponent field. */
    int keyCount() {
        return 1 << (exponentBits + 1);
    }

    /** Biased exponent field of NaN and infinities. */
    int specialExponent() {
        return (1 << exponentBits) - 1;
    }

    /** True for bfloat16 and float16: kept in float32 arrays, rounded to the type after every addition. */
    boolean isSixteenBit() {
        return this == BFLOAT16 || this == FLOAT16;
    }

    /** True for the integer types and bool: coded exactly, never quantized (FORMAT.md §4.5). */
    public boolean isExact() {
        return exponentBits == 0;
    }

    /**
     * An exact type's canonical value of {@code bits} taken modulo 2^(8B): sign-extended for the signed types,
     * zero-extended for UINT8 and BOOL (a BOOL value other than 0 or 1 is the caller's to refuse).
     */
    long canonical(long bits) {
        return switch (this) {
            case INT8 -> (byte) bits;
            case INT16 -> (short) bits;
            case INT32 -> (int) bits;
            case UINT8, BOOL -> bits & 0xFF;
            default -> bits;
        };
    }

    /**
     * The bucket key of a float32 value under a 16-bit type's own fields (FORMAT.md §9): its sign and the exponent field
     * it has in the type. float32's exponent re-biased (bias 127 to 15 for float16); everything below the type's
     * smallest normal (float16 subnormals and ±0) falls in exponent 0, everything at or past its special exponent in
     * the special key (refused as a bad value). For bfloat16 the re-bias is 0: the key is float32's own.
     */
    int keyOf(int floatBits) {
        int exponent = ((floatBits >>> 23) & 0xFF) - (127 - ((1 << (exponentBits - 1)) - 1));
        exponent = Math.min(Math.max(exponent, 0), specialExponent());
        return (floatBits >>> 31) << exponentBits | exponent;
    }

    public int bytesPerValue() {
        return bytes;
    }

    static ValueType fromWire(int code) {
        for (ValueType type : values()) {
            if (type.wireCode == code) {
                return type;
            }
        }
        return null;
    }
}
