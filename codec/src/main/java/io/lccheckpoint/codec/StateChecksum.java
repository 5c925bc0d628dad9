package io.lccheckpoint.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/** CRC-32C of a reconstructed chunk serialized as little-endian IEEE 754 values (FORMAT.md §5). Reuses its scratch. */
final class StateChecksum {
    private final CRC32C crc = new CRC32C();
    private ByteBuffer scratch = ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);

    int of(float[] values, int n) {
        ByteBuffer buffer = scratch(4L * n);
        buffer.asFloatBuffer().put(values, 0, n);
        return crc(buffer, 4 * n);
    }

    int of(double[] values, int n) {
        ByteBuffer buffer = scratch(8L * n);
        buffer.asDoubleBuffer().put(values, 0, n);
        return crc(buffer, 8 * n);
    }

    private ByteBuffer scratch(long bytes) {
        if (scratch.capacity() < bytes) {
            scratch = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        }
        scratch.clear();
        return scratch;
    }

    private int crc(ByteBuffer buffer, int bytes) {
        crc.reset();
        crc.update(buffer.array(), 0, bytes);
        return (int) crc.getValue();
    }

    static int ofRecordBytes(byte[] record, int length) {
        CRC32C crc = new CRC32C();
        crc.update(record, 0, length);
        return (int) crc.getValue();
    }
}
