package io.lccheckpoint.codec;

/** Element type of a chunk; the wire code is the {@code valueType} byte of FORMAT.md §2. */
public enum ValueType {
    FLOAT32(1, 4, 8),
    FLOAT64(2, 8, 11);

    final int wireCode;
    final int bytes;
    final int exponentBits;

    ValueType(int wireCode, int bytes, int exponentBits) {
        this.wireCode = wireCode;
        this.bytes = bytes;
        this.exponentBits = exponentBits;
    }

    /** Number of distinct bucket keys: sign bit + biased exponent field. */
    int keyCount() {
        return 1 << (exponentBits + 1);
    }

    /** Biased exponent field of NaN and infinities. */
    int specialExponent() {
        return (1 << exponentBits) - 1;
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
