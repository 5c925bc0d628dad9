package io.lccheckpoint.codec;

/** The state checksum of FORMAT.md §5 (XXH64, seed 0, of the little-endian values), for lossless superstep records. */
public final class Checksums {
    private Checksums() {
    }

    public static long xxh64(float[] values) {
        return StateChecksum.of(values, values.length);
    }

    public static long xxh64(double[] values) {
        return StateChecksum.of(values, values.length);
    }

    /** Of float32 arrays holding values of a type: its 4-byte values for FLOAT32, its 2-byte bits for a 16-bit type. */
    public static long xxh64(ValueType type, float[] values) {
        return type.isSixteenBit() ? StateChecksum.of(values, values.length, type) : StateChecksum.of(values, values.length);
    }
}
