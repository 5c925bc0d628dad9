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
}
