package io.lccheckpoint.codec;

import java.util.zip.CRC32C;

/** Test helpers for handling record bytes. */
final class Records {
    private Records() {
    }

    /** Recomputes the record checksum after a deliberate edit, so the edit reaches the parser's other checks. */
    static byte[] resign(byte[] record) {
        int end = record.length - 4;
        CRC32C crc = new CRC32C();
        crc.update(record, 0, end);
        LittleEndian.putInt(record, end, (int) crc.getValue());
        return record;
    }

    static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.floatToRawIntBits(values[i]);
        }
        return out;
    }

    static long[] bits(double[] values) {
        long[] out = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Double.doubleToRawLongBits(values[i]);
        }
        return out;
    }
}
