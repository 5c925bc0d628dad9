package io.lccheckpoint.schema;

/**
 * What the pipeline knows of each {@link DType}, in one place: its width, its safetensors tag, and whether it is
 * quantized (the float types) or stored exactly (the integer types and bool, docs/FORMAT.md §4.5). The schemas know
 * every dtype a PyTorch {@code state_dict} holds, and this release checkpoints them all.
 */
public final class DTypes {
    private DTypes() {
    }

    /** Bytes per value (bool: one byte, 0 or 1, as safetensors and PyTorch store it). */
    public static int bytesPerValue(DType dtype) {
        return switch (dtype) {
            case FLOAT64, INT64 -> 8;
            case FLOAT32, INT32 -> 4;
            case BFLOAT16, FLOAT16, INT16 -> 2;
            case INT8, UINT8, BOOL -> 1;
        };
    }

    /**
     * Bytes per value of a raw delta: a 16-bit float tensor's deltas travel as float32 (the difference of two bfloat16 or
     * float16 values is a float32, exactly unless their exponents are far apart), every other dtype's in its own width.
     */
    public static int deltaBytesPerValue(DType dtype) {
        return dtype == DType.BFLOAT16 || dtype == DType.FLOAT16 ? 4 : bytesPerValue(dtype);
    }

    /** Whether values of the dtype are IEEE floats the codec quantizes (the others are stored exactly). */
    public static boolean isFloat(DType dtype) {
        return dtype == DType.FLOAT32 || dtype == DType.FLOAT64 || dtype == DType.BFLOAT16 || dtype == DType.FLOAT16;
    }

    /** Whether the dtype is stored exactly: the integer types and bool (lossless integer deltas, FORMAT.md §4.5). */
    public static boolean isExact(DType dtype) {
        return !isFloat(dtype);
    }

    /** The coding a manifest lists for an exact tensor ({@code TensorInfo.codec}). */
    public static final String EXACT_CODEC = "exact";

    /**
     * The dtype an exact tensor's chunks travel as: an integer or bool dtype itself; a float tensor coded exactly (its
     * {@code codec} "exact") as the integer type of its width holding its bit patterns (BFLOAT16, FLOAT16: INT16;
     * FLOAT32: INT32; FLOAT64: INT64), so that the codec's exact integer coding stores it losslessly.
     */
    public static DType exactCarrier(DType dtype) {
        return switch (dtype) {
            case BFLOAT16, FLOAT16 -> DType.INT16;
            case FLOAT32 -> DType.INT32;
            case FLOAT64 -> DType.INT64;
            default -> dtype;
        };
    }

    /** The dtype a tensor's chunk records carry, given its manifest entry's dtype and codec. */
    public static DType chunkDtype(DType dtype, String codec) {
        return EXACT_CODEC.equals(codec) ? exactCarrier(dtype) : dtype;
    }

    /** The dtype's tag in a safetensors header. */
    public static String safetensorsTag(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> "F32";
            case FLOAT64 -> "F64";
            case BFLOAT16 -> "BF16";
            case FLOAT16 -> "F16";
            case INT8 -> "I8";
            case INT16 -> "I16";
            case INT32 -> "I32";
            case INT64 -> "I64";
            case UINT8 -> "U8";
            case BOOL -> "BOOL";
        };
    }


}
