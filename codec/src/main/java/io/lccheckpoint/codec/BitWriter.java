package io.lccheckpoint.codec;

/**
 * LSB-first bit writer (FORMAT.md §4.1): the first bit written is bit 0 of byte 0. A 64-bit container is flushed
 * 32 bits at a time. The caller guarantees capacity: {@link #maxBytes} for the number of bits it will write.
 */
final class BitWriter {
    private byte[] buffer;
    private int start;
    private int position;
    private long container;
    private int bitCount;

    static int maxBytes(long bits) {
        return (int) ((bits + 7) >>> 3) + 8;
    }

    void reset(byte[] buffer, int start) {
        this.buffer = buffer;
        this.start = start;
        this.position = start;
        this.container = 0;
        this.bitCount = 0;
    }

    /** Writes the low {@code nbits} (0..32) bits of {@code value}; higher bits of value must be zero. */
    void write(int value, int nbits) {
        container |= (value & 0xFFFF_FFFFL) << bitCount;
        bitCount += nbits;
        if (bitCount >= 32) {
            LittleEndian.putInt(buffer, position, (int) container);
            position += 4;
            container >>>= 32;
            bitCount -= 32;
        }
    }

    /** Flushes the last partial byte (padding bits are zero) and returns the number of bytes written. */
    int finish() {
        while (bitCount > 0) {
            buffer[position++] = (byte) container;
            container >>>= 8;
            bitCount -= 8;
        }
        bitCount = 0;
        return position - start;
    }
}
