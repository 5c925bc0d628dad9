package io.lccheckpoint.producer.internals;

import io.lccheckpoint.codec.BitPatterns;
import io.lccheckpoint.schema.DType;

/**
 * The arrays a trainer hands over for an integer or bool tensor, and their values as the longs the codec's exact types
 * hold (signed types sign-extended, UINT8 and BOOL zero-extended): byte[] (INT8, UINT8 read unsigned, BOOL), boolean[]
 * (BOOL), short[] (INT16), int[] (INT32), long[] (INT64) — what {@code tensor.numpy()} of each dtype gives. A float
 * tensor coded exactly gives its bit patterns, as the integer type of its width (DTypes.exactCarrier) holds them.
 */
public final class ExactValues {
    private ExactValues() {
    }

    /** Whether {@code value} is an array the dtype's values come in. */
    public static boolean accepts(DType dtype, Object value) {
        return switch (dtype) {
            case INT8, UINT8 -> value instanceof byte[];
            case BOOL -> value instanceof byte[] || value instanceof boolean[];
            case INT16 -> value instanceof short[];
            case INT32 -> value instanceof int[];
            case INT64 -> value instanceof long[];
            default -> false;
        };
    }

    /** The arrays the dtype's values come in, for errors. */
    public static String arrays(DType dtype) {
        return switch (dtype) {
            case INT8 -> "byte[]";
            case UINT8 -> "byte[], read unsigned";
            case BOOL -> "boolean[], or byte[] of 0 and 1";
            case INT16 -> "short[]";
            case INT32 -> "int[]";
            case INT64 -> "long[]";
            default -> throw new IllegalArgumentException(dtype + " is not an exact dtype");
        };
    }

    /**
     * A copy of the values as canonical longs ({@link #accepts} must hold), or, for a float tensor coded exactly
     * (float[], double[], or short[] of a 16-bit type's bits), its bit patterns sign-extended.
     *
     * @throws IllegalArgumentException for a BOOL byte other than 0 or 1, naming {@code where} and the index
     */
    public static long[] toLongs(DType dtype, Object value, String where) {
        if (value instanceof float[] floats) {
            return BitPatterns.of(floats);
        }
        if (value instanceof double[] doubles) {
            return BitPatterns.of(doubles);
        }
        if (value instanceof boolean[] flags) {
            long[] out = new long[flags.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = flags[i] ? 1 : 0;
            }
            return out;
        }
        if (value instanceof byte[] bytes) {
            long[] out = new long[bytes.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = dtype == DType.INT8 ? bytes[i] : bytes[i] & 0xFF;
                if (dtype == DType.BOOL && out[i] > 1) {
                    throw new IllegalArgumentException(where + ": value " + i + " is " + out[i] + ", not a bool (0 or 1)");
                }
            }
            return out;
        }
        if (value instanceof short[] shorts) {
            long[] out = new long[shorts.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = shorts[i];
            }
            return out;
        }
        if (value instanceof int[] ints) {
            long[] out = new long[ints.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = ints[i];
            }
            return out;
        }
        return ((long[]) value).clone();
    }
}
