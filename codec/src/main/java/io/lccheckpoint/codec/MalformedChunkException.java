package io.lccheckpoint.codec;

/** A record's bytes are not a valid chunk record: truncated, corrupted, wrong lengths or an unknown version. */
public final class MalformedChunkException extends CodecException {
    private final long offset;
    private final String reason;

    public MalformedChunkException(long offset, String reason) {
        super("malformed chunk record at byte " + offset + ": " + reason);
        this.offset = offset;
        this.reason = reason;
    }

    /** Byte offset in the record where the problem was detected. */
    public long offset() {
        return offset;
    }

    public String reason() {
        return reason;
    }
}
