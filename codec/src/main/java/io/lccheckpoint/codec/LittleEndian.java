package io.lccheckpoint.codec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Little-endian views of byte arrays (FORMAT.md §1: every multi-byte field is little-endian). */
final class LittleEndian {
    static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private LittleEndian() {
    }

    static int getShort(byte[] buffer, int offset) {
        return (short) SHORT.get(buffer, offset) & 0xFFFF;
    }

    static int getInt(byte[] buffer, int offset) {
        return (int) INT.get(buffer, offset);
    }

    static long getLong(byte[] buffer, int offset) {
        return (long) LONG.get(buffer, offset);
    }

    static void putShort(byte[] buffer, int offset, int value) {
        SHORT.set(buffer, offset, (short) value);
    }

    static void putInt(byte[] buffer, int offset, int value) {
        INT.set(buffer, offset, value);
    }

    static void putLong(byte[] buffer, int offset, long value) {
        LONG.set(buffer, offset, value);
    }

    /** A {@code width}-byte little-endian integer (1, 2, 4 or 8 bytes), its bits in the low bits of the long. */
    static long getInteger(byte[] buffer, int offset, int width) {
        return switch (width) {
            case 1 -> buffer[offset] & 0xFFL;
            case 2 -> getShort(buffer, offset);
            case 4 -> getInt(buffer, offset) & 0xFFFF_FFFFL;
            default -> getLong(buffer, offset);
        };
    }

    /** Writes the low {@code width} bytes of {@code value}, little-endian. */
    static void putInteger(byte[] buffer, int offset, int width, long value) {
        switch (width) {
            case 1 -> buffer[offset] = (byte) value;
            case 2 -> putShort(buffer, offset, (int) value);
            case 4 -> putInt(buffer, offset, (int) value);
            default -> putLong(buffer, offset, value);
        }
    }

    /** Whole {@code width}-byte values of {@code bytes} (from its position; not moved), raw bits in the low bits. */
    static long[] integers(int width, java.nio.ByteBuffer bytes) {
        if (bytes.remaining() % width != 0) {
            throw new IllegalArgumentException(bytes.remaining() + " bytes are not whole " + width + "-byte values");
        }
        byte[] array = new byte[bytes.remaining()];
        bytes.duplicate().get(array);
        long[] values = new long[array.length / width];
        for (int i = 0; i < values.length; i++) {
            values[i] = getInteger(array, i * width, width);
        }
        return values;
    }

    /** {@code values[0..n)} as {@code width}-byte little-endian integers. */
    static byte[] integerBytes(int width, long[] values, int n) {
        byte[] bytes = new byte[width * n];
        for (int i = 0; i < n; i++) {
            putInteger(bytes, i * width, width, values[i]);
        }
        return bytes;
    }
}
