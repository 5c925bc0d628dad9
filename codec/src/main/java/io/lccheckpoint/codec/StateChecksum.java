package io.lccheckpoint.codec;

import java.util.zip.CRC32C;

/**
 * Checksums of FORMAT.md §5. The reconstructed chunk is hashed with XXH64 (seed 0) over its little-endian IEEE 754
 * serialization, read straight from the value bits (no serialization pass); the record's own bytes with CRC-32C.
 * The float32, float64 and 16-bit loops are twins: a float32 pair makes one 8-byte lane, a float64 one value, and reading both
 * through one path would serialize the values first (the pass this class exists to avoid).
 */
final class StateChecksum {
    private static final long P1 = 0x9E37_79B1_85EB_CA87L;
    private static final long P2 = 0xC2B2_AE3D_27D4_EB4FL;
    private static final long P3 = 0x1656_67B1_9E37_79F9L;
    private static final long P4 = 0x85EB_CA77_C2B2_AE63L;
    private static final long P5 = 0x27D4_EB2F_1656_67C5L;

    private StateChecksum() {
    }

    /** XXH64 of {@code values[0..n)} as 4n little-endian bytes: a {@link Running} checksum fed the whole array at once. */
    static long of(float[] values, int n) {
        Running running = new Running();
        running.start();
        return running.finish(values, n);
    }

    /**
     * The XXH64 of a float32 or float64 array taken a block at a time while a pass writes it, each block while it is still
     * in the cache: {@link #start}, then {@link #update} with ever larger ends, then {@link #finish} (tested against
     * lz4-java's XXH64 however it is fed). It saves the separate pass over the whole chunk, which read it back from
     * memory; {@link StateChecksum#of(float[], int)} and {@link StateChecksum#of(double[], int)} are it fed at once.
     */
    static final class Running {
        /**
         * Values a pass writes before it hashes them: small enough to be still in the cache, a whole number of stripes for
         * float32 and float64.
         */
        static final int BLOCK = 2048;

        private long v1;
        private long v2;
        private long v3;
        private long v4;
        private int done;

        void start() {
            v1 = P1 + P2;
            v2 = P2;
            v3 = 0;
            v4 = -P1;
            done = 0;
        }

        /** Takes the whole 32-byte stripes of {@code values[done..end)}; the rest waits for a later call. */
        void update(float[] values, int end) {
            long a = v1;
            long b = v2;
            long c = v3;
            long d = v4;
            int i = done;
            for (; i + 8 <= end; i += 8) {
                a = round(a, pair(values, i));
                b = round(b, pair(values, i + 2));
                c = round(c, pair(values, i + 4));
                d = round(d, pair(values, i + 6));
            }
            v1 = a;
            v2 = b;
            v3 = c;
            v4 = d;
            done = i;
        }

        void update(double[] values, int end) {
            long a = v1;
            long b = v2;
            long c = v3;
            long d = v4;
            int i = done;
            for (; i + 4 <= end; i += 4) {
                a = round(a, Double.doubleToRawLongBits(values[i]));
                b = round(b, Double.doubleToRawLongBits(values[i + 1]));
                c = round(c, Double.doubleToRawLongBits(values[i + 2]));
                d = round(d, Double.doubleToRawLongBits(values[i + 3]));
            }
            v1 = a;
            v2 = b;
            v3 = c;
            v4 = d;
            done = i;
        }

        /** The XXH64 of {@code values[0..n)}: the stripes not yet taken, then the tail. */
        long finish(float[] values, int n) {
            update(values, n);
            long hash = (n >= 8 ? converge(v1, v2, v3, v4) : P5) + 4L * n;
            int i = done;
            for (; i + 2 <= n; i += 2) {
                hash = mixLong(hash, pair(values, i));
            }
            if (i < n) {
                hash = mixInt(hash, Float.floatToRawIntBits(values[i]) & 0xFFFF_FFFFL);
            }
            return avalanche(hash);
        }

        long finish(double[] values, int n) {
            update(values, n);
            long hash = (n >= 4 ? converge(v1, v2, v3, v4) : P5) + 8L * n;
            for (int i = done; i < n; i++) {
                hash = mixLong(hash, Double.doubleToRawLongBits(values[i]));
            }
            return avalanche(hash);
        }
    }

    /** XXH64 of {@code values[0..n)} as 8n little-endian bytes: a {@link Running} checksum fed the whole array at once. */
    static long of(double[] values, int n) {
        Running running = new Running();
        running.start();
        return running.finish(values, n);
    }

    /**
     * XXH64 of {@code values[0..n)} as 2n little-endian bytes of a 16-bit type (FORMAT.md §5): the type's bits, not the
     * float32 arrays that hold them. Four values make one 8-byte lane.
     */
    static long of(float[] values, int n, ValueType type) {
        long length = 2L * n;
        int i = 0;
        long hash;
        if (length >= 32) {
            long v1 = P1 + P2;
            long v2 = P2;
            long v3 = 0;
            long v4 = -P1;
            for (; i + 16 <= n; i += 16) {
                v1 = round(v1, quad(values, i, type));
                v2 = round(v2, quad(values, i + 4, type));
                v3 = round(v3, quad(values, i + 8, type));
                v4 = round(v4, quad(values, i + 12, type));
            }
            hash = converge(v1, v2, v3, v4);
        } else {
            hash = P5;
        }
        hash += length;
        for (; i + 4 <= n; i += 4) {
            hash = mixLong(hash, quad(values, i, type));
        }
        if (i + 2 <= n) {
            hash = mixInt(hash, half(values, i, type) | half(values, i + 1, type) << 16);
            i += 2;
        }
        if (i < n) {
            long bits = half(values, i, type);
            hash = mixByte(hash, bits & 0xFF);
            hash = mixByte(hash, bits >>> 8);
        }
        return avalanche(hash);
    }

    /** XXH64 of an exact type's values {@code values[0..n)} as little-endian integers of the type's width. */
    static long of(long[] values, int n, ValueType type) {
        byte[] bytes = LittleEndian.integerBytes(type.bytes, values, n);
        return ofBytes(bytes, bytes.length);
    }

    /** XXH64 (seed 0) of {@code bytes[0..length)}. */
    static long ofBytes(byte[] bytes, int length) {
        int i = 0;
        long hash;
        if (length >= 32) {
            long v1 = P1 + P2;
            long v2 = P2;
            long v3 = 0;
            long v4 = -P1;
            for (; i + 32 <= length; i += 32) {
                v1 = round(v1, LittleEndian.getLong(bytes, i));
                v2 = round(v2, LittleEndian.getLong(bytes, i + 8));
                v3 = round(v3, LittleEndian.getLong(bytes, i + 16));
                v4 = round(v4, LittleEndian.getLong(bytes, i + 24));
            }
            hash = converge(v1, v2, v3, v4);
        } else {
            hash = P5;
        }
        hash += length;
        for (; i + 8 <= length; i += 8) {
            hash = mixLong(hash, LittleEndian.getLong(bytes, i));
        }
        if (i + 4 <= length) {
            hash = mixInt(hash, LittleEndian.getInt(bytes, i) & 0xFFFF_FFFFL);
            i += 4;
        }
        for (; i < length; i++) {
            hash = mixByte(hash, bytes[i] & 0xFFL);
        }
        return avalanche(hash);
    }

    private static long half(float[] values, int i, ValueType type) {
        return SixteenBitFloats.bitsOf(type, values[i]) & 0xFFFFL;
    }

    private static long quad(float[] values, int i, ValueType type) {
        return half(values, i, type) | half(values, i + 1, type) << 16 | half(values, i + 2, type) << 32 | half(values, i + 3, type) << 48;
    }

    private static long mixByte(long hash, long input) {
        hash ^= input * P5;
        return Long.rotateLeft(hash, 11) * P1;
    }

    /** Two floats as the 8 little-endian bytes they serialize to. */
    private static long pair(float[] values, int i) {
        return (Float.floatToRawIntBits(values[i]) & 0xFFFF_FFFFL) | ((long) Float.floatToRawIntBits(values[i + 1]) << 32);
    }

    private static long round(long accumulator, long input) {
        return Long.rotateLeft(accumulator + input * P2, 31) * P1;
    }

    private static long converge(long v1, long v2, long v3, long v4) {
        long hash = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
        hash = (hash ^ round(0, v1)) * P1 + P4;
        hash = (hash ^ round(0, v2)) * P1 + P4;
        hash = (hash ^ round(0, v3)) * P1 + P4;
        hash = (hash ^ round(0, v4)) * P1 + P4;
        return hash;
    }

    private static long mixLong(long hash, long input) {
        hash ^= round(0, input);
        return Long.rotateLeft(hash, 27) * P1 + P4;
    }

    private static long mixInt(long hash, long input) {
        hash ^= input * P1;
        return Long.rotateLeft(hash, 23) * P2 + P3;
    }

    private static long avalanche(long hash) {
        hash ^= hash >>> 33;
        hash *= P2;
        hash ^= hash >>> 29;
        hash *= P3;
        hash ^= hash >>> 32;
        return hash;
    }

    static int ofRecordBytes(byte[] record, int length) {
        CRC32C crc = new CRC32C();
        crc.update(record, 0, length);
        return (int) crc.getValue();
    }
}
