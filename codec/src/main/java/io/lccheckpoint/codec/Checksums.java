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
}
