package io.lccheckpoint.codec;

/**
 * A delta holds NaN or an infinity (or adding the carried residual overflowed). The chunk is not coded and the
 * state is left exactly as it was: a poisoned step must be rejected as a whole (DESIGN.md §2).
 */
public final class BadValueException extends CodecException {
    private final int index;
    private final double value;

    public BadValueException(int index, double value, String reason) {
        super(reason + " at index " + index + " (value " + value + ")");
        this.index = index;
        this.value = value;
    }

    /** Index of the first offending value in the chunk. */
    public int index() {
        return index;
    }

    public double value() {
        return value;
    }
}
