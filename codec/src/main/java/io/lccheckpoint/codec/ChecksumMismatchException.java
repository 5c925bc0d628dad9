package io.lccheckpoint.codec;

/**
 * A checksum did not match: either the record's own bytes (corruption in transit or at rest) or the reconstructed
 * state, which means the record was applied to a state other than the one it was encoded against.
 */
public final class ChecksumMismatchException extends CodecException {
    public enum Kind { RECORD, RECONSTRUCTED_STATE }

    private final Kind kind;
    private final int expected;
    private final int actual;

    public ChecksumMismatchException(Kind kind, int expected, int actual) {
        super(switch (kind) {
            case RECORD -> "record checksum mismatch";
            case RECONSTRUCTED_STATE -> "reconstructed chunk checksum mismatch (record applied to the wrong previous state?)";
        } + String.format(": expected crc32c %08x, computed %08x", expected, actual));
        this.kind = kind;
        this.expected = expected;
        this.actual = actual;
    }

    public Kind kind() {
        return kind;
    }

    public int expected() {
        return expected;
    }

    public int actual() {
        return actual;
    }
}
