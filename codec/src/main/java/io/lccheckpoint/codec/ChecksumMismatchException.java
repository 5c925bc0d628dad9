package io.lccheckpoint.codec;

/**
 * A checksum did not match: either the record's own bytes (corruption in transit or at rest) or the reconstructed
 * state, which means the record was applied to a state other than the one it was encoded against.
 */
public final class ChecksumMismatchException extends CodecException {
    public enum Kind { RECORD, RECONSTRUCTED_STATE }

    private final Kind kind;
    private final long expected;
    private final long actual;

    public ChecksumMismatchException(Kind kind, long expected, long actual) {
        super(switch (kind) {
            case RECORD -> String.format("record checksum mismatch: expected crc32c %08x, computed %08x", expected & 0xFFFFFFFFL, actual & 0xFFFFFFFFL);
            case RECONSTRUCTED_STATE -> String.format("reconstructed chunk checksum mismatch (record applied to the wrong previous state?):"
                    + " expected xxh64 %016x, computed %016x", expected, actual);
        });
        this.kind = kind;
        this.expected = expected;
        this.actual = actual;
    }

    public Kind kind() {
        return kind;
    }

    public long expected() {
        return expected;
    }

    public long actual() {
        return actual;
    }
}
