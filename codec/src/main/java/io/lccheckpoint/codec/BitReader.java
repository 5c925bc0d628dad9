package io.lccheckpoint.codec;

/**
 * LSB-first bit reader over a payload region of a record (FORMAT.md §4.1). A record always ends with 8 checksum bytes
 * after its payload, so an 8-byte load at any byte index up to the payload's end stays inside the array; reads past the
 * payload's end are caught by {@link #checkNotOverrun} and {@link #finish}, never by an index exception.
 */
final class BitReader {
    private byte[] buffer;
    private int start;
    private int length;
    private long bitPosition;

    void reset(byte[] buffer, int start, int length) {
        this.buffer = buffer;
        this.start = start;
        this.length = length;
        this.bitPosition = 0;
    }

    /** At least 57 bits starting at the current position, in the low bits. */
    long peek() {
        checkNotOverrun();
        long word = LittleEndian.getLong(buffer, start + (int) (bitPosition >>> 3));
        return word >>> (bitPosition & 7);
    }

    void consume(int nbits) {
        bitPosition += nbits;
    }

    int read(int nbits) {
        if (nbits == 0) {
            return 0;
        }
        int value = (int) (peek() & ((1L << nbits) - 1));
        bitPosition += nbits;
        return value;
    }

    void checkNotOverrun() {
        if ((bitPosition >>> 3) > length) {
            throw new MalformedChunkException(start + length, "bit stream overrun: read past the end of the " + length + "-byte payload");
        }
    }

    /** Verifies the stream was consumed exactly: at most 7 padding bits remain, and they are zero. */
    void finish() {
        long totalBits = (long) length * 8;
        if (bitPosition > totalBits) {
            throw new MalformedChunkException(start + length, "bit stream overrun: consumed " + bitPosition + " bits of " + totalBits);
        }
        if (totalBits - bitPosition >= 8) {
            throw new MalformedChunkException(start + (int) ((bitPosition + 7) >>> 3), "bit stream has " + (totalBits - bitPosition) + " unread bits");
        }
        int padding = (int) (totalBits - bitPosition);
        if (padding > 0) {
            int last = buffer[start + length - 1] & 0xFF;
            if ((last >>> (8 - padding)) != 0) {
                throw new MalformedChunkException(start + length - 1, "non-zero padding bits at the end of the bit stream");
            }
        }
    }

    long bitPosition() {
        return bitPosition;
    }

    void setBitPosition(long bitPosition) {
        this.bitPosition = bitPosition;
    }
}
